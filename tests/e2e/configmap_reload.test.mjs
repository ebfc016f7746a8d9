// A Kubernetes ConfigMap update, as the kubelet performs it on a mounted
// volume: the files live in a timestamped directory, `..data` is a symlink to
// it, `aigw.yaml` is a symlink to `..data/aigw.yaml`; an update writes a new
// timestamped directory, points `..data_tmp` at it and renames `..data_tmp`
// over `..data` (one atomic rename), then deletes the old directory. aigw
// (started once on <volume>/aigw.yaml) must pick the new config up within a
// few seconds, in the same process, while a stream that started before keeps
// going and completes on the config it started with.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { AIGW_BIN, deltaText, postChat, sseData } from './harness.mjs';

const LISTENING_LINE = /aigw listening http=([^\s"]+) grpc=([^\s"]+) admin=([^\s"]+)/;
const WORDS = Array.from({ length: 24 }, (_, i) => `word${i}`);
const DELAY_MS = 150; // the held stream lasts about 3.6 s

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function configFor(generation) {
  return YAML.stringify({
    listen: { http: '127.0.0.1:0', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' },
    shutdown: { grace: '5s' },
    providers: [{ name: 'echo', type: 'echo', delay_ms: DELAY_MS, models: ['held', `model-${generation}`] }],
  });
}

// The kubelet's AtomicWriter, step by step.
class ConfigMapVolume {
  constructor(dir) {
    this.dir = dir;
    this.current = null;
    this.serial = 0;
  }

  write(files) {
    const stamp = `..2026_12_02_16_00_${String(this.serial++).padStart(2, '0')}.${process.pid}${this.serial}`;
    fs.mkdirSync(path.join(this.dir, stamp));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(this.dir, stamp, name), text);
    fs.symlinkSync(stamp, path.join(this.dir, '..data_tmp'));
    fs.renameSync(path.join(this.dir, '..data_tmp'), path.join(this.dir, '..data'));
    for (const name of Object.keys(files)) {
      const link = path.join(this.dir, name);
      if (!fs.existsSync(link)) fs.symlinkSync(path.join('..data', name), link);
    }
    if (this.current) fs.rmSync(path.join(this.dir, this.current), { recursive: true });
    this.current = stamp;
  }
}

let dir;
let volume;
let child;
let stderr = '';
let urls;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aigw-configmap-'));
  volume = new ConfigMapVolume(dir);
  volume.write({ 'aigw.yaml': configFor('v1') });
  assert.equal(fs.readlinkSync(path.join(dir, 'aigw.yaml')), '..data/aigw.yaml');

  child = spawn(AIGW_BIN, [`--config=${path.join(dir, 'aigw.yaml')}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.setEncoding('utf8');
  urls = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`aigw did not start:\n${stderr}`)), 20_000);
    child.stderr.on('data', (text) => {
      stderr += text;
      const match = stderr.match(LISTENING_LINE);
      if (match) {
        clearTimeout(timer);
        resolve({ http: `http://${match[1]}`, admin: `http://${match[3]}` });
      }
    });
    child.once('exit', (code, signal) => reject(new Error(`aigw exited (${code}, ${signal}):\n${stderr}`)));
  });
});

after(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function modelIds() {
  const response = await fetch(`${urls.http}/v1/models`);
  assert.equal(response.status, 200);
  return (await response.json()).data.map((m) => m.id).sort();
}

async function reloads() {
  const text = await (await fetch(`${urls.admin}/metrics`)).text();
  const count = (result) => Number(text.match(new RegExp(`^aigw_config_reloads_total\\{result="${result}"\\} (\\d+)`, 'm'))?.[1] ?? NaN);
  return { ok: count('ok'), error: count('error') };
}

async function waitFor(predicate, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await predicate()) return Date.now();
    if (Date.now() > deadline) throw new Error(`${what} not within ${ms} ms\n--- aigw stderr ---\n${stderr.slice(-3000)}`);
    await sleep(100);
  }
}

test('a ConfigMap update (..data swapped) is reloaded in place while a stream in flight completes', async () => {
  const pid = child.pid;
  assert.deepEqual(await modelIds(), ['held', 'model-v1']);
  const before = await reloads();

  // The stream that must survive the update.
  const response = await postChat(urls.http, { model: 'held', stream: true, messages: [{ role: 'user', content: WORDS.join(' ') }] });
  assert.equal(response.status, 200);
  const events = sseData(response);
  const first = await events.next();
  assert.equal(first.done, false);
  const chunks = [JSON.parse(first.value)];

  const swappedAt = Date.now();
  volume.write({ 'aigw.yaml': configFor('v2') });
  assert.equal(fs.readdirSync(dir).filter((name) => name.startsWith('..2026')).length, 1, 'the old directory is gone');

  const seenAt = await waitFor(async () => (await modelIds()).includes('model-v2'), 5_000, 'the new config');
  assert.ok(seenAt - swappedAt < 5_000);
  assert.deepEqual(await modelIds(), ['held', 'model-v2']);
  assert.equal(child.pid, pid);
  assert.equal(child.exitCode, null, 'no restart');
  const afterSwap = await reloads();
  assert.equal(afterSwap.ok, before.ok + 1, 'exactly one reload');
  assert.equal(afterSwap.error, before.error);
  assert.match(stderr, /config reloaded \(/);

  // The held stream: still open after the reload, and it ends normally.
  let done = false;
  for await (const data of events) {
    if (data === '[DONE]') {
      done = true;
      continue;
    }
    assert.equal(done, false, 'nothing after [DONE]');
    const chunk = JSON.parse(data);
    assert.equal(chunk.error, undefined, `the stream ended with an error: ${data}`);
    chunks.push(chunk);
  }
  assert.ok(done, 'the stream finished with [DONE]');
  assert.ok(Date.now() - swappedAt > DELAY_MS * 4, 'the stream was still running at the reload');
  assert.equal(deltaText(chunks).trim().split(/\s+/).join(' '), WORDS.join(' '));
  assert.equal(chunks.findLast((c) => c.choices?.[0]?.finish_reason)?.choices[0].finish_reason, 'stop');
});

test('a broken ConfigMap update is rejected and the previous config keeps serving; the fix is picked up', async () => {
  const pid = child.pid;
  const before = await reloads();
  volume.write({ 'aigw.yaml': 'providers:\n  - name: echo\n    type: nope\n' });
  await waitFor(async () => (await reloads()).error === before.error + 1, 5_000, 'the rejected reload');
  assert.match(stderr, /rejected, the previous config keeps serving: providers\[0\]\.type/);
  assert.deepEqual(await modelIds(), ['held', 'model-v2']);
  const ready = await fetch(`${urls.admin}/readyz`);
  assert.equal(ready.status, 200, 'still ready on the previous config');
  await ready.text();

  volume.write({ 'aigw.yaml': configFor('v3') });
  await waitFor(async () => (await modelIds()).includes('model-v3'), 5_000, 'the fixed config');
  assert.equal(child.pid, pid);
  assert.equal(child.exitCode, null);
});
