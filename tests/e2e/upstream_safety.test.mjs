// The upstream side of aigw under hostile or broken upstreams, over real
// sockets: a pooled connection that still holds bytes (an answer past its
// Content-Length, an unsolicited answer) never serves the next request,
// plain or TLS; provider keys echoed in any field of an upstream error (or
// a mid-stream error event) never reach the client or the log; a 3xx is a
// 502 (gRPC UNAVAILABLE) and is never followed; a 429 cools a key down for
// that upstream model only; keys_exhausted and circuit_open carry
// Retry-After; cool-downs and breakers survive a reload that keeps the
// provider. The upstreams here speak raw HTTP/1.1 (node:net / node:tls), so
// they can break framing on purpose.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { test } from 'node:test';
import YAML from 'yaml';
import { LISTEN_ANY, sleep } from './fake_common.mjs';
import { grpcClients, postChat, startGateway } from './harness.mjs';

const SECRET = 'sk-live-upstream-SECRET-0123456789abcdef';

// An HTTP/1.1 answer with a correct Content-Length.
function httpAnswer(status, headers, body) {
  const reason = { 200: 'OK', 302: 'Found', 400: 'Bad Request', 429: 'Too Many Requests', 503: 'Service Unavailable' }[status] ?? 'Status';
  const lines = [`HTTP/1.1 ${status} ${reason}`, `Content-Length: ${Buffer.byteLength(body)}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

const jsonAnswer = (status, value, headers = {}) => httpAnswer(status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(value));

function completion(model, content) {
  return {
    id: 'chatcmpl-raw',
    object: 'chat.completion',
    created: 1755137933,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
  };
}

// A raw HTTP/1.1 upstream (TLS with `tlsOptions`). `answer(request, conn)`
// returns the bytes to send: a string, or {now, later} where `later` goes
// out 50 ms afterwards on the idle connection. Requests are recorded with
// the index of the connection they came on.
class RawUpstream {
  constructor(answer, { tlsOptions } = {}) {
    this.answer = answer;
    this.requests = [];
    this.connections = 0;
    this.sockets = new Set();
    const onConnection = (socket) => this.#serve(socket);
    this.server = tlsOptions ? tls.createServer(tlsOptions, onConnection) : net.createServer(onConnection);
    this.scheme = tlsOptions ? 'https' : 'http';
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `${this.scheme}://127.0.0.1:${this.server.address().port}/v1`;
    return this;
  }

  async stop() {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  #serve(socket) {
    const conn = ++this.connections;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    socket.on('data', (bytes) => {
      buffer = Buffer.concat([buffer, bytes]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1').split('\r\n');
        const headers = {};
        for (const line of head.slice(1)) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = Number(headers['content-length'] ?? 0);
        if (buffer.length < end + 4 + length) return;
        const text = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
        buffer = buffer.subarray(end + 4 + length);
        const [method, target] = head[0].split(' ');
        let body = null;
        try {
          body = JSON.parse(text);
        } catch {
          body = null;
        }
        const request = { method, path: target, headers, body, conn };
        this.requests.push(request);
        const out = this.answer(request, conn, this);
        const { now, later } = typeof out === 'string' ? { now: out } : out;
        socket.write(now);
        if (later) setTimeout(() => socket.writable && socket.write(later), 50);
      }
    });
  }
}

// A whole OpenAI stream (role, text, finish_reason, [DONE]) as one answer.
function sseAnswer(model, text) {
  const chunk = (delta, finish = null) => ({ id: 'chatcmpl-raw', object: 'chat.completion.chunk', created: 1755137933, model, choices: [{ index: 0, delta, finish_reason: finish }] });
  const events = [chunk({ role: 'assistant', content: '' }), chunk({ content: text }), chunk({}, 'stop')];
  const body = `${events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('')}data: [DONE]\n\n`;
  return httpAnswer(200, { 'Content-Type': 'text/event-stream' }, body);
}

function userText(request) {
  return request.body?.messages?.at(-1)?.content ?? '';
}

function provider(name, up, extra = {}) {
  return {
    name,
    type: 'openai',
    base_url: up.baseUrl,
    api_keys: [SECRET],
    timeouts: { connect: '1s', read: '3s' },
    models: [`${name}-model`],
    ...extra,
  };
}

async function chatOnce(gateway, model, content, { stream = false } = {}) {
  const response = await postChat(gateway.httpUrl, { model, stream, messages: [{ role: 'user', content }] });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

// A self-signed certificate for 127.0.0.1, made with the openssl CLI.
function makeCertificate() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aigw-e2e-tls-'));
  const key = path.join(dir, 'upstream.key');
  const cert = path.join(dir, 'upstream.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=aigw-e2e',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { dir, key: fs.readFileSync(key), cert: fs.readFileSync(cert), certFile: cert };
}

async function withGateway(ups, makeConfig, body) {
  let gateway;
  try {
    for (const up of Object.values(ups)) await up.start();
    gateway = await startGateway(makeConfig(ups));
    await body(gateway);
  } finally {
    for (const up of Object.values(ups)) await up.stop();
    await gateway?.stop();
  }
}

// --------------------------------------------------------- pooled connections

test('a pooled connection holding leftover or unsolicited bytes never answers the next request (plain and TLS)', async () => {
  const certificate = makeCertificate();
  // Alice's request gets its answer plus a
  // stale second answer: in the same write (past the first answer's
  // Content-Length) or, for "late-*" models, 50 ms later on the idle
  // connection. Every other request gets its own answer.
  const answer = (request) => {
    const model = request.body.model;
    const text = `answer to ${userText(request)}`;
    const own = request.body.stream ? sseAnswer(model, text) : jsonAnswer(200, completion(model, text));
    if (!userText(request).startsWith('alice')) return own;
    const stale = jsonAnswer(200, completion(model, 'STALE answer meant for alice'));
    request.staleSent = true;
    return model.startsWith('late') ? { now: own, later: stale } : own + stale;
  };
  const ups = {
    plain: new RawUpstream(answer),
    tls: new RawUpstream(answer, { tlsOptions: { key: certificate.key, cert: certificate.cert } }),
  };
  try {
    await withGateway(ups, (u) => ({
      listen: { ...LISTEN_ANY },
      providers: [
        provider('plain', u.plain, { models: ['same-plain', 'late-plain'] }),
        provider('tls', u.tls, { models: ['same-tls', 'late-tls'], ca_file: certificate.certFile }),
      ],
    }), async (gateway) => {
      for (const model of ['same-plain', 'late-plain', 'same-tls', 'late-tls']) {
        for (const stream of [false, true]) {
          const alice = await chatOnce(gateway, model, `alice ${model} ${stream}`, { stream });
          assert.equal(alice.status, 200, alice.text);
          assert.match(alice.text, /answer to alice/);
          await sleep(150); // the late answer has arrived on the idle connection
          const bob = await chatOnce(gateway, model, `bob ${model} ${stream}`, { stream: false });
          assert.equal(bob.status, 200, bob.text);
          assert.doesNotMatch(bob.text, /STALE|alice/, `${model}: bob got alice's stale answer`);
          assert.match(bob.text, /answer to bob/);
        }
      }
      // Where the leftover bytes were visible (TLS, or arriving late), the
      // connection that held them was closed, and bob came on a new one.
      for (const up of [ups.plain, ups.tls]) {
        let checked = 0;
        for (const [i, alice] of up.requests.entries()) {
          if (!alice.staleSent || !/late|tls/.test(alice.body.model)) continue;
          const bob = up.requests[i + 1];
          assert.notEqual(bob.conn, alice.conn, `${bob.body.model}: bob reused alice's connection`);
          checked++;
        }
        assert.ok(checked > 0);
      }
    });
  } finally {
    fs.rmSync(certificate.dir, { recursive: true, force: true });
  }
});

// ----------------------------------------------------------------- redaction

test('a provider key echoed in any field of an upstream error never reaches the client or the log', async () => {
  const echo = `key ${SECRET} is not allowed`;
  const ups = {
    up: new RawUpstream((request) => {
      if (request.body?.stream) {
        // A stream that starts, then fails with an in-stream error event.
        const chunk = { id: 'c', object: 'chat.completion.chunk', created: 1, model: request.body.model, choices: [{ index: 0, delta: { role: 'assistant', content: 'partial ' }, finish_reason: null }] };
        const events = `data: ${JSON.stringify(chunk)}\n\ndata: ${JSON.stringify({ error: { message: echo, type: SECRET, code: `${SECRET}-code`, param: SECRET } })}\n\n`;
        return httpAnswer(200, { 'Content-Type': 'text/event-stream' }, events);
      }
      return jsonAnswer(400, { error: { message: echo, type: `bad_${SECRET}`, code: `${SECRET}`, param: `x-${SECRET}` } });
    }),
  };
  await withGateway(ups, (u) => ({ listen: { ...LISTEN_ANY }, providers: [provider('up', u.up)] }), async (gateway) => {
    const plain = await chatOnce(gateway, 'up-model', 'hi');
    assert.equal(plain.status, 400, plain.text);
    assert.ok(!plain.text.includes(SECRET), `REST error body leaks the key: ${plain.text}`);
    assert.match(plain.text, /\[redacted\]/);

    const streamed = await chatOnce(gateway, 'up-model', 'hi', { stream: true });
    assert.ok(!streamed.text.includes(SECRET), `SSE error event leaks the key: ${streamed.text}`);
    assert.match(streamed.text, /"error"/);

    const clients = grpcClients(gateway.grpcAddr);
    try {
      const request = { model: 'up-model', messages: [{ role: 'user', content: 'hi' }] };
      const error = await new Promise((resolve) => clients.chat.Create(request, { deadline: new Date(Date.now() + 10_000) }, (err) => resolve(err)));
      assert.ok(error, 'the gRPC call must fail');
      const trailers = JSON.stringify(error.metadata?.getMap() ?? {});
      assert.ok(!`${error.details} ${trailers}`.includes(SECRET), `gRPC status leaks the key: ${error.details} ${trailers}`);
      const streamError = await new Promise((resolve) => {
        const call = clients.chat.Stream(request, { deadline: new Date(Date.now() + 10_000) });
        call.on('data', () => {});
        call.on('error', resolve);
        call.on('end', () => resolve(null));
      });
      assert.ok(streamError, 'the gRPC stream must fail');
      assert.ok(!`${streamError.details} ${JSON.stringify(streamError.metadata?.getMap() ?? {})}`.includes(SECRET));
    } finally {
      clients.close();
    }
    assert.ok(!gateway.stderr().includes(SECRET), 'the log leaks the key');
  });
});

// ----------------------------------------------------------------- redirects

test('an upstream 3xx is a 502 (gRPC UNAVAILABLE), never relayed and never followed', async () => {
  const ups = { trap: new RawUpstream((request) => jsonAnswer(200, completion('trap', 'followed the redirect'))) };
  ups.up = new RawUpstream(() => httpAnswer(302, { Location: `${ups.trap.baseUrl}/chat/completions` }, ''));
  await withGateway(ups, (u) => ({ listen: { ...LISTEN_ANY }, providers: [provider('up', u.up)] }), async (gateway) => {
    for (const stream of [false, true]) {
      const result = await chatOnce(gateway, 'up-model', 'hi', { stream });
      assert.equal(result.status, 502, result.text);
      assert.equal(result.headers.get('location'), null);
      assert.equal(JSON.parse(result.text).error.type, 'upstream_error');
    }
    const clients = grpcClients(gateway.grpcAddr);
    try {
      const error = await new Promise((resolve) =>
        clients.chat.Create({ model: 'up-model', messages: [{ role: 'user', content: 'hi' }] }, { deadline: new Date(Date.now() + 10_000) }, (err) => resolve(err)));
      assert.equal(error?.code, 14, `gRPC code ${error?.code}: ${error?.details}`); // UNAVAILABLE
    } finally {
      clients.close();
    }
    assert.equal(ups.trap.requests.length, 0, 'aigw followed the redirect');
  });
});

// ---------------------------------------------- key cool-downs and breakers

// One key; "busy" answers 429 (Retry-After 60), "down" 503, the rest work.
function scopedUpstream() {
  return new RawUpstream((request) => {
    if (request.path === '/v1/embeddings') {
      return jsonAnswer(200, { object: 'list', model: request.body.model, data: [{ object: 'embedding', index: 0, embedding: [0.5, 0.25] }], usage: { prompt_tokens: 1, total_tokens: 1 } });
    }
    if (request.body.model === 'busy') return jsonAnswer(429, { error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' } }, { 'Retry-After': '60' });
    if (request.body.model === 'down') return jsonAnswer(503, { error: { message: 'overloaded', type: 'server_error' } });
    return jsonAnswer(200, completion(request.body.model, `answer to ${userText(request)}`));
  });
}

function scopedConfig(u, { keys = [SECRET], extraProvider = false } = {}) {
  const providers = [provider('main', u.up, { api_keys: keys, models: ['busy', 'calm', 'text-embedder'] }), provider('flaky', u.flaky, { api_keys: ['sk-flaky-0123'], models: ['down'] })];
  if (extraProvider) providers.push({ name: 'echo', type: 'echo', models: ['echo-added'] });
  return { listen: { ...LISTEN_ANY }, retries: { max_attempts: 1 }, circuit_breaker: { failures: 1, cooldown: '30s' }, providers };
}

function retryAfter(headers) {
  return Number(headers.get('retry-after'));
}

async function reload(gateway, config) {
  const file = gateway.child.spawnargs.find((arg) => arg.startsWith('--config=')).slice('--config='.length);
  fs.writeFileSync(`${file}.tmp`, YAML.stringify(config, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'QUOTE_DOUBLE' }));
  fs.renameSync(`${file}.tmp`, file);
  const response = await fetch(`${gateway.adminUrl}/reload`, { method: 'POST' });
  assert.equal(response.status, 200, await response.text());
}

test('a 429 cools the key down for that upstream model only; keys_exhausted and circuit_open carry Retry-After; both survive a reload that keeps the provider', async () => {
  const ups = { up: scopedUpstream(), flaky: scopedUpstream() };
  await withGateway(ups, (u) => scopedConfig(u), async (gateway) => {
    const limited = await chatOnce(gateway, 'busy', 'one');
    assert.equal(limited.status, 429, limited.text);
    assert.equal(retryAfter(limited.headers), 60);

    // The key is cooling down for "busy" only: aigw answers without calling.
    const calls = ups.up.requests.length;
    const exhausted = await chatOnce(gateway, 'busy', 'two');
    assert.equal(exhausted.status, 429, exhausted.text);
    assert.equal(JSON.parse(exhausted.text).error.code, 'keys_exhausted');
    assert.ok(retryAfter(exhausted.headers) >= 55 && retryAfter(exhausted.headers) <= 60, `Retry-After ${exhausted.headers.get('retry-after')}`);
    assert.equal(ups.up.requests.length, calls, 'a cooling key was used');

    const calm = await chatOnce(gateway, 'calm', 'three');
    assert.equal(calm.status, 200, `another model of the provider must keep working: ${calm.text}`);
    const embedded = await fetch(`${gateway.httpUrl}/v1/embeddings`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer client-key' },
      body: JSON.stringify({ model: 'text-embedder', input: 'x' }),
    });
    assert.equal(embedded.status, 200, `embeddings must keep working: ${await embedded.text()}`);

    // One 503 opens the breaker (failures: 1); the next call is told when
    // to come back.
    assert.equal((await chatOnce(gateway, 'down', 'a')).status, 502);
    const open = await chatOnce(gateway, 'down', 'b');
    assert.equal(open.status, 503, open.text);
    assert.equal(JSON.parse(open.text).error.code, 'circuit_open');
    assert.ok(retryAfter(open.headers) >= 1 && retryAfter(open.headers) <= 30, `Retry-After ${open.headers.get('retry-after')}`);

    // A reload that changes something else keeps both.
    await reload(gateway, scopedConfig(ups, { extraProvider: true }));
    assert.equal((await chatOnce(gateway, 'echo-added', 'new')).status, 200, 'the reload took effect');
    const stillExhausted = await chatOnce(gateway, 'busy', 'after reload');
    assert.equal(JSON.parse(stillExhausted.text).error.code, 'keys_exhausted', stillExhausted.text);
    const stillOpen = await chatOnce(gateway, 'down', 'after reload');
    assert.equal(JSON.parse(stillOpen.text).error.code, 'circuit_open', stillOpen.text);
    assert.equal(ups.up.requests.filter((r) => r.body?.model === 'busy').length, 1);

    // New keys: a provider that starts afresh.
    await reload(gateway, scopedConfig(ups, { keys: ['sk-rotated-key-0001'], extraProvider: true }));
    const fresh = await chatOnce(gateway, 'busy', 'new key');
    assert.equal(fresh.status, 429, fresh.text);
    assert.equal(JSON.parse(fresh.text).error.code, 'rate_limit_exceeded', 'the new key reached the upstream');
    assert.equal(ups.up.requests.at(-1).headers.authorization, 'Bearer sk-rotated-key-0001');
  });
});
