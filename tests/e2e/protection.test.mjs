// The event-driven data plane under abuse: HTTP hygiene (bounded heads,
// unambiguous framing, pipelining), every `protection:` limit, backpressure
// from a client that stops reading, and TLS upstreams through the new client.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import grpc from '@grpc/grpc-js';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FakeHttpServer, LISTEN_ANY, chatChunk, sleep, sseEvent } from './fake_common.mjs';
import { chatRequest, grpcClients, postChat, readSse, startGateway, within } from './harness.mjs';

const BODY = JSON.stringify(chatRequest('echo', 'hello there'));

function echoConfig(protection = {}, extra = {}) {
  return {
    listen: LISTEN_ANY,
    providers: [{ name: 'echo', type: 'echo' }],
    protection,
    ...extra,
  };
}

function portOf(gateway) {
  return Number(new URL(gateway.httpUrl).port);
}

// A raw connection: what was received, and when the server closed it.
function connect(port) {
  const socket = net.connect(port, '127.0.0.1');
  const state = { socket, data: '', closed: false, closedAt: 0 };
  socket.setEncoding('latin1');
  socket.on('data', (d) => (state.data += d));
  socket.on('error', () => {});
  state.closedPromise = new Promise((resolve) =>
    socket.on('close', () => {
      state.closed = true;
      state.closedAt = performance.now();
      resolve();
    }),
  );
  state.ready = new Promise((resolve) => socket.once('connect', resolve));
  return state;
}

// Sends `raw` on a new connection; resolves with everything received until
// the server closes (or `waitMs` passes).
async function exchange(port, raw, waitMs = 2000) {
  const c = connect(port);
  await c.ready;
  c.socket.write(raw);
  await Promise.race([c.closedPromise, sleep(waitMs)]);
  c.socket.destroy();
  return c;
}

const post = (body, extraHeaders = '') =>
  `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extraHeaders}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

function statusLines(text) {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
}

async function metricValue(gateway, name, labels) {
  const text = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : NaN;
}

function rssKb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(/VmRSS:\s+(\d+)/)[1]);
}

// ------------------------------------------------------------ HTTP hygiene

test('the request head is bounded: 64 KiB and 100 header lines, else 431 and close', async () => {
  const gateway = await startGateway(echoConfig());
  try {
    const port = portOf(gateway);
    const big = await exchange(port, `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`);
    assert.deepEqual(statusLines(big.data), [431]);
    assert.ok(big.closed, 'the connection was closed');
    const many = await exchange(port, `GET /v1/models HTTP/1.1\r\nHost: x\r\n${'X-A: b\r\n'.repeat(120)}\r\n`);
    assert.deepEqual(statusLines(many.data), [431]);
    assert.match(many.data, /"code":"request_header_fields_too_large"/);
    // Within the bounds is fine.
    const fine = await exchange(port, `GET /v1/models HTTP/1.1\r\nHost: x\r\n${'X-A: b\r\n'.repeat(90)}Connection: close\r\n\r\n`);
    assert.deepEqual(statusLines(fine.data), [200]);
    assert.equal(await metricValue(gateway, 'aigw_protection_rejected_total', 'reason="head_too_large"'), 2);
  } finally {
    await gateway.stop();
  }
});

test('ambiguous framing is refused at once with 400 and the connection closed', async () => {
  const gateway = await startGateway(echoConfig());
  try {
    const port = portOf(gateway);
    const cases = [
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello`,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello`,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n`,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n`,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n`,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
    ];
    for (const raw of cases) {
      const started = performance.now();
      const c = await exchange(port, raw);
      assert.deepEqual(statusLines(c.data), [400], raw);
      assert.ok(c.closed, `closed after ${JSON.stringify(raw)}`);
      assert.ok(c.closedAt - started < 1000, 'refused at once');
    }
  } finally {
    await gateway.stop();
  }
});

test('a POST with neither length nor chunking has an empty body: an immediate 400', async () => {
  const gateway = await startGateway(echoConfig());
  try {
    const started = performance.now();
    const c = await exchange(portOf(gateway), 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.deepEqual(statusLines(c.data), [400]);
    assert.ok(performance.now() - started < 1000);
  } finally {
    await gateway.stop();
  }
});

test('chunked bodies with trailers are read; pipelined requests are all answered, in order', async () => {
  const gateway = await startGateway(echoConfig());
  try {
    const port = portOf(gateway);
    const chunked =
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
      `${Buffer.byteLength(BODY).toString(16)}\r\n${BODY}\r\n0\r\nX-Trailer: yes\r\n\r\n`;
    const c = await exchange(port, chunked);
    assert.deepEqual(statusLines(c.data), [200]);
    assert.match(c.data, /hello there/);

    const bodies = ['one', 'two', 'three'].map((word) => JSON.stringify(chatRequest('echo', word)));
    const pipelined = bodies.map((b) => post(b)).join('') + 'GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const p = await exchange(port, pipelined);
    assert.deepEqual(statusLines(p.data), [200, 200, 200, 200]);
    const order = ['"one"', '"two"', '"three"'].map((w) => p.data.indexOf(w));
    assert.ok(order[0] > 0 && order[0] < order[1] && order[1] < order[2], `answers in order: ${order}`);
  } finally {
    await gateway.stop();
  }
});

// ------------------------------------------------------------ timeouts

test('slowloris: connections dribbling their head are closed within head_timeout; others are served meanwhile', async () => {
  const gateway = await startGateway(echoConfig({ head_timeout: '1s' }));
  try {
    const port = portOf(gateway);
    const slow = [];
    for (let i = 0; i < 200; i++) slow.push(connect(port));
    await Promise.all(slow.map((c) => c.ready));
    const opened = performance.now();
    const dribble = setInterval(() => {
      for (const c of slow) if (!c.closed) c.socket.write('X');
    }, 100);
    for (const c of slow) c.socket.write('GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    try {
      // A legitimate request still gets through at once.
      const started = performance.now();
      const response = await postChat(gateway.httpUrl, chatRequest('echo', 'hi'));
      assert.equal(response.status, 200);
      assert.ok(performance.now() - started < 500);
      await within(4000, Promise.all(slow.map((c) => c.closedPromise)), 'the slow connections closing');
      const latest = Math.max(...slow.map((c) => c.closedAt)) - opened;
      assert.ok(latest < 2500, `the last one closed ${Math.round(latest)} ms after connecting`);
    } finally {
      clearInterval(dribble);
    }
    assert.ok((await metricValue(gateway, 'aigw_protection_rejected_total', 'reason="head_timeout"')) >= 200);
    assert.match(gateway.stderr(), /protection: 127\.0\.0\.1 hit head_timeout/);
    assert.ok(gateway.stderr().split('hit head_timeout').length - 1 <= 2, 'logged once per offender and interval, not per connection');
  } finally {
    await gateway.stop();
  }
});

test('a body that stops arriving is cut after body_timeout; an idle kept-alive connection after idle_timeout', async () => {
  const gateway = await startGateway(echoConfig({ body_timeout: '1s', idle_timeout: '1s' }));
  try {
    const port = portOf(gateway);
    const c = connect(port);
    await c.ready;
    c.socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"model"');
    await within(3000, c.closedPromise, 'the slow body connection closing');
    assert.deepEqual(statusLines(c.data), [408]);

    const idle = connect(port);
    await idle.ready;
    idle.socket.write(post(BODY));
    await sleep(300);
    assert.deepEqual(statusLines(idle.data), [200]);
    const answered = performance.now();
    await within(3000, idle.closedPromise, 'the idle connection closing');
    assert.ok(idle.closedAt - answered > 500, 'kept alive for a while');
  } finally {
    await gateway.stop();
  }
});

// ------------------------------------------------------------ caps and rates

test('max_connections_per_ip: the next connection from that address gets 429 and is closed', async () => {
  const gateway = await startGateway(echoConfig({ max_connections_per_ip: 3, exempt_loopback: false }));
  try {
    const port = portOf(gateway);
    const held = [connect(port), connect(port), connect(port)];
    await Promise.all(held.map((c) => c.ready));
    await sleep(100);
    const extra = await exchange(port, post(BODY));
    assert.deepEqual(statusLines(extra.data), [429]);
    assert.ok(extra.closed);
    held[0].socket.destroy();
    await sleep(100);
    const again = await exchange(port, post(BODY, 'Connection: close\r\n'));
    assert.deepEqual(statusLines(again.data), [200], 'a freed slot is usable again');
    for (const c of held) c.socket.destroy();
    assert.equal(await metricValue(gateway, 'aigw_protection_rejected_total', 'reason="max_connections_per_ip"'), 1);
  } finally {
    await gateway.stop();
  }
});

test('loopback clients (a sidecar\'s app) are exempt from the per-IP caps and rate by default', async () => {
  const gateway = await startGateway(
    echoConfig({ max_connections_per_ip: 1, max_streams_per_ip: 1, requests_per_ip_per_second: 1, requests_per_ip_burst: 1 }),
  );
  try {
    const held = [connect(portOf(gateway)), connect(portOf(gateway))];
    await Promise.all(held.map((c) => c.ready));
    const statuses = await Promise.all([1, 2, 3, 4].map(async () => (await postChat(gateway.httpUrl, chatRequest('echo', 'x'))).status));
    assert.deepEqual(statuses, [200, 200, 200, 200]);
    for (const c of held) c.socket.destroy();
  } finally {
    await gateway.stop();
  }
});

test('max_connections: over the global cap a connection gets 503', async () => {
  const gateway = await startGateway(echoConfig({ max_connections: 2 }));
  try {
    const port = portOf(gateway);
    const held = [connect(port), connect(port)];
    await Promise.all(held.map((c) => c.ready));
    await sleep(100);
    const extra = await exchange(port, post(BODY));
    assert.deepEqual(statusLines(extra.data), [503]);
    for (const c of held) c.socket.destroy();
  } finally {
    await gateway.stop();
  }
});

test('max_streams_per_ip: requests in flight from one address are capped with 429 + Retry-After', async () => {
  const gateway = await startGateway({
    listen: LISTEN_ANY,
    providers: [{ name: 'echo', type: 'echo', delay_ms: 300 }],
    protection: { max_streams_per_ip: 2, exempt_loopback: false },
  });
  try {
    const slow = () => postChat(gateway.httpUrl, chatRequest('echo', 'one two three', { stream: true }));
    const first = await slow();
    const second = await slow();
    const third = await postChat(gateway.httpUrl, chatRequest('echo', 'x'));
    assert.equal(third.status, 429);
    assert.ok(Number(third.headers.get('retry-after')) >= 1);
    assert.equal((await third.json()).error.code, 'rate_limit_exceeded');
    await readSse(first);
    await readSse(second);
    const after = await postChat(gateway.httpUrl, chatRequest('echo', 'x'));
    assert.equal(after.status, 200);
  } finally {
    await gateway.stop();
  }
});

test('requests_per_ip_per_second: a token bucket per client, 429 with Retry-After; X-Forwarded-For counts only from trusted proxies', async () => {
  const gateway = await startGateway(
    echoConfig({ requests_per_ip_per_second: 1, requests_per_ip_burst: 2, trusted_proxies: ['127.0.0.1/32'] }),
  );
  try {
    const as = (ip) => postChat(gateway.httpUrl, chatRequest('echo', 'x'), { headers: { 'X-Forwarded-For': ip } });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await as('203.0.113.7')).status);
    assert.deepEqual(statuses, [200, 200, 429]);
    const limited = await as('203.0.113.7');
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    // Another client behind the same proxy has its own bucket.
    assert.equal((await as('198.51.100.9')).status, 200);
    assert.match(gateway.stderr(), /protection: 203\.0\.113\.7 hit request_rate/);
  } finally {
    await gateway.stop();
  }
  // Without trusting the proxy, X-Forwarded-For is ignored: all share 127.0.0.1's bucket.
  const untrusted = await startGateway(
    echoConfig({ requests_per_ip_per_second: 1, requests_per_ip_burst: 2, exempt_loopback: false }),
  );
  try {
    const as = (ip) => postChat(untrusted.httpUrl, chatRequest('echo', 'x'), { headers: { 'X-Forwarded-For': ip } });
    const statuses = [(await as('203.0.113.7')).status, (await as('198.51.100.9')).status, (await as('192.0.2.1')).status];
    assert.deepEqual(statuses, [200, 200, 429]);
  } finally {
    await untrusted.stop();
  }
});

test('load shedding: near the memory limit requests get 503 + Retry-After and /readyz is not ready', async () => {
  const gateway = await startGateway(echoConfig({ max_memory: '64Mi', shed_memory_ratio: 0.01 }));
  try {
    await sleep(1200); // one sample
    const response = await postChat(gateway.httpUrl, chatRequest('echo', 'x'));
    assert.equal(response.status, 503);
    assert.ok(response.headers.get('retry-after'));
    const ready = await fetch(`${gateway.adminUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /shedding load \(memory\)/);
    assert.equal((await fetch(`${gateway.adminUrl}/healthz`)).status, 200, 'still alive');
  } finally {
    await gateway.stop();
  }
});

// ------------------------------------------------------------ backpressure

// An upstream that streams as fast as the gateway reads, counting bytes.
async function startFirehose() {
  const state = { written: 0, closedAt: 0, open: false };
  const content = 'x'.repeat(4000);
  const server = await new FakeHttpServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    state.open = true;
    res.on('close', () => {
      state.open = false;
      state.closedAt = performance.now();
    });
    const pump = () => {
      while (state.open) {
        const event = sseEvent(chatChunk('fire', 'm', { content }));
        state.written += event.length;
        if (!res.write(event)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    res.write(sseEvent(chatChunk('fire', 'm', { role: 'assistant', content: '' })));
    pump();
  }).start();
  state.server = server;
  return state;
}

test('backpressure: a client that stops reading stops the upstream reads (flat RSS), and is dropped after write_timeout', async () => {
  const upstream = await startFirehose();
  const gateway = await startGateway({
    listen: LISTEN_ANY,
    providers: [{ name: 'fire', type: 'openai', base_url: `${upstream.server.origin}/v1`, api_keys: ['k'] }],
    protection: { write_timeout: '3s' },
  });
  try {
    const c = connect(portOf(gateway));
    await c.ready;
    c.socket.write(post(JSON.stringify(chatRequest('m', 'go', { stream: true }))));
    await sleep(300);
    // Reads nothing more: not even into node's own buffer.
    c.socket.pause();
    c.socket._handle?.readStop();
    await sleep(700);
    const rssBefore = rssKb(gateway.child.pid);
    const writtenBefore = upstream.written;
    await sleep(1500);
    const rssAfter = rssKb(gateway.child.pid);
    const writtenAfter = upstream.written;
    assert.ok(rssAfter - rssBefore < 4096, `RSS grew by ${rssAfter - rssBefore} KiB while the client read nothing`);
    // Only the kernel's socket buffers still take a trickle (a reading
    // client takes hundreds of MB in that time).
    assert.ok(writtenAfter - writtenBefore < 8 << 20, `the upstream kept sending ${writtenAfter - writtenBefore} bytes`);
    // The client accepted nothing for write_timeout: dropped, and the
    // upstream with it.
    const deadline = performance.now() + 5000;
    while (upstream.open && performance.now() < deadline) await sleep(100);
    assert.equal(upstream.open, false, 'the upstream connection was closed');
    // Reading again, the client finds the connection closed.
    c.socket._handle?.readStart();
    c.socket.resume();
    await within(5000, c.closedPromise, 'the stalled client being dropped');
    assert.ok((await metricValue(gateway, 'aigw_protection_rejected_total', 'reason="write_timeout"')) >= 1);
  } finally {
    await gateway.stop();
    await upstream.server.stop();
  }
});

test('gRPC: a stream whose client reads nothing ends after write_timeout, and its upstream with it', async () => {
  const upstream = await startFirehose();
  const gateway = await startGateway({
    listen: LISTEN_ANY,
    providers: [{ name: 'fire', type: 'openai', base_url: `${upstream.server.origin}/v1`, api_keys: ['k'] }],
    protection: { write_timeout: '2s' },
  });
  const clients = grpcClients(gateway.grpcAddr);
  try {
    const call = clients.chat.Stream({ model: 'm', messages: [{ role: 'user', content: 'go' }] });
    const ended = new Promise((resolve) => {
      call.on('error', (error) => resolve(error));
      call.on('end', () => resolve(null));
    });
    await new Promise((resolve) => call.once('data', resolve));
    call.pause();
    const rssBefore = rssKb(gateway.child.pid);
    const deadline = performance.now() + 6000;
    while (upstream.open && performance.now() < deadline) await sleep(100);
    assert.equal(upstream.open, false, 'the upstream connection was closed');
    assert.ok(rssKb(gateway.child.pid) - rssBefore < 8192, 'no buffering meanwhile');
    call.resume();
    const error = await within(5000, ended, 'the gRPC stream ending');
    assert.ok(error, 'the stream did not end with OK');
    assert.ok([grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED].includes(error.code), error.message);
  } finally {
    clients.close();
    await gateway.stop();
    await upstream.server.stop();
  }
});

test('kept-alive upstream connections take large answer heads every time (not only when new)', async () => {
  const upstream = await new FakeHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({
        id: 'big', object: 'chat.completion', created: 1, model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      });
      const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
      for (let i = 0; i < 60; i++) headers[`x-filler-${i}`] = 'v'.repeat(100);
      res.writeHead(200, headers);
      res.end(body);
    });
  }).start();
  const gateway = await startGateway({
    listen: LISTEN_ANY,
    providers: [{ name: 'big', type: 'openai', base_url: `${upstream.origin}/v1`, api_keys: ['k'] }],
  });
  try {
    const statuses = [];
    for (let i = 0; i < 10; i++) statuses.push((await postChat(gateway.httpUrl, chatRequest('m', 'hi'))).status);
    assert.deepEqual(statuses, Array(10).fill(200));
  } finally {
    await gateway.stop();
    await upstream.stop();
  }
});

// ------------------------------------------------------------ TLS upstream

function makeCertificate(dir) {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost',
  ], { stdio: 'ignore' });
  return { key: fs.readFileSync(key), cert: fs.readFileSync(cert), certPath: cert };
}

test('TLS upstreams go through the new client: verified against ca_file, refused when untrusted', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aigw-tls-'));
  const { key, cert, certPath } = makeCertificate(dir);
  const server = https.createServer({ key, cert }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write(sseEvent(chatChunk('tls', 'm', { role: 'assistant', content: '' })));
      res.write(sseEvent(chatChunk('tls', 'm', { content: 'over TLS' })));
      res.write(sseEvent(chatChunk('tls', 'm', {}, 'stop')));
      res.end(sseEvent('[DONE]'));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  const gateway = await startGateway({
    listen: LISTEN_ANY,
    providers: [
      { name: 'trusted', type: 'openai', base_url: `https://localhost:${port}/v1`, api_keys: ['k'], ca_file: certPath, models: ['good'] },
      { name: 'untrusted', type: 'openai', base_url: `https://localhost:${port}/v1`, api_keys: ['k'], models: ['bad'] },
      // The certificate names localhost, not 127.0.0.1.
      { name: 'wrong-name', type: 'openai', base_url: `https://127.0.0.1:${port}/v1`, api_keys: ['k'], ca_file: certPath, models: ['misnamed'] },
    ],
  });
  try {
    for (let i = 0; i < 3; i++) {
      const response = await postChat(gateway.httpUrl, chatRequest('good', 'hi', { stream: true }));
      assert.equal(response.status, 200);
      const events = await readSse(response);
      assert.match(JSON.stringify(events), /over TLS/);
    }
    const bad = await postChat(gateway.httpUrl, chatRequest('bad', 'hi'));
    assert.equal(bad.status, 502);
    assert.match((await bad.json()).error.message, /TLS handshake failed/);
    const misnamed = await postChat(gateway.httpUrl, chatRequest('misnamed', 'hi'));
    assert.equal(misnamed.status, 502);
  } finally {
    await gateway.stop();
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
