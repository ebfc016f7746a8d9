// A fake OpenAI-compatible upstream for the end-to-end tests.
//
// It replays the recorded OpenAI cassettes (go-vcr YAML) and adds a few
// misbehaving models. The upstream model name (after the gateway's
// model_mapping) selects what happens: "chat-streaming" replays
// chat-streaming.yaml, "hang" never answers, and so on (see SPECIAL_MODELS).
// Bodies are written in small, irregular pieces so that the gateway sees
// SSE events, JSON documents and UTF-8 sequences split at arbitrary bytes.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// CI lays shared/ beside the checkout; a developer's machine has it at the same relative place.
export const FIXTURES_DIR =
  process.env.AIGW_FIXTURES || path.resolve(REPO_ROOT, '../shared/fixtures/openai-recorded');

// Model names with scripted behaviour instead of a cassette.
export const SPECIAL_MODELS = [
  'slow-forever', // an SSE chunk every 100 ms until the peer closes
  'stall-after-first', // one SSE chunk, then silence
  'hang', // accepts the request and never answers
  'http-500',
  'http-429',
  'http-401-leak', // 401 whose message quotes the API key it received
  'break-mid-stream', // a few SSE chunks, then the socket is destroyed
];

const cassetteCache = new Map();

// Reads one cassette: the recorded request body and the recorded response.
export function loadCassette(name) {
  if (!cassetteCache.has(name)) {
    const file = path.join(FIXTURES_DIR, `${name}.yaml`);
    const doc = YAML.parse(fs.readFileSync(file, 'utf8'));
    const { request, response } = doc.interactions[0];
    const headers = response.headers || {};
    cassetteCache.set(name, {
      requestBody: JSON.parse(request.body),
      status: response.code,
      contentType: (headers['Content-Type'] || ['application/json'])[0],
      hasContentLength: 'Content-Length' in headers,
      body: response.body,
    });
  }
  return cassetteCache.get(name);
}

export function cassetteExists(name) {
  return /^[a-z0-9-]+$/.test(name) && fs.existsSync(path.join(FIXTURES_DIR, `${name}.yaml`));
}

// The JSON objects of a recorded SSE body, without the [DONE] sentinel.
export function cassetteChunks(name) {
  return loadCassette(name)
    .body.split('\n')
    .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
    .map((line) => JSON.parse(line.slice('data: '.length)));
}

// The assistant text of a cassette, streamed or not.
export function cassetteText(name) {
  const cassette = loadCassette(name);
  if (cassette.contentType.startsWith('text/event-stream')) {
    return cassetteChunks(name)
      .flatMap((chunk) => chunk.choices)
      .map((choice) => choice.delta.content ?? '')
      .join('');
  }
  return JSON.parse(cassette.body).choices[0].message.content;
}

// Deterministic pseudo-random numbers (mulberry32), so a failing split is reproducible.
function makeRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const nextTick = () => new Promise((resolve) => setImmediate(resolve));

function sseChunk(model, content, finishReason = null) {
  const chunk = {
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: 1755137933,
    model,
    choices: [{ index: 0, delta: { content }, finish_reason: finishReason }],
  };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

function openaiError(message, type, code) {
  return JSON.stringify({ error: { message, type, param: null, code } });
}

export class FakeUpstream {
  constructor({ seed = 1234 } = {}) {
    this.random = makeRandom(seed);
    this.requests = []; // {method, path, headers, body, receivedAt}
    this.closes = []; // {model, closedAt}: when a scripted stream's connection closed
    this.closeWaiters = [];
    this.sockets = new Set();
    this.server = http.createServer((req, res) => this.#handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    this.baseUrl = `http://127.0.0.1:${this.port}/v1`;
    return this;
  }

  async stop() {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  clear() {
    this.requests.length = 0;
    this.closes.length = 0;
  }

  // Requests received for one upstream model name.
  requestsFor(model) {
    return this.requests.filter((r) => r.body?.model === model);
  }

  lastRequest() {
    return this.requests.at(-1);
  }

  // Resolves with the close record of the next scripted stream of `model` to close.
  waitForClose(model, timeoutMs) {
    const existing = this.closes.find((c) => c.model === model);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`upstream connection for ${model} still open after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.closeWaiters.push({
        model,
        resolve: (record) => {
          clearTimeout(timer);
          resolve(record);
        },
      });
    });
  }

  #recordClose(model) {
    const record = { model, closedAt: performance.now() };
    this.closes.push(record);
    for (const waiter of this.closeWaiters.filter((w) => w.model === model)) waiter.resolve(record);
    this.closeWaiters = this.closeWaiters.filter((w) => w.model !== model);
  }

  async #handle(req, res) {
    const raw = await readAll(req);
    let body = null;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = null;
    }
    this.requests.push({
      method: req.method,
      path: req.url,
      headers: req.headers,
      body,
      receivedAt: performance.now(),
    });
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions' || !body) {
      this.#send(res, 404, 'application/json', openaiError(`fake upstream: no route ${req.method} ${req.url}`, 'invalid_request_error', null));
      return;
    }
    const model = String(body.model);
    if (SPECIAL_MODELS.includes(model)) {
      await this.#special(model, req, res);
    } else if (cassetteExists(model)) {
      const cassette = loadCassette(model);
      await this.#send(res, cassette.status, cassette.contentType, cassette.body, cassette.hasContentLength);
    } else {
      await this.#send(res, 404, 'application/json',
        openaiError(`The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found'));
    }
  }

  // Writes `body` in pieces of 1..40 bytes, yielding to the event loop between them.
  async #send(res, status, contentType, body, withContentLength = true) {
    const bytes = Buffer.from(body, 'utf8');
    const headers = { 'Content-Type': contentType };
    if (withContentLength) headers['Content-Length'] = bytes.length;
    res.writeHead(status, headers);
    for (let offset = 0; offset < bytes.length && !res.destroyed; ) {
      const size = 1 + Math.floor(this.random() * 40);
      res.write(bytes.subarray(offset, offset + size));
      offset += size;
      if (this.random() < 0.1) await sleep(1);
      else await nextTick();
    }
    res.end();
  }

  async #special(model, req, res) {
    const onClose = () => this.#recordClose(model);
    switch (model) {
      case 'http-500':
        return this.#send(res, 500, 'application/json',
          openaiError('The server had an error while processing your request. Sorry about that!', 'server_error', null));
      case 'http-429':
        return this.#send(res, 429, 'application/json',
          openaiError('Rate limit reached for requests. Please try again in 20s.', 'requests', 'rate_limit_exceeded'));
      case 'http-401-leak': {
        const key = (req.headers.authorization || '').replace(/^Bearer /, '');
        return this.#send(res, 401, 'application/json',
          openaiError(`Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_request_error', 'invalid_api_key'));
      }
      case 'hang':
        req.socket.once('close', onClose);
        return; // never answer
      case 'slow-forever': {
        req.socket.once('close', onClose);
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        for (let i = 0; !res.destroyed && !req.socket.destroyed; i++) {
          res.write(sseChunk(model, `tick${i} `));
          await sleep(100);
        }
        return;
      }
      case 'stall-after-first':
        req.socket.once('close', onClose);
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write(sseChunk(model, 'first '));
        return; // then silence
      case 'break-mid-stream': {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        for (const word of ['one ', 'two ', 'three ']) {
          res.write(sseChunk(model, word));
          await sleep(20);
        }
        await sleep(50);
        req.socket.destroy();
        return;
      }
      default:
        throw new Error(`unhandled special model ${model}`);
    }
  }
}

function readAll(stream) {
  return new Promise((resolve, reject) => {
    const parts = [];
    stream.on('data', (part) => parts.push(part));
    stream.on('end', () => resolve(Buffer.concat(parts)));
    stream.on('error', reject);
  });
}

export async function startFakeUpstream(options) {
  return new FakeUpstream(options).start();
}
