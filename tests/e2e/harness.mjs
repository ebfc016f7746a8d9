// Starts the real aigw binary with a temporary config and offers the small
// client helpers shared by the end-to-end test files.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import YAML from 'yaml';
import { SPECIAL_MODELS } from './fake_upstream.mjs';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const AIGW_BIN = process.env.AIGW_BIN || path.join(REPO_ROOT, 'bazel-bin/server/aigw');
export const PROVIDER_KEYS = ['sk-fake-key-1', 'sk-fake-key-2'];

const STARTUP_TIMEOUT_MS = 20_000;
// The values stop at a space or, in a JSON log line, at the closing quote.
const LISTENING_LINE = /aigw listening http=([^\s"]+) grpc=([^\s"]+) admin=([^\s"]+)/;

// Every aigw started by this process, with its temp dir: killed and removed on exit even if a test forgot.
const running = new Map();
function killAll() {
  for (const [child, dir] of running) {
    child.kill('SIGKILL');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + os.constants.signals[signal]);
  });
}

// Most files test one upstream call per request: unless a config says
// otherwise, no retries, and a breaker that never opens on the failures the
// tests provoke on purpose (the routing tests set both explicitly).
const TEST_DEFAULTS = { retries: { max_attempts: 1 }, circuit_breaker: { failures: 1000000 } };

function writeTempConfig(config) {
  if (typeof config !== 'string') config = { ...TEST_DEFAULTS, ...config };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aigw-e2e-'));
  const file = path.join(dir, 'config.yaml');
  // Every string double-quoted, keys too, so no YAML parser reads "~^x-(.*)$" or "1s" as anything else.
  const text = typeof config === 'string' ? config : YAML.stringify(config, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'QUOTE_DOUBLE' });
  fs.writeFileSync(file, text);
  return { dir, file };
}

// Starts aigw and resolves once it prints its listening line; `args` are
// extra flags (e.g. --log-level=error).
// Returns {httpUrl, grpcAddr, adminUrl, stderr(), stop(), child, exited}.
export async function startGateway(config, { args = [] } = {}) {
  const { dir, file } = writeTempConfig(config);
  const child = spawn(AIGW_BIN, [`--config=${file}`, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.set(child, dir);
  let stderr = '';
  child.stderr.setEncoding('utf8');

  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const configText = fs.readFileSync(file, 'utf8');
  const ports = await new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
      reject(new Error(`aigw failed to start: ${why}\n--- config ---\n${configText}--- stderr ---\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`no listening line within ${STARTUP_TIMEOUT_MS} ms`), STARTUP_TIMEOUT_MS);
    child.stderr.on('data', (text) => {
      stderr += text;
      const match = stderr.match(LISTENING_LINE);
      if (match && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({ http: match[1], grpc: match[2], admin: match[3] });
      }
    });
    child.once('error', (err) => fail(err.message));
    exited.then(({ code, signal }) => fail(`exited with code ${code} signal ${signal}`));
  });

  return {
    httpUrl: `http://${ports.http}`,
    grpcAddr: ports.grpc,
    adminUrl: `http://${ports.admin}`,
    stderr: () => stderr,
    // For lifecycle tests that signal the process themselves.
    child,
    exited,
    // Asks aigw to stop (SIGTERM, then SIGKILL after 5 s). Fails if aigw had
    // exited on its own or died of another signal: the gateway must never crash.
    async stop() {
      const exitedEarly = child.exitCode !== null || child.signalCode !== null;
      let timer;
      if (!exitedEarly) {
        child.kill('SIGTERM');
        timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      }
      const { code, signal } = await exited;
      clearTimeout(timer);
      running.delete(child);
      fs.rmSync(dir, { recursive: true, force: true });
      const stoppedByUs = ['SIGTERM', 'SIGKILL'].includes(signal) || [0, 143].includes(code);
      if (exitedEarly || !stoppedByUs) {
        throw new Error(`aigw exited during the tests (code ${code}, signal ${signal})\n--- stderr (tail) ---\n${stderr.slice(-4000)}`);
      }
    },
  };
}

// Runs aigw with a config that must be rejected; resolves with {code, signal, stderr, stdout}.
export async function runGatewayExpectingExit(args, { config, timeoutMs = 10_000 } = {}) {
  const temp = config === undefined ? null : writeTempConfig(config);
  const argv = temp ? [...args, `--config=${temp.file}`] : args;
  const child = spawn(AIGW_BIN, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.set(child, temp?.dir);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (text) => (stdout += text));
  child.stderr.on('data', (text) => (stderr += text));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await new Promise((resolve) => child.once('exit', (c, s) => resolve({ code: c, signal: s })));
  clearTimeout(timer);
  running.delete(child);
  if (temp) fs.rmSync(temp.dir, { recursive: true, force: true });
  return { code, signal, stdout, stderr };
}

// A port on 127.0.0.1 that nothing listens on (bound once, then released).
export async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// The config most test files use: the fake OpenAI upstream, an unreachable
// OpenAI-compatible provider and the echo provider.
//
// Client model names: "gpt-4o" -> chat-basic (exact), "chat-*" kept as-is
// (prefix), "x-NAME" -> chat-NAME (regex), the SPECIAL_MODELS as-is,
// "unreachable" -> a closed port, "echo*" -> echo.
// The models answered with 401/429 go to a provider of their own with many
// keys: the gateway takes a rejected key out of rotation and cools a
// rate-limited one down, which must not starve the other tests.
export const KEY_POISONING_MODELS = ['http-429', 'http-401-leak'];
export async function standardConfig(upstream, { readTimeout = '1500ms', echoDelayMs = 20, maxBodyBytes = 65536 } = {}) {
  return {
    listen: { http: '127.0.0.1:0', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' },
    limits: { max_body_bytes: maxBodyBytes },
    providers: [
      {
        name: 'fake-openai-rejecting',
        type: 'openai',
        base_url: upstream.baseUrl,
        api_keys: Array.from({ length: 32 }, (_, i) => `sk-fake-key-r${i}`),
        timeouts: { connect: '1s', read: readTimeout },
        models: KEY_POISONING_MODELS,
      },
      {
        name: 'fake-openai',
        type: 'openai',
        base_url: upstream.baseUrl,
        api_keys: PROVIDER_KEYS,
        timeouts: { connect: '1s', read: readTimeout },
        model_mapping: { 'gpt-4o': 'chat-basic', 'chat-*': '', '~^x-(.*)$': 'chat-$1' },
        models: ['extra-model', ...SPECIAL_MODELS],
      },
      {
        name: 'dead-upstream',
        type: 'openai',
        base_url: `http://127.0.0.1:${await closedPort()}/v1`,
        api_keys: ['sk-dead-key'],
        timeouts: { connect: '1s', read: readTimeout },
        models: ['unreachable'],
      },
      { name: 'echo', type: 'echo', delay_ms: echoDelayMs, model_mapping: { 'echo*': '' } },
    ],
  };
}

// ---------------------------------------------------------------- REST helpers

export function chatRequest(model, content, extra = {}) {
  return { model, messages: [{ role: 'user', content }], ...extra };
}

// POST /v1/chat/completions with raw fetch; `body` may be an object or a raw string.
export function postChat(httpUrl, body, { headers = {}, signal } = {}) {
  return fetch(`${httpUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer client-key', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
}

// The data payload of one SSE event block, or null if it carries none.
function eventData(event) {
  const lines = event.split('\n').filter((line) => line.startsWith('data:'));
  return lines.length ? lines.map((line) => line.slice(5).replace(/^ /, '')).join('\n') : null;
}

// The data payloads of a complete SSE body.
export function parseSseText(text) {
  return text
    .replace(/\r\n/g, '\n')
    .split('\n\n')
    .map(eventData)
    .filter((data) => data !== null);
}

// Yields the data payload of each SSE event of a fetch Response, as it arrives.
export async function* sseData(response) {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of response.body) {
    buffer += decoder.decode(bytes, { stream: true }).replace(/\r\n/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const data = eventData(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (data !== null) yield data;
    }
  }
  assert.equal(buffer.trim(), '', 'stream ended inside an SSE event');
}

// Reads a whole SSE response: {chunks: parsed JSON events, done: saw [DONE], afterDone: events after it}.
export async function readSse(response) {
  const chunks = [];
  let done = false;
  let afterDone = 0;
  for await (const data of sseData(response)) {
    if (done) afterDone++;
    else if (data === '[DONE]') done = true;
    else chunks.push(JSON.parse(data));
  }
  return { chunks, done, afterDone };
}

// Text of choice 0 across stream chunks.
export function deltaText(chunks) {
  return chunks
    .flatMap((chunk) => chunk.choices ?? [])
    .filter((choice) => choice.index === 0)
    .map((choice) => choice.delta?.content ?? '')
    .join('');
}

// Asserts an OpenAI-shaped error response and returns its `error` object.
export async function assertOpenAIError(response, status) {
  const text = await response.text();
  assert.equal(response.status, status, `expected HTTP ${status}, got ${response.status}: ${text}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const body = JSON.parse(text);
  assert.deepEqual(Object.keys(body), ['error'], `error body: ${text}`);
  const { error } = body;
  assert.equal(typeof error.message, 'string');
  assert.ok(error.message.length > 0, 'error.message is empty');
  assert.equal(typeof error.type, 'string');
  assert.ok('param' in error, `error.param missing: ${text}`);
  assert.ok('code' in error, `error.code missing: ${text}`);
  return error;
}

// ---------------------------------------------------------------- gRPC helpers

const GRPC_LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [path.join(REPO_ROOT, 'proto'), path.join(REPO_ROOT, 'tests/e2e/protos'), '/usr/include'],
};

export function loadGrpcPackage(file) {
  return grpc.loadPackageDefinition(protoLoader.loadSync(file, GRPC_LOADER_OPTIONS));
}

// Clients for aigw.v1.ChatCompletions, grpc.health.v1.Health and server reflection (v1alpha and v1).
export function grpcClients(address) {
  const credentials = grpc.credentials.createInsecure();
  const clients = {
    chat: new (loadGrpcPackage('aigw/v1/chat.proto').aigw.v1.ChatCompletions)(address, credentials),
    health: new (loadGrpcPackage('health.proto').grpc.health.v1.Health)(address, credentials),
    reflection: new (loadGrpcPackage('reflection.proto').grpc.reflection.v1alpha.ServerReflection)(address, credentials),
    reflectionV1: new (loadGrpcPackage('reflection_v1.proto').grpc.reflection.v1.ServerReflection)(address, credentials),
  };
  return { ...clients, close: () => Object.values(clients).forEach((client) => client.close()) };
}

// Rejects if `promise` takes longer than `ms`.
export function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
