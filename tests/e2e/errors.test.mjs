// Every error the REST front door promises, seen with raw fetch (status and
// OpenAI error body) and, for some, through the OpenAI SDK's error classes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { startFakeUpstream } from './fake_upstream.mjs';
import { assertOpenAIError, chatRequest, deltaText, postChat, readSse, sseData, standardConfig, startGateway } from './harness.mjs';

const MAX_BODY_BYTES = 65536;

let upstream;
let gateway;
let client;

before(async () => {
  upstream = await startFakeUpstream();
  gateway = await startGateway(await standardConfig(upstream, { readTimeout: '1500ms', maxBodyBytes: MAX_BODY_BYTES }));
  client = new OpenAI({ baseURL: `${gateway.httpUrl}/v1`, apiKey: 'client-key', maxRetries: 0 });
});

after(async () => {
  await upstream?.stop();
  await gateway?.stop(); // last: it throws if aigw crashed during the tests
});

// Sends a request the gateway must reject by itself, without calling the upstream.
async function expectLocalError(body, status) {
  upstream.clear();
  const error = await assertOpenAIError(await postChat(gateway.httpUrl, body), status);
  assert.equal(upstream.requests.length, 0, 'an invalid request reached the upstream');
  return error;
}

test('invalid JSON is 400', async () => {
  await expectLocalError('{"model": "gpt-4o", "messages": [', 400);
});

test('a JSON body that is not an object is 400', async () => {
  await expectLocalError('[1, 2, 3]', 400);
});

test('messages of the wrong type is 400', async () => {
  await expectLocalError({ model: 'gpt-4o', messages: 'hi' }, 400);
});

test('temperature of the wrong type is 400', async () => {
  await expectLocalError(chatRequest('gpt-4o', 'hi', { temperature: 'hot' }), 400);
});

test('missing messages is 400', async () => {
  await expectLocalError({ model: 'gpt-4o' }, 400);
});

test('empty messages is 400', async () => {
  await expectLocalError({ model: 'gpt-4o', messages: [] }, 400);
});

test('JSON nested deeper than 64 levels is 400, streaming or not (no crash)', async () => {
  const deep = '['.repeat(3000) + ']'.repeat(3000);
  for (const stream of [false, true]) {
    const body = `{"model":"echo-deep","stream":${stream},"messages":[{"role":"user","content":"hi"}],"x":${deep}}`;
    const error = await assertOpenAIError(await postChat(gateway.httpUrl, body), 400);
    assert.match(error.message, /nests deeper than 64 levels/);
  }
  const ok = await postChat(gateway.httpUrl, chatRequest('echo-deep', 'still alive'));
  assert.equal(ok.status, 200);
});

test('missing model is 400', async () => {
  await expectLocalError({ messages: [{ role: 'user', content: 'hi' }] }, 400);
});

test('unknown model is 404 model_not_found', async () => {
  const error = await expectLocalError(chatRequest('no-such-model', 'hi'), 404);
  assert.equal(error.code, 'model_not_found');
});

test('a body over limits.max_body_bytes is 413', async () => {
  await expectLocalError(chatRequest('gpt-4o', 'x'.repeat(MAX_BODY_BYTES + 1)), 413);
});

test('a body just under limits.max_body_bytes is accepted', async () => {
  const base = JSON.stringify(chatRequest('echo-size', ''));
  const body = JSON.stringify(chatRequest('echo-size', 'y'.repeat(MAX_BODY_BYTES - base.length - 10)));
  assert.ok(body.length < MAX_BODY_BYTES);
  const response = await postChat(gateway.httpUrl, body);
  assert.equal(response.status, 200, await response.clone().text());
  await response.text();
});

test('unknown path is 404 with an OpenAI error body', async () => {
  const response = await fetch(`${gateway.httpUrl}/v1/no-such-endpoint`, { method: 'POST', body: '{}' });
  await assertOpenAIError(response, 404);
});

test('GET /v1/chat/completions is 405', async () => {
  await assertOpenAIError(await fetch(`${gateway.httpUrl}/v1/chat/completions`), 405);
});

test('upstream 429 is passed back as 429 with the upstream message', async () => {
  const error = await assertOpenAIError(await postChat(gateway.httpUrl, chatRequest('http-429', 'hi')), 429);
  assert.match(error.message, /Rate limit reached/);
});

test('upstream 500 becomes 502', async () => {
  await assertOpenAIError(await postChat(gateway.httpUrl, chatRequest('http-500', 'hi')), 502);
});

test('upstream 500 on a streaming request becomes a 502 JSON error, not a stream', async () => {
  await assertOpenAIError(await postChat(gateway.httpUrl, chatRequest('http-500', 'hi', { stream: true })), 502);
});

test('unreachable upstream (closed port) becomes 502', async () => {
  await assertOpenAIError(await postChat(gateway.httpUrl, chatRequest('unreachable', 'hi')), 502);
});

test('upstream that never answers becomes 504 after the read timeout', async () => {
  const started = performance.now();
  await assertOpenAIError(await postChat(gateway.httpUrl, chatRequest('hang', 'hi')), 504);
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 1200 && elapsed < 6000, `504 after ${Math.round(elapsed)} ms, read timeout is 1500 ms`);
});

test('a provider key quoted in an upstream 401 never reaches the client', async () => {
  const response = await postChat(gateway.httpUrl, chatRequest('http-401-leak', 'hi'));
  const text = await response.clone().text();
  await assertOpenAIError(response, 401);
  assert.ok(upstream.requestsFor('http-401-leak').length > 0, 'the upstream was called');
  assert.ok(!text.includes('sk-fake-key'), `provider key leaked: ${text}`);
});

test('a provider key quoted in an upstream 401 never reaches the client on a stream either', async () => {
  const response = await postChat(gateway.httpUrl, chatRequest('http-401-leak', 'hi', { stream: true }));
  const text = await response.text();
  assert.equal(response.status, 401, text);
  assert.ok(!text.includes('sk-fake-key'), `provider key leaked: ${text}`);
});

test('an upstream that breaks mid-stream ends the SSE stream with a data: {"error":...} event', async () => {
  const response = await postChat(gateway.httpUrl, chatRequest('break-mid-stream', 'hi', { stream: true }));
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type'), /^text\/event-stream/);
  const events = [];
  for await (const data of sseData(response)) events.push(data); // throws if the response does not end cleanly
  assert.ok(!events.includes('[DONE]'), 'a failed stream must not end with [DONE]');
  const chunks = events.map((data) => JSON.parse(data));
  const last = chunks.pop();
  assert.equal(typeof last.error?.message, 'string', `last event: ${JSON.stringify(last)}`);
  assert.ok(!JSON.stringify(last).includes('sk-fake-key'));
  assert.equal(deltaText(chunks), 'one two three ', 'chunks before the break are delivered');
});

test('an upstream that stalls mid-stream ends the SSE stream with an error event after the read timeout', async () => {
  const started = performance.now();
  const response = await postChat(gateway.httpUrl, chatRequest('stall-after-first', 'hi', { stream: true }));
  assert.equal(response.status, 200);
  const { chunks, done } = await readSse(response);
  const elapsed = performance.now() - started;
  assert.equal(done, false);
  const last = chunks.pop();
  assert.equal(typeof last.error?.message, 'string', `last event: ${JSON.stringify(last)}`);
  assert.equal(deltaText(chunks), 'first ');
  assert.ok(elapsed >= 1200 && elapsed < 6000, `stream ended after ${Math.round(elapsed)} ms, read timeout is 1500 ms`);
});

test('the SDK raises the matching APIError subclass', async (t) => {
  const cases = [
    { model: 'gpt-4o', messages: [], want: OpenAI.BadRequestError, status: 400 },
    { model: 'no-such-model', want: OpenAI.NotFoundError, status: 404 },
    { model: 'http-401-leak', want: OpenAI.AuthenticationError, status: 401 },
    { model: 'http-429', want: OpenAI.RateLimitError, status: 429 },
    { model: 'http-500', want: OpenAI.InternalServerError, status: 502 },
  ];
  for (const { model, messages = [{ role: 'user', content: 'hi' }], want, status } of cases) {
    await t.test(`${model} -> ${want.name}`, async () => {
      await assert.rejects(client.chat.completions.create({ model, messages }), (err) => {
        assert.ok(err instanceof want, `got ${err?.constructor?.name}: ${err?.message}`);
        assert.equal(err.status, status);
        assert.ok(!err.message.includes('sk-fake-key'));
        return true;
      });
    });
  }
});

test('the SDK raises an APIError when a stream fails mid-way', async () => {
  const stream = await client.chat.completions.create({ model: 'break-mid-stream', messages: [{ role: 'user', content: 'hi' }], stream: true });
  let text = '';
  await assert.rejects(
    (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    })(),
    (err) => err instanceof OpenAI.APIError && !(err instanceof OpenAI.APIConnectionError),
  );
  assert.equal(text, 'one two three ');
});

test('the gateway still answers after all these errors', async () => {
  const response = await postChat(gateway.httpUrl, chatRequest('gpt-4o', 'Hello!'));
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(body.model, 'gpt-4o');
});
