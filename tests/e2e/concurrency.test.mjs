// 1,000 concurrent streams through the echo provider: every one completes
// with the full text, and the gateway keeps answering other requests meanwhile.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { chatRequest, parseSseText, startGateway, within } from './harness.mjs';

const STREAMS = 1000;
const WORDS = 'alpha bravo charlie delta echo foxtrot golf hotel';
const DELAY_MS = 200; // so each stream lasts about 1.5 s and they all overlap

let gateway;
let agent;

before(async () => {
  gateway = await startGateway({
    listen: { http: '127.0.0.1:0', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' },
    providers: [{ name: 'echo', type: 'echo', delay_ms: DELAY_MS, model_mapping: { 'echo*': '' } }],
  });
  agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
});

after(async () => {
  agent?.destroy();
  await gateway?.stop();
});

// POSTs a chat request with node:http; calls onFirstData when the first body bytes arrive.
function post(body, { onFirstData = () => {} } = {}) {
  const url = new URL(`${gateway.httpUrl}/v1/chat/completions`);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'Content-Type': 'application/json' } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.once('data', onFirstData);
        response.on('data', (part) => (text += part));
        response.on('end', () => resolve({ status: response.statusCode, text }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

// The echoed text of an SSE body, and whether it ended with [DONE].
function summarize(text) {
  const events = parseSseText(text);
  const done = events.at(-1) === '[DONE]';
  const chunks = events.filter((data) => data !== '[DONE]').map((data) => JSON.parse(data));
  const echoed = chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join('');
  return { done, echoed };
}

test(`${STREAMS} concurrent streams all complete, and a plain request is answered meanwhile`, async () => {
  let streaming = 0;
  let finished = 0;
  let resolveHalfStreaming;
  const halfStreaming = new Promise((resolve) => (resolveHalfStreaming = resolve));

  const started = performance.now();
  const streams = Array.from({ length: STREAMS }, (_, i) =>
    post(chatRequest(`echo-${i}`, WORDS, { stream: true }), {
      onFirstData: () => {
        if (++streaming === STREAMS / 2) resolveHalfStreaming();
      },
    }).finally(() => finished++),
  );
  for (const stream of streams) stream.catch(() => {}); // failures are collected below

  await within(15_000, halfStreaming, `${STREAMS / 2} streams starting`);
  const plainStarted = performance.now();
  const plain = await post(chatRequest('echo-plain', 'ping'));
  const plainMs = performance.now() - plainStarted;
  const finishedWhenPlainAnswered = finished;

  const results = await within(30_000, Promise.allSettled(streams), `${STREAMS} streams`);
  const totalMs = performance.now() - started;

  const failures = [];
  results.forEach((result, i) => {
    if (result.status === 'rejected') return failures.push(`#${i}: ${result.reason}`);
    const { status, text } = result.value;
    if (status !== 200) return failures.push(`#${i}: HTTP ${status} ${text.slice(0, 200)}`);
    const { done, echoed } = summarize(text);
    if (echoed !== WORDS) failures.push(`#${i}: echoed ${JSON.stringify(echoed)}`);
    else if (!done) failures.push(`#${i}: no [DONE]`);
  });
  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${STREAMS} streams failed`);

  assert.equal(plain.status, 200, plain.text);
  assert.equal(JSON.parse(plain.text).choices[0].message.content, 'ping');
  assert.ok(finishedWhenPlainAnswered < STREAMS, 'the plain request was not concurrent with the streams');
  assert.ok(plainMs < 1500, `plain request took ${Math.round(plainMs)} ms while streams ran`);
  // Each stream needs about 7 x 200 ms; all of them in parallel should not take much longer.
  assert.ok(totalMs < 20_000, `${STREAMS} streams took ${Math.round(totalMs)} ms`);
});
