// The process's life: listeners that cannot bind end it at once (naming the
// address), a second instance cannot share the gRPC port, SIGTERM drains
// (no new connections, /readyz 503, in-flight work gets shutdown.grace, then
// streams end with a server_shutdown error, never a silent cut), a second
// SIGTERM exits at once, and config mistakes that used to pass silently are
// errors naming the key.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import grpc from '@grpc/grpc-js';
import { closedPort, grpcClients, postChat, runGatewayExpectingExit, sseData, startGateway, within } from './harness.mjs';

const LISTEN_ANY = { http: '127.0.0.1:0', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Echo streams one word per chunk, `delayMs` apart.
function echoConfig({ delayMs = 100, grace, listen = LISTEN_ANY } = {}) {
  return {
    listen,
    providers: [{ name: 'echo', type: 'echo', delay_ms: delayMs, model_mapping: { '*': '' } }],
    ...(grace ? { shutdown: { grace } } : {}),
  };
}

const words = (n) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');

// Holds 127.0.0.1:port open (no SO_REUSEPORT) until close().
async function occupyPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: server.address().port, close: () => new Promise((resolve) => server.close(resolve)) };
}

function connectable(address) {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

// Starts a REST stream and resolves once its first event arrived:
// {next(): the rest of the events as [payload...], once the stream ends}.
async function startStream(gateway, content) {
  const response = await postChat(gateway.httpUrl, { model: 'echo', stream: true, messages: [{ role: 'user', content }] });
  assert.equal(response.status, 200);
  const events = sseData(response);
  const first = await events.next();
  assert.equal(first.done, false);
  return {
    async rest() {
      const out = [first.value];
      for await (const data of events) out.push(data);
      return out;
    },
  };
}

async function readyzStatus(gateway) {
  const response = await fetch(`${gateway.adminUrl}/readyz`);
  await response.text();
  return response.status;
}

// ---------------------------------------------------------------- binding

for (const listener of ['http', 'grpc', 'admin']) {
  test(`listen.${listener} on a port that is taken: exits non-zero within a second naming the address`, async () => {
    const taken = await occupyPort();
    try {
      const started = performance.now();
      const { code, signal, stderr } = await runGatewayExpectingExit([], {
        config: echoConfig({ listen: { ...LISTEN_ANY, [listener]: `127.0.0.1:${taken.port}` } }),
        timeoutMs: 5000,
      });
      const elapsed = performance.now() - started;
      assert.equal(signal, null, `killed by ${signal} (hung?); stderr: ${stderr}`);
      assert.equal(code, 1, stderr);
      assert.ok(elapsed < 1000, `took ${Math.round(elapsed)} ms`);
      assert.match(stderr, new RegExp(`listen\\.${listener}: cannot listen on 127\\.0\\.0\\.1:${taken.port}`));
      assert.doesNotMatch(stderr, /aigw listening/);
    } finally {
      await taken.close();
    }
  });
}

test('admin on the same address as http: rejected naming listen.admin, within a second', async () => {
  const port = await closedPort();
  const started = performance.now();
  const { code, signal, stderr } = await runGatewayExpectingExit([], {
    config: echoConfig({ listen: { ...LISTEN_ANY, http: `127.0.0.1:${port}`, admin: `127.0.0.1:${port}` } }),
    timeoutMs: 5000,
  });
  assert.equal(signal, null, `hung; stderr: ${stderr}`);
  assert.notEqual(code, 0);
  assert.ok(performance.now() - started < 1000);
  assert.match(stderr, new RegExp(`listen\\.admin: 127\\.0\\.0\\.1:${port} is also listen\\.http`));
});

test('admin on 0.0.0.0 with the port of http on 127.0.0.1: the bind fails and aigw exits within a second', async () => {
  const port = await closedPort();
  const started = performance.now();
  const { code, signal, stderr } = await runGatewayExpectingExit([], {
    config: echoConfig({ listen: { ...LISTEN_ANY, http: `127.0.0.1:${port}`, admin: `0.0.0.0:${port}` } }),
    timeoutMs: 5000,
  });
  assert.equal(signal, null, `hung; stderr: ${stderr}`);
  assert.equal(code, 1, stderr);
  assert.ok(performance.now() - started < 1000);
  assert.match(stderr, new RegExp(`listen\\.admin: cannot listen on 0\\.0\\.0\\.0:${port}`));
});

test('a second aigw on the same gRPC port fails to start instead of sharing it', async () => {
  const port = await closedPort();
  const first = await startGateway(echoConfig({ listen: { ...LISTEN_ANY, grpc: `127.0.0.1:${port}` } }));
  try {
    const { code, signal, stderr } = await runGatewayExpectingExit([], {
      config: echoConfig({ listen: { ...LISTEN_ANY, grpc: `127.0.0.1:${port}` } }),
      timeoutMs: 5000,
    });
    assert.equal(signal, null, `second instance hung or started; stderr: ${stderr}`);
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`listen\\.grpc: cannot listen on 127\\.0\\.0\\.1:${port}`));
  } finally {
    await first.stop();
  }
});

// ---------------------------------------------------------------- SIGTERM

test('SIGTERM: /readyz 503 and no new connections at once; an in-flight stream finishes within the grace', async () => {
  const gateway = await startGateway(echoConfig({ delayMs: 100, grace: '10s' }));
  const stream = await startStream(gateway, words(10));
  gateway.child.kill('SIGTERM');
  await sleep(100);
  assert.equal(await readyzStatus(gateway), 503);
  assert.equal(await connectable(gateway.httpUrl.slice('http://'.length)), false, 'REST still accepts connections');
  assert.equal(await connectable(gateway.grpcAddr), false, 'gRPC still accepts connections');

  const events = await within(5000, stream.rest(), 'the stream');
  assert.equal(events.at(-1), '[DONE]');
  const text = events
    .filter((data) => data !== '[DONE]')
    .map((data) => JSON.parse(data).choices?.[0]?.delta?.content ?? '')
    .join('');
  assert.equal(text, words(10));
  const { code, signal } = await within(3000, gateway.exited, 'exit after the drain');
  assert.deepEqual({ code, signal }, { code: 0, signal: null });
});

test('SIGTERM with nothing in flight exits at once', async () => {
  const gateway = await startGateway(echoConfig({ grace: '30s' }));
  // A finished request leaves an idle keep-alive connection behind.
  await (await postChat(gateway.httpUrl, { model: 'echo', messages: [{ role: 'user', content: 'hi' }] })).text();
  const started = performance.now();
  gateway.child.kill('SIGTERM');
  const { code } = await within(2000, gateway.exited, 'exit');
  assert.equal(code, 0);
  assert.ok(performance.now() - started < 1500, `took ${Math.round(performance.now() - started)} ms`);
});

test('grace over: a REST stream ends with a server_shutdown error event, gRPC with UNAVAILABLE, a unary call with 503', async () => {
  const gateway = await startGateway(echoConfig({ delayMs: 200, grace: '600ms' }));
  const clients = grpcClients(gateway.grpcAddr);
  try {
    const rest = await startStream(gateway, words(50));
    const grpcResult = new Promise((resolve) => {
      const call = clients.chat.Stream({ model: 'echo', messages: [{ role: 'user', content: words(50) }] });
      let chunks = 0;
      let trailers = null;
      call.on('data', () => chunks++);
      call.on('status', (status) => (trailers = status.metadata));
      call.on('error', (error) => resolve({ chunks, error, trailers: error.metadata ?? trailers }));
      call.on('end', () => resolve({ chunks, error: null }));
    });
    const unary = postChat(gateway.httpUrl, { model: 'echo', messages: [{ role: 'user', content: words(50) }] });
    await sleep(300);
    const signalled = performance.now();
    gateway.child.kill('SIGTERM');

    const events = await within(5000, rest.rest(), 'the REST stream');
    assert.notEqual(events.at(-1), '[DONE]');
    const last = JSON.parse(events.at(-1));
    assert.equal(last.error?.code, 'server_shutdown', events.at(-1));
    assert.ok(events.length > 2, 'the stream had delivered chunks before the end');

    const { chunks, error } = await within(5000, grpcResult, 'the gRPC stream');
    assert.ok(chunks > 0);
    assert.ok(error, 'the gRPC stream ended with OK');
    assert.equal(error.code, grpc.status.UNAVAILABLE, error.message);
    assert.deepEqual(error.metadata.get('x-aigw-error-code'), ['server_shutdown']);

    const response = await within(5000, unary, 'the unary call');
    assert.equal(response.status, 503);
    assert.equal((await response.json()).error.code, 'server_shutdown');

    const { code } = await within(4000, gateway.exited, 'exit after the grace');
    assert.equal(code, 0);
    const elapsed = performance.now() - signalled;
    assert.ok(elapsed >= 500 && elapsed < 3500, `exited ${Math.round(elapsed)} ms after SIGTERM`);
  } finally {
    clients.close();
  }
});

test('a second SIGTERM exits at once', async () => {
  const gateway = await startGateway(echoConfig({ delayMs: 200, grace: '30s' }));
  const stream = await startStream(gateway, words(100));
  gateway.child.kill('SIGTERM');
  await sleep(200);
  assert.equal(gateway.child.exitCode, null, 'exited on the first SIGTERM with a stream in flight');
  const started = performance.now();
  gateway.child.kill('SIGTERM');
  const { code } = await within(1000, gateway.exited, 'exit on the second SIGTERM');
  assert.equal(code, 143);
  assert.ok(performance.now() - started < 500);
  await stream.rest().catch(() => {}); // cut: the operator asked for it
});

// ---------------------------------------------------------------- config

async function assertConfigRejected(config, pattern, args = []) {
  const { code, signal, stderr } = await runGatewayExpectingExit(args, { config, timeoutMs: 5000 });
  assert.equal(signal, null, `hung; stderr: ${stderr}`);
  assert.notEqual(code, 0, stderr);
  assert.match(stderr, pattern);
  assert.doesNotMatch(stderr, /aigw listening/);
}

test('a duration without a unit is rejected naming the key', async () => {
  await assertConfigRejected(
    'providers:\n  - {name: p, type: echo, timeouts: {connect: 5000}}\n',
    /providers\[0\]\.timeouts\.connect: '5000' has no unit/,
  );
});

test('a key written twice is rejected naming it and both lines', async () => {
  await assertConfigRejected(
    'providers:\n  - name: p\n    type: echo\n    type: openai\n',
    /providers\[0\]\.type: written twice \(lines 3 and 4\)/,
  );
});

test('an unset ${VAR} without a default in base_url or api_keys is rejected naming the key and the variable', async () => {
  delete process.env.AIGW_E2E_SURELY_UNSET;
  await assertConfigRejected(
    'providers:\n  - {name: p, type: openai, base_url: "${AIGW_E2E_SURELY_UNSET}"}\n',
    /providers\[0\]\.base_url: environment variable AIGW_E2E_SURELY_UNSET is not set/,
    ['--check'],
  );
  await assertConfigRejected(
    'providers:\n  - {name: p, type: openai, api_keys: ["${AIGW_E2E_SURELY_UNSET}"]}\n',
    /providers\[0\]\.api_keys\[0\]: environment variable AIGW_E2E_SURELY_UNSET is not set/,
    ['--check'],
  );
});

test('--config pointing at a directory is rejected naming it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aigw-dir-'));
  try {
    const { code, stderr } = await runGatewayExpectingExit([`--config=${dir}`], { timeoutMs: 5000 });
    assert.notEqual(code, 0);
    assert.match(stderr, new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is a directory`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
