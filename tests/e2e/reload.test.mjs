// Hot reload under load: 300 streams in flight (echo and a slowly streaming
// fake upstream) while the config is reloaded by SIGHUP, by a change of the
// file and by POST /reload (that one invalid). Every stream must finish
// intact on the snapshot it started with; new requests follow each new
// model mapping; a changed listen address is bound anew while the old
// listener finishes its streams.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import YAML from 'yaml';
import { startFlakyUpstream } from './fake_flaky.mjs';
import { closedPort, deltaText, postChat, readSse, startGateway, within } from './harness.mjs';

const WORDS = 25; // words per in-flight stream
const WORD_DELAY_MS = 250; // so a stream lasts about 6.5 s
const RELOADED_LINE = /config reloaded \(([^)]*)\); listening http=([^\s"]+) grpc=([^\s"]+) admin=([^\s"]+)/g;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Generation `gen` of the config: "flip" goes to echo-a (odd) or echo-b
// (even); "slow" goes to the fake upstream as model "slow-v<gen>".
function reloadConfig({ gen, up, http = '127.0.0.1:0' }) {
  return {
    listen: { http, grpc: '127.0.0.1:0', admin: '127.0.0.1:0' },
    retries: { max_attempts: 1, budget: '30s' },
    circuit_breaker: { failures: 1000, cooldown: '30s' },
    providers: [
      { name: 'echo-a', type: 'echo', delay_ms: WORD_DELAY_MS, models: ['echo-a-direct'] },
      { name: 'echo-b', type: 'echo', delay_ms: WORD_DELAY_MS, models: ['echo-b-direct'] },
      {
        name: 'slow-up',
        type: 'openai',
        base_url: up.baseUrl,
        api_keys: ['sk-slow'],
        timeouts: { connect: '1s', read: '5s' },
        model_mapping: { slow: `slow-v${gen}` },
      },
    ],
    routes: [
      { models: ['flip'], providers: [gen % 2 === 1 ? 'echo-a' : 'echo-b'] },
      { models: ['slow'], providers: ['slow-up'] },
    ],
  };
}

// The aigw child of this process listening on `port`, found through /proc
// (the harness keeps the process to itself): {pid, configFile}.
function gatewayProcess(port) {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(table)) continue;
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 9 && fields[3] === '0A' && fields[1].endsWith(`:${hexPort}`)) inodes.add(`socket:[${fields[9]}]`);
    }
  }
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const fds = fs.readdirSync(`/proc/${pid}/fd`);
      if (!fds.some((fd) => inodes.has(fs.readlinkSync(`/proc/${pid}/fd/${fd}`)))) continue;
      const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const configFile = args.find((a) => a.startsWith('--config=')).slice('--config='.length);
      return { pid: Number(pid), configFile };
    } catch {
      // a process that went away meanwhile
    }
  }
  throw new Error(`no aigw child of ${process.pid} listens on port ${port}`);
}

// Replaces the config file at once (rename), as an editor or deploy would.
function writeConfig(file, config) {
  const text = typeof config === 'string' ? config : YAML.stringify(config, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'QUOTE_DOUBLE' });
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

function count(text, pattern) {
  return (text.match(new RegExp(pattern.source, 'g')) ?? []).length;
}

// Resolves once `pattern` occurs more than `already` times in aigw's stderr.
async function waitForLog(gateway, pattern, already, what, timeoutMs = 5000) {
  const deadline = performance.now() + timeoutMs;
  while (count(gateway.stderr(), pattern) <= already) {
    if (performance.now() > deadline) throw new Error(`${what}: not logged within ${timeoutMs} ms\n${gateway.stderr().slice(-2000)}`);
    await sleep(20);
  }
}

function reloadedLines(gateway) {
  return [...gateway.stderr().matchAll(RELOADED_LINE)].map((m) => ({ trigger: m[1], http: m[2], grpc: m[3], admin: m[4] }));
}

function streamWords(id, words = WORDS) {
  return [`s${id}`, ...Array.from({ length: words - 1 }, (_, i) => `w${i + 1}`)].join(' ');
}

// Opens a stream and reads it to the end. `opened` resolves at the headers.
function openStream(httpUrl, model, id, words = WORDS) {
  const content = streamWords(id, words);
  let markOpened;
  const opened = new Promise((resolve) => (markOpened = resolve));
  const finished = (async () => {
    const response = await postChat(httpUrl, { model, stream: true, messages: [{ role: 'user', content }] });
    const provider = response.headers.get('x-aigw-provider');
    markOpened();
    if (response.status !== 200) return { id, model, content, status: response.status, body: await response.text(), endedAt: performance.now() };
    const { chunks, done, afterDone } = await readSse(response);
    return {
      id,
      model,
      content,
      status: 200,
      provider,
      text: deltaText(chunks.filter((c) => !c.error)),
      errors: chunks.filter((c) => c.error),
      done,
      afterDone,
      endedAt: performance.now(),
    };
  })();
  finished.catch(() => markOpened());
  return { opened, finished };
}

// A quick non-streaming call: which provider and upstream model answer now.
async function probe(httpUrl, model) {
  const response = await postChat(httpUrl, { model, messages: [{ role: 'user', content: 'probe' }] });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return { provider: response.headers.get('x-aigw-provider'), text: body.choices[0].message.content };
}

async function assertGeneration(httpUrl, gen, when) {
  const flip = await probe(httpUrl, 'flip');
  assert.equal(flip.provider, gen % 2 === 1 ? 'echo-a' : 'echo-b', `flip ${when}`);
  assert.equal(flip.text, 'probe');
  const slow = await probe(httpUrl, 'slow');
  assert.equal(slow.provider, 'slow-up');
  assert.equal(slow.text, `slow-up/slow-v${gen} probe`, `slow ${when}`);
}

function assertIntact(result, expectedProvider, expectedPrefix) {
  const what = `stream ${result.id} (${result.model})`;
  assert.equal(result.status, 200, `${what}: ${result.body}`);
  assert.deepEqual(result.errors, [], `${what} got an error event`);
  assert.equal(result.done, true, `${what} has no [DONE]`);
  assert.equal(result.afterDone, 0);
  assert.equal(result.provider, expectedProvider, `${what} provider`);
  assert.equal(result.text, expectedPrefix + result.content, `${what} text`);
}

test('300 streams survive SIGHUP, file-change and POST /reload (invalid) reloads; new requests follow each new mapping', async () => {
  const up = await startFlakyUpstream({ name: 'slow-up', mode: { kind: 'ok', wordDelayMs: WORD_DELAY_MS } });
  const gateway = await startGateway(reloadConfig({ gen: 1, up }));
  try {
    const { pid, configFile } = gatewayProcess(Number(new URL(gateway.httpUrl).port));
    await assertGeneration(gateway.httpUrl, 1, 'at start');

    // 200 echo streams and 100 through the fake upstream, all on generation 1.
    const streams = Array.from({ length: 300 }, (_, i) => openStream(gateway.httpUrl, i < 200 ? 'flip' : 'slow', i));
    await within(15_000, Promise.all(streams.map((s) => s.opened)), 'opening 300 streams');
    const openedAt = performance.now();

    // 1. SIGHUP (the watcher also sees the new file: wait for both reloads).
    let fileChanges = count(gateway.stderr(), /config reloaded \(config file changed\)/);
    writeConfig(configFile, reloadConfig({ gen: 2, up }));
    process.kill(pid, 'SIGHUP');
    await waitForLog(gateway, /config reloaded \(SIGHUP\)/, 0, 'SIGHUP reload');
    await waitForLog(gateway, /config reloaded \(config file changed\)/, fileChanges, 'watcher reload of generation 2');
    await assertGeneration(gateway.httpUrl, 2, 'after SIGHUP');

    // 2. A change of the file alone.
    fileChanges = count(gateway.stderr(), /config reloaded \(config file changed\)/);
    writeConfig(configFile, reloadConfig({ gen: 3, up }));
    await waitForLog(gateway, /config reloaded \(config file changed\)/, fileChanges, 'file-change reload', 3000);
    await assertGeneration(gateway.httpUrl, 3, 'after the file changed');

    // 3. An invalid config: POST /reload says 400, the watcher rejects it too; generation 3 serves on.
    const invalid = reloadConfig({ gen: 4, up });
    invalid.routes[0].providers = ['nope'];
    const rejections = count(gateway.stderr(), /reload \(config file changed\) rejected/);
    writeConfig(configFile, invalid);
    const reload = await fetch(`${gateway.adminUrl}/reload`, { method: 'POST' });
    const reloadBody = await reload.json();
    assert.equal(reload.status, 400, JSON.stringify(reloadBody));
    assert.match(reloadBody.error.message, /routes\[0\]\.providers\[0\].*no provider is named 'nope'/);
    assert.match(gateway.stderr(), /reload \(POST \/reload\) rejected, the previous config keeps serving: routes\[0\]/);
    await assertGeneration(gateway.httpUrl, 3, 'after the rejected POST /reload');
    await waitForLog(gateway, /reload \(config file changed\) rejected/, rejections, 'watcher rejection');
    await assertGeneration(gateway.httpUrl, 3, 'after the watcher rejected the file');
    const lastReloadAt = performance.now();

    // Every stream was still open during all three reloads and ends intact on generation 1.
    const results = await within(30_000, Promise.all(streams.map((s) => s.finished)), 'the 300 streams');
    for (const result of results) {
      if (result.model === 'flip') assertIntact(result, 'echo-a', '');
      else assertIntact(result, 'slow-up', 'slow-up/slow-v1 ');
      assert.ok(result.endedAt > lastReloadAt, `stream ${result.id} ended ${Math.round(lastReloadAt - result.endedAt)} ms before the last reload`);
    }
    assert.ok(lastReloadAt - openedAt < WORDS * WORD_DELAY_MS, 'the reloads took longer than a stream');
    assert.equal(up.requests.filter((r) => r.model === 'slow-v1' && r.stream).length, 100);

    // A valid POST /reload after all that.
    writeConfig(configFile, reloadConfig({ gen: 4, up }));
    const valid = await fetch(`${gateway.adminUrl}/reload`, { method: 'POST' });
    assert.equal(valid.status, 200);
    assert.deepEqual(await valid.json(), { status: 'reloaded' });
    await assertGeneration(gateway.httpUrl, 4, 'after a valid POST /reload');
    assert.ok(reloadedLines(gateway).every((line) => line.http === new URL(gateway.httpUrl).host));
  } finally {
    await up.stop();
    await gateway.stop();
  }
});

// Resolves true if a new TCP connection to `port` is refused.
function refused(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err) => resolve(err.code === 'ECONNREFUSED'));
  });
}

test('a changed listen address is bound anew: the old port finishes its streams, new requests work on the new port', async () => {
  const up = await startFlakyUpstream({ name: 'slow-up', mode: { kind: 'ok', wordDelayMs: 100 } });
  const gateway = await startGateway(reloadConfig({ gen: 1, up }));
  try {
    const oldHost = new URL(gateway.httpUrl).host;
    const oldPort = Number(new URL(gateway.httpUrl).port);
    const { pid, configFile } = gatewayProcess(oldPort);
    const streams = Array.from({ length: 30 }, (_, i) => openStream(gateway.httpUrl, i < 20 ? 'flip' : 'slow', i));
    await within(10_000, Promise.all(streams.map((s) => s.opened)), 'opening 30 streams');

    const newPort = await closedPort();
    const before = reloadedLines(gateway).length;
    writeConfig(configFile, reloadConfig({ gen: 2, up, http: `127.0.0.1:${newPort}` }));
    process.kill(pid, 'SIGHUP');
    await waitForLog(gateway, /config reloaded \(SIGHUP\)/, 0, 'SIGHUP reload');
    const reloadedAt = performance.now();
    const line = reloadedLines(gateway).slice(before).find((l) => l.trigger === 'SIGHUP');
    assert.equal(line.http, `127.0.0.1:${newPort}`, 'the reload line gives the new http port');
    assert.equal(`http://${line.admin}`, gateway.adminUrl, 'admin did not move');
    assert.equal(line.grpc, gateway.grpcAddr, 'gRPC did not move');

    // New requests: the new port, with the new config; the old port takes no new connection.
    const newUrl = `http://${line.http}`;
    await assertGeneration(newUrl, 2, 'on the new port');
    assert.equal(await refused(oldPort), true, `the old port ${oldHost} still accepts connections`);

    const results = await within(20_000, Promise.all(streams.map((s) => s.finished)), 'the old port\'s streams');
    for (const result of results) {
      if (result.model === 'flip') assertIntact(result, 'echo-a', '');
      else assertIntact(result, 'slow-up', 'slow-up/slow-v1 ');
      assert.ok(result.endedAt > reloadedAt, `stream ${result.id} was over before the reload`);
    }
    const stream = await openStream(newUrl, 'flip', 'new', 3).finished;
    assertIntact(stream, 'echo-b', '');
  } finally {
    await up.stop();
    await gateway.stop();
  }
});

test('POST /reload that moves the admin port answers on the old one; the new admin port serves /readyz and /reload', async () => {
  const up = await startFlakyUpstream({ name: 'slow-up' });
  const gateway = await startGateway(reloadConfig({ gen: 1, up }));
  try {
    const oldAdminPort = Number(new URL(gateway.adminUrl).port);
    const { configFile } = gatewayProcess(Number(new URL(gateway.httpUrl).port));
    const newAdminPort = await closedPort();
    const moved = reloadConfig({ gen: 2, up });
    moved.listen.admin = `127.0.0.1:${newAdminPort}`;
    writeConfig(configFile, moved);
    const before = reloadedLines(gateway).length;
    const reload = await within(5000, fetch(`${gateway.adminUrl}/reload`, { method: 'POST' }), 'POST /reload');
    assert.equal(reload.status, 200);
    assert.deepEqual(await reload.json(), { status: 'reloaded' });
    const line = reloadedLines(gateway).slice(before).find((l) => l.trigger === 'POST /reload');
    assert.equal(line.admin, `127.0.0.1:${newAdminPort}`);
    assert.equal(`http://${line.http}`, gateway.httpUrl, 'http did not move');

    const newAdmin = `http://${line.admin}`;
    const ready = await fetch(`${newAdmin}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(await ready.text(), 'ready\n');
    await assertGeneration(gateway.httpUrl, 2, 'after moving the admin port');
    assert.equal(await refused(oldAdminPort), true, 'the old admin port still accepts connections');
    const again = await fetch(`${newAdmin}/reload`, { method: 'POST' });
    assert.equal(again.status, 200);
    await again.text();
  } finally {
    await up.stop();
    await gateway.stop();
  }
});
