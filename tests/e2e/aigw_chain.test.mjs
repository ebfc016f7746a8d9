// Provider type `aigw`: a front-door aigw (A) forwards over aigw.v1 gRPC to
// a second aigw (B) that runs the qwen adapter against a fake DashScope, and
// to a grpc-js server of aigw.v1 standing in for a third-party adapter
// (which sees exactly what A sends: key, request id, trace, deadline).
// Streaming, errors and cancellation must cross both hops.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import grpc from '@grpc/grpc-js';
import OpenAI from 'openai';
import { QWEN_KEYS, REJECTING_KEYS, startFakeDashScope, MIDSTREAM_MESSAGE } from './fake_qwen.mjs';
import { FakeHttpServer, LISTEN_ANY, sleep } from './fake_common.mjs';
import {
  REPO_ROOT, assertOpenAIError, chatRequest, deltaText, grpcClients, loadGrpcPackage, postChat, readSse, startGateway, within,
} from './harness.mjs';

const B_KEY = 'b-gateway-key';

// A DashScope native stream that sends one event every `gapMs` and records
// when the gateway closes the request (a cancel that crossed both hops).
class SlowDashScope extends FakeHttpServer {
  constructor() {
    super((req, res) => this.#handle(req, res));
    this.closed = [];
    this.started = 0;
  }

  async #handle(req, res) {
    req.resume();
    this.started++;
    const mode = req.url.includes('die') ? 'die' : 'slow';
    res.writeHead(200, { 'Content-Type': 'text/event-stream;charset=UTF-8' });
    let open = true;
    res.on('close', () => {
      open = false;
      this.closed.push(Date.now());
    });
    for (let i = 1; i <= 100 && open; i++) {
      const body = { output: { choices: [{ message: { role: 'assistant', content: `t${i} ` }, finish_reason: 'null' }] }, usage: { input_tokens: 3, output_tokens: i }, request_id: 'slow-1' };
      res.write(`id:${i}\nevent:result\n:HTTP_STATUS/200\ndata:${JSON.stringify(body)}\n\n`);
      if (i === 3 && this.dieAfterThree) {
        await sleep(100);
        res.socket.destroy();
        return;
      }
      await sleep(150);
    }
    res.end();
  }
}

// A third-party aigw.v1 server: records each call's metadata and deadline.
function startFakeRemote({ tls = null } = {}) {
  const pkg = loadGrpcPackage('aigw/v1/chat.proto');
  const calls = [];
  const record = (call) => {
    const entry = {
      model: call.request.model,
      request: call.request,
      metadata: call.metadata.getMap(),
      deadline: call.getDeadline(),
      cancelled: false,
      at: Date.now(),
    };
    call.on('cancelled', () => (entry.cancelled = true));
    calls.push(entry);
    return entry;
  };
  const chunk = (delta, finish = '') => ({ id: 'remote-1', object: 'chat.completion.chunk', created: '1700000000', model: 'remote-model', choices: [{ index: 0, delta, finish_reason: finish }] });
  const limited = () => {
    const trailing = new grpc.Metadata();
    trailing.set('x-aigw-error-code', 'rate_limit_exceeded');
    trailing.set('retry-after', '7');
    return { code: grpc.status.RESOURCE_EXHAUSTED, details: 'Remote says: slow down.', metadata: trailing };
  };
  const server = new grpc.Server();
  server.addService(pkg.aigw.v1.ChatCompletions.service, {
    Stream: async (call) => {
      const entry = record(call);
      if (entry.model === 'fake-limited') return call.emit('error', limited());
      const initial = new grpc.Metadata();
      initial.set('x-aigw-dropped-params', 'seed');
      call.sendMetadata(initial);
      if (entry.model === 'fake-silent') {
        call.write(chunk({ role: 'assistant', content: 'first' }));
        for (let i = 0; i < 50 && !entry.cancelled; i++) await sleep(100);
        return call.end();
      }
      if (entry.model === 'fake-medium') {
        call.write(chunk({ role: 'assistant', content: '' }));
        for (let i = 0; i < 10; i++) {
          call.write(chunk({ content: `m${i} ` }));
          await sleep(100);
        }
        call.write(chunk({}, 'stop'));
        return call.end();
      }
      if (entry.model === 'fake-slow') {
        call.write(chunk({ role: 'assistant', content: '' }));
        for (let i = 0; i < 200 && !entry.cancelled; i++) {
          call.write(chunk({ content: `s${i} ` }));
          await sleep(100);
        }
        return call.end();
      }
      call.write(chunk({ role: 'assistant', content: '' }));
      for (const word of ['Remote', ' adapter', ' speaking']) call.write(chunk({ content: word }));
      call.write(chunk({}, 'stop'));
      call.write({ ...chunk({}), choices: [], usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 } });
      call.end();
    },
    Create: (call, callback) => {
      const entry = record(call);
      if (entry.model === 'fake-limited') return callback(limited());
      callback(null, { id: 'remote-2', object: 'chat.completion', created: '1700000000', model: 'remote-model', choices: [{ index: 0, message: { role: 'assistant', content: 'Whole answer' }, finish_reason: 'stop' }], usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 } });
    },
    ListModels: (call, callback) => callback(null, { object: 'list', data: [] }),
    Embeddings: (call, callback) => {
      record(call);
      callback(null, { object: 'list', model: call.request.model, data: call.request.input.map((_, i) => ({ index: i, object: 'embedding', embedding: [i, 0.5] })), usage: { prompt_tokens: 3, total_tokens: 3 } });
    },
  });
  return new Promise((resolve, reject) => {
    const credentials = tls
      ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }], false)
      : grpc.ServerCredentials.createInsecure();
    server.bindAsync('127.0.0.1:0', credentials, (err, port) => {
      if (err) return reject(err);
      server.start?.();
      resolve({ address: `127.0.0.1:${port}`, calls, stop: () => new Promise((r) => server.tryShutdown(r)) });
    });
  });
}

let dashscope;
let slow;
let remote;
let blackhole;
let gatewayB;
let gatewayA;
let openai;

before(async () => {
  dashscope = await startFakeDashScope();
  slow = await new SlowDashScope().start();
  remote = await startFakeRemote();
  // Accepts TCP connections and never says a word.
  const sockets = new Set();
  const server = net.createServer((socket) => sockets.add(socket));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  blackhole = {
    address: `127.0.0.1:${server.address().port}`,
    stop: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(resolve);
    }),
  };
  gatewayB = await startGateway({
    listen: LISTEN_ANY,
    consumers: [{ name: 'front-door', api_keys: [B_KEY] }],
    limits: { max_body_bytes: 4096 },
    providers: [
      { name: 'dashscope-rejecting', type: 'qwen', base_url: dashscope.origin, api_keys: REJECTING_KEYS, models: ['qwen-http-429', 'qwen-http-401'] },
      { name: 'slow', type: 'qwen', base_url: slow.origin, api_keys: QWEN_KEYS, models: ['qwen-slow', 'qwen-die'] },
      { name: 'dashscope', type: 'qwen', base_url: dashscope.origin, api_keys: QWEN_KEYS, models: ['qwen-text', 'qwen-tools', 'qwen-error-midstream', 'qwen-missing'] },
    ],
  });
  gatewayA = await startGateway({
    listen: LISTEN_ANY,
    providers: [
      { name: 'remote-badkey', type: 'aigw', target: gatewayB.grpcAddr, api_keys: ['not-the-key'], model_mapping: { 'bad/qwen-text': 'qwen-text' } },
      // A 429 cools the key that got it down: the unary case has its own.
      { name: 'third-party-unary', type: 'aigw', target: remote.address, api_keys: ['third-party-key'], model_mapping: { 'unary/fake-limited': 'fake-limited' } },
      { name: 'third-party-impatient', type: 'aigw', target: remote.address, timeouts: { read: '1s' }, model_mapping: { 'impatient/fake-silent': 'fake-silent' } },
      { name: 'blackhole', type: 'aigw', target: blackhole.address, timeouts: { connect: '1s' }, model_mapping: { 'blackhole/*': '' } },
      { name: 'third-party', type: 'aigw', target: remote.address, api_keys: ['third-party-key'], timeouts: { total: '20s' }, model_mapping: { 'fake-*': '' } },
      { name: 'remote', type: 'aigw', target: gatewayB.grpcAddr, api_keys: [B_KEY], model_mapping: { 'gpt-4o': 'qwen-text', 'qwen-*': '' } },
    ],
  });
  openai = new OpenAI({ baseURL: `${gatewayA.httpUrl}/v1`, apiKey: 'client-key', maxRetries: 0 });
});

after(async () => {
  await gatewayA?.stop();
  await gatewayB?.stop();
  await remote?.stop();
  await blackhole?.stop();
  await slow?.stop();
  await dashscope?.stop();
});

describe('A → B (qwen adapter) → DashScope', () => {
  test('a stream crosses both gateways token by token, with usage and the client’s model name', async () => {
    const stream = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'Hello from 通义千问!');
    assert.ok(chunks.every((c) => c.model === 'gpt-4o'), 'the client sees the model it asked for');
    assert.equal(chunks.at(-1).usage.prompt_tokens, 12);
    assert.equal(chunks.at(-1).usage.completion_tokens, 5);
    assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason).length, 1);
    const upstream = dashscope.requests.at(-1);
    assert.equal(upstream.body.model, 'qwen-text');
    assert.ok(QWEN_KEYS.includes(upstream.headers.authorization.replace('Bearer ', '')), 'B used its own provider key');
    assert.deepEqual(dashscope.violations, []);
  });

  test('tool calls keep their ids and argument fragments across the hop', async () => {
    const response = await postChat(gatewayA.httpUrl, chatRequest('qwen-tools', 'weather?', { stream: true, tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }] }));
    const { chunks } = await readSse(response);
    const calls = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    assert.deepEqual(calls.filter((c) => c.id).map((c) => c.id), ['call_a1', 'call_b2']);
    const args = [0, 1].map((i) => calls.filter((c) => c.index === i).map((c) => c.function?.arguments ?? '').join(''));
    assert.deepEqual(args, ['{"city": "杭州"}', '{"tz": "CST"}']);
    assert.equal(chunks.flatMap((c) => c.choices).find((c) => c.finish_reason)?.finish_reason, 'tool_calls');
  });

  test('non-streamed and gRPC front doors use the same remote', async () => {
    const completion = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(completion.choices[0].message.content, 'Hello from 通义千问!');
    assert.equal(completion.model, 'gpt-4o');
    const clients = grpcClients(gatewayA.grpcAddr);
    try {
      const chunks = await new Promise((resolve, reject) => {
        const got = [];
        const call = clients.chat.Stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
        call.on('data', (c) => got.push(c));
        call.on('error', reject);
        call.on('end', () => resolve(got));
      });
      assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'Hello from 通义千问!');
    } finally {
      clients.close();
    }
  });

  test('errors keep their class: 429 with its code, 404 for an unknown model, 401 for a refused key', async () => {
    const limited = await postChat(gatewayA.httpUrl, chatRequest('qwen-http-429', 'hi', { stream: true }));
    const error = await assertOpenAIError(limited, 429);
    assert.match(error.message, /rate limit/i);
    const missing = await postChat(gatewayA.httpUrl, chatRequest('qwen-missing', 'hi'));
    await assertOpenAIError(missing, 404);
    const refused = await postChat(gatewayA.httpUrl, chatRequest('bad/qwen-text', 'hi'));
    const refusal = await assertOpenAIError(refused, 401);
    assert.ok(!JSON.stringify(refusal).includes('not-the-key'), 'no key in the error');
  });

  test('an error B relays from its upstream does not cool A’s key to B', async () => {
    const refused = await postChat(gatewayA.httpUrl, chatRequest('qwen-http-401', 'hi'));
    await assertOpenAIError(refused, 401);
    for (let i = 0; i < 2; i++) {
      const ok = await postChat(gatewayA.httpUrl, chatRequest('gpt-4o', 'hi'));
      assert.equal(ok.status, 200, await ok.clone().text());
      await ok.text();
    }
  });

  test('a request too large for B is a 413 at A, and the next small one goes through', async () => {
    const big = await postChat(gatewayA.httpUrl, chatRequest('gpt-4o', 'x'.repeat(6000)));
    const error = await assertOpenAIError(big, 413);
    assert.equal(error.code, 'request_too_large');
    const small = await postChat(gatewayA.httpUrl, chatRequest('gpt-4o', 'hi'));
    assert.equal(small.status, 200);
    await small.text();
  });

  test('an upstream error mid-stream reaches the client as a final SSE error event', async () => {
    const response = await postChat(gatewayA.httpUrl, chatRequest('qwen-error-midstream', 'story', { stream: true }));
    assert.equal(response.status, 200);
    const { chunks, done } = await readSse(response);
    const error = chunks.find((c) => c.error)?.error;
    assert.equal(deltaText(chunks), 'Once upon a time');
    assert.ok(error, 'a final error event');
    assert.equal(error.message, MIDSTREAM_MESSAGE);
    assert.equal(done, false, 'no [DONE] after an error');
  });

  test('a client that leaves A cancels B and B’s upstream request', async () => {
    const closedBefore = slow.closed.length;
    const controller = new AbortController();
    const response = await postChat(gatewayA.httpUrl, chatRequest('qwen-slow', 'go', { stream: true }), { signal: controller.signal });
    const reader = response.body.getReader();
    await reader.read();
    controller.abort();
    await within(3000, (async () => {
      while (slow.closed.length === closedBefore) await sleep(20);
    })(), 'DashScope seeing the cancel');
  });

  test('an upstream that dies mid-stream ends A’s stream with an error, not a hang', async () => {
    slow.dieAfterThree = true;
    try {
      const response = await postChat(gatewayA.httpUrl, chatRequest('qwen-die', 'go', { stream: true }));
      const { chunks } = await within(5000, readSse(response), 'the broken stream');
      const error = chunks.find((c) => c.error)?.error;
      assert.match(deltaText(chunks), /^t1 t2 t3 $/);
      assert.ok(error, 'a final error event');
    } finally {
      slow.dieAfterThree = false;
    }
  });
});

describe('A → a third-party aigw.v1 server', () => {
  test('the remote gets the provider key, the request id, a traceparent and the mapped model; its chunks stream back', async () => {
    const response = await postChat(gatewayA.httpUrl, chatRequest('fake-text', 'hi', { stream: true, seed: 5 }), { headers: { 'x-request-id': 'chain-req-1', authorization: 'Bearer client-key' } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-aigw-dropped-params'), 'seed', 'the remote’s dropped params are relayed');
    const { chunks, done } = await readSse(response);
    assert.equal(deltaText(chunks), 'Remote adapter speaking');
    assert.ok(done);
    const call = remote.calls.at(-1);
    assert.equal(call.metadata.authorization, 'Bearer third-party-key');
    assert.equal(call.metadata['x-request-id'], 'chain-req-1');
    assert.match(String(call.metadata.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    assert.ok(!JSON.stringify(call.metadata).includes('client-key'), 'the client’s key never reaches the remote');
    assert.equal(call.request.model, 'fake-text');
    assert.equal(call.request.stream_options.include_usage, true, 'usage is always asked for');
  });

  test('deadlines are passed on: the provider’s total timeout, or the gRPC client’s own when sooner', async () => {
    const before = Date.now();
    await (await postChat(gatewayA.httpUrl, chatRequest('fake-text', 'hi'))).text();
    const rest = remote.calls.at(-1);
    const restLeft = new Date(rest.deadline).getTime() - before;
    assert.ok(restLeft > 15_000 && restLeft <= 20_500, `REST: the 20s total timeout, got ${restLeft} ms`);

    const clients = grpcClients(gatewayA.grpcAddr);
    try {
      const start = Date.now();
      await new Promise((resolve, reject) => {
        const call = clients.chat.Stream({ model: 'fake-text', messages: [{ role: 'user', content: 'hi' }] }, { deadline: new Date(start + 4000) });
        call.on('data', () => {});
        call.on('error', reject);
        call.on('end', resolve);
      });
      const grpcCall = remote.calls.at(-1);
      const grpcLeft = new Date(grpcCall.deadline).getTime() - start;
      assert.ok(grpcLeft > 2000 && grpcLeft <= 4100, `gRPC: the client's 4s deadline, got ${grpcLeft} ms`);
    } finally {
      clients.close();
    }
  });

  test('a remote RESOURCE_EXHAUSTED becomes a 429 with its error code and Retry-After', async () => {
    for (const [model, stream] of [['fake-limited', true], ['unary/fake-limited', false]]) {
      const response = await postChat(gatewayA.httpUrl, chatRequest(model, 'hi', { stream }));
      const error = await assertOpenAIError(response, 429);
      assert.equal(error.code, 'rate_limit_exceeded');
      assert.equal(error.message, 'Remote says: slow down.');
      assert.equal(response.headers.get('retry-after'), '7');
    }
    // The key that was told to wait is cooling down: no call reaches the remote.
    const calls = remote.calls.length;
    const again = await postChat(gatewayA.httpUrl, chatRequest('fake-limited', 'hi'));
    const cooled = await assertOpenAIError(again, 429);
    assert.equal(cooled.code, 'keys_exhausted');
    assert.equal(remote.calls.length, calls);
  });

  test('non-streamed answers and embeddings go through Create and Embeddings', async () => {
    const completion = await openai.chat.completions.create({ model: 'fake-text', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(completion.choices[0].message.content, 'Whole answer');
    assert.equal(completion.usage.total_tokens, 4);
    assert.equal(remote.calls.at(-1).request.stream, false);
    const embeddings = await openai.embeddings.create({ model: 'fake-embed', input: ['a', 'b'] });
    assert.deepEqual(embeddings.data.map((d) => d.embedding), [[0, 0.5], [1, 0.5]]);
  });

  test('a gRPC client that cancels A cancels the remote call', async () => {
    const clients = grpcClients(gatewayA.grpcAddr);
    try {
      const call = clients.chat.Stream({ model: 'fake-slow', messages: [{ role: 'user', content: 'hi' }] });
      await new Promise((resolve) => call.once('data', resolve));
      await new Promise((resolve) => call.once('data', resolve));
      call.on('error', () => {});
      call.cancel();
      const entry = remote.calls.at(-1);
      await within(3000, (async () => {
        while (!entry.cancelled) await sleep(20);
      })(), 'the remote seeing the cancel');
    } finally {
      clients.close();
    }
  });

  test('a config reload while a stream runs through the remote neither cuts it nor breaks the next call', async () => {
    const response = await postChat(gatewayA.httpUrl, chatRequest('fake-medium', 'hi', { stream: true }));
    const reading = readSse(response);
    await sleep(250);
    const reload = await fetch(`${gatewayA.adminUrl}/reload`, { method: 'POST' });
    assert.equal(reload.status, 200);
    const { chunks, done } = await reading;
    assert.ok(done);
    assert.equal(deltaText(chunks), 'm0 m1 m2 m3 m4 m5 m6 m7 m8 m9 ');
    const after = await postChat(gatewayA.httpUrl, chatRequest('fake-text', 'hi', { stream: true }));
    assert.equal(deltaText((await readSse(after)).chunks), 'Remote adapter speaking');
  });

  test('timeouts.read bounds the silence between a remote’s chunks', async () => {
    const started = Date.now();
    const response = await postChat(gatewayA.httpUrl, chatRequest('impatient/fake-silent', 'hi', { stream: true }));
    const { chunks } = await within(4000, readSse(response), 'the silent stream');
    assert.equal(deltaText(chunks.filter((c) => !c.error)), 'first');
    const error = chunks.find((c) => c.error)?.error;
    assert.ok(error, 'a final error event');
    assert.match(error.message, /read timeout/);
    assert.ok(Date.now() - started < 3500);
  });

  test('timeouts.connect bounds a remote that accepts and never answers', async () => {
    const started = Date.now();
    const response = await within(6000, postChat(gatewayA.httpUrl, chatRequest('blackhole/x', 'hi')), 'the blackhole');
    assert.ok([502, 504].includes(response.status), `status ${response.status}`);
    await response.text();
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });

  test('an unreachable remote is a 502 naming the target, quickly', async () => {
    const dead = await startGateway({
      listen: LISTEN_ANY,
      providers: [{ name: 'gone', type: 'aigw', target: '127.0.0.1:1' }],
    });
    try {
      const started = Date.now();
      const response = await postChat(dead.httpUrl, chatRequest('anything', 'hi'));
      const error = await assertOpenAIError(response, 502);
      assert.match(error.message, /127\.0\.0\.1:1/);
      assert.ok(Date.now() - started < 5000);
    } finally {
      await dead.stop();
    }
  });
});

describe('TLS to a remote', () => {
  test('type aigw with tls and ca_file, and aigw-cli with grpcs://, against a TLS aigw.v1 server', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aigw-tls-'));
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile,
      '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    const secure = await startFakeRemote({ tls: { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) } });
    const front = await startGateway({
      listen: LISTEN_ANY,
      providers: [
        { name: 'secure', type: 'aigw', target: secure.address, tls: 'true', ca_file: certFile, model_mapping: { 'fake-*': '' } },
        { name: 'untrusted', type: 'aigw', target: secure.address, tls: 'true', model_mapping: { 'untrusted/fake-text': 'fake-text' } },
      ],
    });
    try {
      const response = await postChat(front.httpUrl, chatRequest('fake-text', 'hi', { stream: true }));
      assert.equal(deltaText((await readSse(response)).chunks), 'Remote adapter speaking');
      const cli = path.join(REPO_ROOT, 'bazel-bin/client/aigw-cli');
      // Asynchronously: the TLS server runs in this process.
      const run = (args) => new Promise((resolve) => {
        execFile(cli, args, { encoding: 'utf8' }, (error, stdout, stderr) => resolve({ status: error ? error.code : 0, stdout, stderr }));
      });
      const ok = await run(['--grpc', `--target=grpcs://${secure.address}`, `--ca-file=${certFile}`, 'chat', '-m', 'fake-text', 'hi']);
      assert.equal(ok.status, 0, ok.stderr);
      assert.equal(ok.stdout, 'Remote adapter speaking\n');
      // Without the CA the certificate is refused: a 502, not a plaintext fallback.
      const refused = await postChat(front.httpUrl, chatRequest('untrusted/fake-text', 'hi'));
      await assertOpenAIError(refused, 502);
      const bad = await run(['--grpc', `--target=grpcs://${secure.address}`, 'chat', '-m', 'fake-text', 'hi']);
      assert.notEqual(bad.status, 0);
      assert.equal(bad.stderr.trim().split('\n').length, 1, `one line: ${bad.stderr}`);
    } finally {
      await front.stop();
      await secure.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
