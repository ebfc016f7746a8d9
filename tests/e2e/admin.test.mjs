// The admin port (health, readiness, Prometheus metrics) and the process's
// handling of bad configs and flags.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startFakeUpstream } from './fake_upstream.mjs';
import { chatRequest, postChat, runGatewayExpectingExit, standardConfig, startGateway } from './harness.mjs';

let upstream;
let gateway;

before(async () => {
  upstream = await startFakeUpstream();
  gateway = await startGateway(await standardConfig(upstream));
});

after(async () => {
  await upstream?.stop();
  await gateway?.stop(); // last: it throws if aigw crashed during the tests
});

test('GET /healthz is 200', async () => {
  const response = await fetch(`${gateway.adminUrl}/healthz`);
  assert.equal(response.status, 200);
  await response.text();
});

test('slow and idle connections cannot starve /healthz; one that dribbles its request is closed', async () => {
  const { port, hostname } = new URL(gateway.adminUrl);
  const sockets = [];
  for (let i = 0; i < 16; i++) {
    const socket = net.connect(Number(port), hostname);
    socket.on('error', () => {});
    socket.resume(); // read, so that the server's close is seen
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'); // never finished
    sockets.push(socket);
  }
  const idle = net.connect(Number(port), hostname); // says nothing at all
  idle.on('error', () => {});
  sockets.push(idle);
  try {
    for (let i = 0; i < 10; i++) {
      const started = Date.now();
      const response = await fetch(`${gateway.adminUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
      assert.equal(response.status, 200);
      await response.text();
      assert.ok(Date.now() - started < 1000, `/healthz took ${Date.now() - started} ms`);
    }
    const closed = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 9000);
      sockets[0].once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    assert.ok(closed, 'a connection that never finished its request was still open after 9 s');
  } finally {
    for (const socket of sockets) socket.destroy();
  }
});

test('GET /readyz is 200 once the listening line is printed', async () => {
  const response = await fetch(`${gateway.adminUrl}/readyz`);
  assert.equal(response.status, 200);
  await response.text();
});

// One Prometheus text-format sample line: name{labels} value [timestamp].
const SAMPLE_LINE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)( -?\d+)?$/;

test('GET /metrics is Prometheus text format without provider keys', async () => {
  // Traffic first, including an upstream error that quotes a provider key.
  await (await postChat(gateway.httpUrl, chatRequest('gpt-4o', 'Hello!'))).text();
  await (await postChat(gateway.httpUrl, chatRequest('http-401-leak', 'Hello!'))).text();

  const response = await fetch(`${gateway.adminUrl}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await response.text();
  assert.match(text, /^# TYPE \S+ (counter|gauge|histogram|summary|untyped)$/m);
  const samples = text.split('\n').filter((line) => line && !line.startsWith('#'));
  assert.ok(samples.length > 0, 'no samples');
  for (const line of samples) assert.match(line, SAMPLE_LINE);
  assert.ok(!text.includes('sk-fake-key'), 'a provider key appears in /metrics');
});

test('the admin port does not serve the chat API', async () => {
  const response = await fetch(`${gateway.adminUrl}/v1/chat/completions`, { method: 'POST', body: '{}' });
  assert.equal(response.status, 404);
  await response.text();
});

// A minimal valid config with `patch` applied to its only provider.
function configWithProvider(patch) {
  return {
    listen: { http: '127.0.0.1:0', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' },
    providers: [{ name: 'p', type: 'echo', ...patch }],
  };
}

async function assertRejected(config, keyPattern) {
  const { code, signal, stderr } = await runGatewayExpectingExit([], { config });
  assert.equal(signal, null, `killed by ${signal} (hung?); stderr: ${stderr}`);
  assert.notEqual(code, 0, `exit code 0; stderr: ${stderr}`);
  assert.match(stderr, keyPattern);
  assert.doesNotMatch(stderr, /aigw listening/);
}

test('a context file that is not UTF-8 exits non-zero naming the context key', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aigw-ctx-'));
  const file = path.join(dir, 'latin1.txt');
  fs.writeFileSync(file, Buffer.from([0x43, 0x61, 0x66, 0xe9])); // "Café" in Latin-1
  try {
    await assertRejected(configWithProvider({ context: { file } }), /providers\[0\]\.context\.file: .*not valid UTF-8/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown provider type exits non-zero naming providers[0].type', async () => {
  await assertRejected(configWithProvider({ type: 'nope' }), /providers\[0\]\.type/);
});

test('an invalid model_mapping regex exits non-zero naming model_mapping', async () => {
  await assertRejected(configWithProvider({ model_mapping: { '~^(unclosed': 'x' } }), /model_mapping/);
});

test('a listen address that is not host:port exits non-zero naming listen.http', async () => {
  await assertRejected({ ...configWithProvider({}), listen: { http: 'not an address', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' } }, /listen\.http/);
});

test('YAML that does not parse exits non-zero', async () => {
  const { code, stderr } = await runGatewayExpectingExit([], { config: 'providers: [ {name: p, type: echo\n' });
  assert.notEqual(code, 0);
  assert.ok(stderr.length > 0, 'no error message');
});

test('a missing config file exits non-zero naming the file', async () => {
  const { code, stderr } = await runGatewayExpectingExit(['--config=/nonexistent/aigw-e2e.yaml']);
  assert.notEqual(code, 0);
  assert.match(stderr, /\/nonexistent\/aigw-e2e\.yaml/);
});

test('--help lists the --config flag', async () => {
  const { signal, stdout, stderr } = await runGatewayExpectingExit(['--help']);
  assert.equal(signal, null, '--help did not exit');
  assert.match(stdout + stderr, /--config/);
});
