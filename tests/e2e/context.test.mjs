// Standing contexts: `context: {file}` or `{url, refresh}` on a provider or
// a route becomes the first system message of every request it serves
// (the route's first). URL contexts are fetched in the background and
// refreshed; a failed fetch keeps the last good copy (reported on /readyz);
// one never loaded makes its requests 503 context_unavailable and /readyz
// 503. Files over 1 MiB are config errors naming the key.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { flakyConfig, flakyProvider, withFlakyGateway } from './fake_flaky.mjs';
import { closedPort, postChat, readSse, runGatewayExpectingExit, startGateway } from './harness.mjs';

const MIB = 1 << 20;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let dir;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aigw-context-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeFile(name, text) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const provider = flakyProvider;
const config = (providers, rest = {}) =>
  flakyConfig(providers, { retries: { max_attempts: 3, budget: '30s' }, circuit_breaker: { failures: 5, cooldown: '30s' } }, rest);
const withGateway = withFlakyGateway;

// One call; returns {status, provider, text, error}.
async function chat(gateway, model, { stream = false, messages = [{ role: 'user', content: 'hi' }] } = {}) {
  const response = await postChat(gateway.httpUrl, { model, stream, messages });
  const result = { status: response.status, provider: response.headers.get('x-aigw-provider') };
  if (response.status === 200 && stream) {
    const { chunks, done } = await readSse(response);
    assert.equal(done, true);
    assert.ok(chunks.every((c) => !c.error), JSON.stringify(chunks.find((c) => c.error)));
  } else {
    const body = await response.json();
    result.error = body.error ?? null;
  }
  return result;
}

// The messages the upstream received in its last request, as [role, content].
function lastMessages(up) {
  return up.requests.at(-1).body.messages.map((m) => [m.role, m.content]);
}

async function readyz(gateway) {
  const response = await fetch(`${gateway.adminUrl}/readyz`);
  return { status: response.status, text: await response.text() };
}

// Polls `check` (async, returns truthy when done) every 50 ms for up to `ms`.
async function eventually(ms, what, check) {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

// A text server for URL contexts: {url, gets, text, status, stop(), start()}.
async function startContextServer(text) {
  const server = {
    text,
    status: 200,
    delayMs: 0, // before each answer
    gets: 0,
    sockets: new Set(),
    http: null,
    port: 0,
    async start() {
      this.http = http.createServer(async (req, res) => {
        this.gets++;
        if (this.delayMs > 0) await sleep(this.delayMs);
        if (res.destroyed) return;
        res.writeHead(this.status, { 'Content-Type': 'text/plain' });
        res.end(this.status === 200 ? this.text : 'broken');
      });
      this.http.on('connection', (socket) => {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
      });
      await new Promise((resolve) => this.http.listen(this.port, '127.0.0.1', resolve));
      this.port = this.http.address().port;
      this.url = `http://127.0.0.1:${this.port}/context.txt`;
    },
    async stop() {
      for (const socket of this.sockets) socket.destroy();
      await new Promise((resolve) => this.http.close(resolve));
    },
  };
  await server.start();
  return server;
}

test('file contexts: the route\'s then the provider\'s, before the client\'s own messages, streaming and not; the fallback gets the route\'s too', async () => {
  const routeText = 'ROUTE CONTEXT: answer in French.\nSecond line.';
  const providerText = 'PROVIDER CONTEXT: you are helpful.';
  const routeFile = writeFile('route.txt', routeText);
  const providerFile = writeFile('provider.txt', providerText);
  await withGateway(['withctx', 'plain'], (u) =>
    config(
      [provider(u.withctx, { models: ['direct'], context: { file: providerFile } }), provider(u.plain)],
      {
        routes: [
          { models: ['routed'], providers: ['withctx'], fallback: ['plain'], context: { file: routeFile } },
          { models: ['routed-plain'], providers: ['plain'], context: { file: routeFile } },
        ],
      },
    ), async ({ gateway, ups }) => {
    for (const stream of [false, true]) {
      assert.equal((await chat(gateway, 'direct', { stream })).status, 200);
      assert.deepEqual(lastMessages(ups.withctx), [['system', providerText], ['user', 'hi']]);

      assert.equal((await chat(gateway, 'routed', { stream })).status, 200);
      assert.deepEqual(lastMessages(ups.withctx), [['system', routeText], ['system', providerText], ['user', 'hi']]);

      const own = [{ role: 'system', content: 'client system' }, { role: 'user', content: 'hi' }];
      assert.equal((await chat(gateway, 'routed', { stream, messages: own })).status, 200);
      assert.deepEqual(lastMessages(ups.withctx), [['system', routeText], ['system', providerText], ['system', 'client system'], ['user', 'hi']]);

      assert.equal((await chat(gateway, 'routed-plain', { stream })).status, 200);
      assert.deepEqual(lastMessages(ups.plain), [['system', routeText], ['user', 'hi']]);

      // withctx fails: the fallback gets the route's context, not withctx's.
      ups.withctx.mode = 'http-503';
      const fallback = await chat(gateway, 'routed', { stream });
      assert.equal(fallback.provider, 'plain');
      assert.deepEqual(lastMessages(ups.plain), [['system', routeText], ['user', 'hi']]);
      ups.withctx.mode = 'ok';
    }
  });
});

test('URL context: fetched, refreshed, last good copy kept on HTTP errors and when the server is down (/readyz says so), recovered', async () => {
  const source = await startContextServer('URL CONTEXT v1');
  try {
    await withGateway(['up'], (u) =>
      config([provider(u.up, { models: ['m'], context: { url: source.url, refresh: '1s' } })]), async ({ gateway, ups }) => {
      await eventually(5000, 'first fetch', async () => (await readyz(gateway)).text === 'ready\n');
      assert.equal((await chat(gateway, 'm')).status, 200);
      assert.deepEqual(lastMessages(ups.up)[0], ['system', 'URL CONTEXT v1']);

      // Refresh: the new text within a few refresh periods.
      source.text = 'URL CONTEXT v2';
      const getsBefore = source.gets;
      await eventually(4000, 'refreshed text', async () => {
        assert.equal((await chat(gateway, 'm', { stream: true })).status, 200);
        return lastMessages(ups.up)[0][1] === 'URL CONTEXT v2';
      });
      assert.ok(source.gets > getsBefore);

      // HTTP 500: v2 keeps serving; /readyz is 200 and names the problem.
      source.status = 500;
      let ready = await eventually(4000, '/readyz reporting HTTP 500', async () => {
        const r = await readyz(gateway);
        return /context `.*HTTP 500/.test(r.text) && r;
      });
      assert.equal(ready.status, 200);
      assert.match(ready.text, /^ready\ncontext `providers\[0\]\.context` unavailable: fetch failed \(HTTP 500\); serving the copy from /);
      for (const stream of [false, true]) {
        assert.equal((await chat(gateway, 'm', { stream })).status, 200);
        assert.deepEqual(lastMessages(ups.up)[0], ['system', 'URL CONTEXT v2']);
      }

      // The server goes away: still v2.
      await source.stop();
      ready = await eventually(4000, '/readyz reporting the server down', async () => {
        const r = await readyz(gateway);
        return /context `.*failed \((?!HTTP 500)/.test(r.text) && r;
      });
      assert.equal(ready.status, 200);
      assert.match(ready.text, /serving the copy from/);
      assert.equal((await chat(gateway, 'm')).status, 200);
      assert.deepEqual(lastMessages(ups.up)[0], ['system', 'URL CONTEXT v2']);

      // Back with v3: served, and /readyz clean again.
      source.text = 'URL CONTEXT v3';
      source.status = 200;
      await source.start();
      await eventually(4000, '/readyz clean again', async () => (await readyz(gateway)).text === 'ready\n');
      assert.equal((await chat(gateway, 'm')).status, 200);
      assert.deepEqual(lastMessages(ups.up)[0], ['system', 'URL CONTEXT v3']);
    });
  } finally {
    await source.stop().catch(() => {});
  }
});

test('a reload keeps serving a URL context that was loaded: no 503 while the new config fetches it again', async () => {
  const source = await startContextServer('URL CONTEXT loaded');
  try {
    await withGateway(['up'], (u) =>
      config([provider(u.up, { models: ['m'], context: { url: source.url, refresh: '60s' } })]), async ({ gateway, ups }) => {
      await eventually(5000, 'first fetch', async () => (await readyz(gateway)).text === 'ready\n');
      assert.equal((await chat(gateway, 'm')).status, 200);
      assert.deepEqual(lastMessages(ups.up)[0], ['system', 'URL CONTEXT loaded']);

      // From now on the context server is slow (2 s); the same config is reloaded.
      source.delayMs = 2000;
      const reload = await fetch(`${gateway.adminUrl}/reload`, { method: 'POST' });
      assert.equal(reload.status, 200);
      const result = await chat(gateway, 'm');
      assert.equal(result.status, 200, `right after the reload: ${result.status} ${JSON.stringify(result.error)}`);
      assert.deepEqual(lastMessages(ups.up)[0], ['system', 'URL CONTEXT loaded']);
    });
  } finally {
    await source.stop();
  }
});

test('URL context never reachable: requests are 503 context_unavailable, /readyz is 503, the upstream is not called', async () => {
  const url = `http://127.0.0.1:${await closedPort()}/context.txt`;
  await withGateway(['up'], (u) =>
    config([provider(u.up, { models: ['m'], context: { url, refresh: '1s' } })]), async ({ gateway, ups }) => {
    const ready = await eventually(3000, '/readyz 503', async () => {
      const r = await readyz(gateway);
      return r.status === 503 && r;
    });
    assert.match(ready.text, /^ready\ncontext `providers\[0\]\.context` unavailable: fetch failed \(.*\); no copy loaded yet\n$/);
    for (const stream of [false, true]) {
      const result = await chat(gateway, 'm', { stream });
      assert.equal(result.status, 503);
      assert.equal(result.error.type, 'context_unavailable');
      assert.match(result.error.message, /^context `providers\[0\]\.context` unavailable/);
    }
    // The closed port may be handed to the fake upstream afterwards: only
    // chat calls count.
    assert.equal(ups.up.requests.filter((r) => r.path !== '/context.txt').length, 0);
  });
});

test('a URL context that fails never shows its URL (it may carry a token) to clients or on /readyz', async () => {
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}/context.txt?token=ctx-secret-token`;
  await withGateway(['up'], (u) =>
    config([provider(u.up, { models: ['m'], context: { url, refresh: '1s' } })]), async ({ gateway }) => {
    const ready = await eventually(3000, '/readyz 503', async () => {
      const r = await readyz(gateway);
      return r.status === 503 && /fetch failed/.test(r.text) && r;
    });
    for (const stream of [false, true]) {
      const response = await postChat(gateway.httpUrl, { model: 'm', stream, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(response.status, 503);
      const text = await response.text();
      assert.match(text, /context `providers\[0\]\.context` unavailable/);
      for (const leak of ['ctx-secret-token', `:${port}`, 'context.txt']) {
        assert.ok(!text.includes(leak), `503 body shows ${leak}: ${text}`);
        assert.ok(!ready.text.includes(leak), `/readyz shows ${leak}: ${ready.text}`);
      }
    }
  });
});

test('an unavailable context is not a provider failure: it never opens the circuit breaker', async () => {
  const url = `http://127.0.0.1:${await closedPort()}/context.txt`;
  await withGateway(['up'], (u) =>
    config([provider(u.up, { models: ['m'], context: { url, refresh: '1s' } })], {
      circuit_breaker: { failures: 2, cooldown: '30s' },
    }), async ({ gateway }) => {
    await eventually(3000, '/readyz 503', async () => (await readyz(gateway)).status === 503);
    for (let i = 0; i < 4; i++) {
      const result = await chat(gateway, 'm', { stream: i % 2 === 1 });
      assert.equal(result.status, 503);
      assert.equal(result.error.type, 'context_unavailable', `request ${i + 1}: ${JSON.stringify(result.error)}`);
    }
  });
});

test('a URL context still waiting for its first fetch: requests 503 and /readyz 503 alike', async () => {
  // The server accepts the connection and never answers: the first fetch is pending.
  const sockets = new Set();
  const silent = net.createServer((socket) => sockets.add(socket));
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${silent.address().port}/context.txt`;
    await withGateway(['up'], (u) =>
      config([provider(u.up, { models: ['m'], context: { url, refresh: '1s' } })]), async ({ gateway }) => {
      await eventually(3000, 'the fetch connection', async () => sockets.size > 0);
      const result = await chat(gateway, 'm');
      assert.equal(result.status, 503);
      assert.equal(result.error.type, 'context_unavailable');
      const ready = await readyz(gateway);
      assert.match(ready.text, /context `providers\[0\]\.context` unavailable/);
      assert.equal(ready.status, 503, `/readyz says ${ready.status} "${ready.text.trim()}" while requests get 503 context_unavailable`);
    });
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});

test('a URL context over 1 MiB is refused: never loaded, requests 503, /readyz names it', async () => {
  const source = await startContextServer('x'.repeat(MIB + 1));
  try {
    await withGateway(['up'], (u) =>
      config([provider(u.up, { models: ['m'], context: { url: source.url, refresh: '1s' } })]), async ({ gateway, ups }) => {
      const ready = await eventually(3000, '/readyz 503', async () => {
        const r = await readyz(gateway);
        return r.status === 503 && /failed/.test(r.text) && r;
      });
      assert.match(ready.text, /failed \(larger than 1 MiB\); no copy loaded yet/);
      const result = await chat(gateway, 'm');
      assert.equal(result.status, 503);
      assert.equal(result.error.type, 'context_unavailable');
      assert.equal(ups.up.requests.length, 0);
    });
  } finally {
    await source.stop();
  }
});

test('context files: exactly 1 MiB is accepted; over 1 MiB or unreadable is a config error naming the key (aigw --check)', async () => {
  const exact = writeFile('exact.txt', 'x'.repeat(MIB));
  const over = writeFile('over.txt', 'x'.repeat(MIB + 1));
  const missing = path.join(dir, 'missing.txt');
  const base = (providerContext, routeContext) => ({
    listen: { http: '127.0.0.1:0', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' },
    providers: [
      { name: 'echo', type: 'echo', models: ['m'], ...(providerContext ? { context: providerContext } : {}) },
    ],
    ...(routeContext ? { routes: [{ models: ['r'], providers: ['echo'], context: routeContext }] } : {}),
  });

  let run = await runGatewayExpectingExit(['--check'], { config: base({ file: exact }, { file: exact }) });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /config is valid/);

  run = await runGatewayExpectingExit(['--check'], { config: base({ file: over }) });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /config error: providers\[0\]\.context\.file: .*over\.txt is larger than 1 MiB/);

  run = await runGatewayExpectingExit(['--check'], { config: base(null, { file: over }) });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /config error: routes\[0\]\.context\.file: .*over\.txt is larger than 1 MiB/);

  run = await runGatewayExpectingExit(['--check'], { config: base({ file: missing }) });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /config error: providers\[0\]\.context\.file: cannot read .*missing\.txt/);

  // Starting (not only --check) refuses it the same way.
  run = await runGatewayExpectingExit([], { config: base({ file: over }) });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /providers\[0\]\.context\.file: .*larger than 1 MiB/);
});
