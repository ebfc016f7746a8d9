// A fake OpenAI-compatible upstream for the end-to-end tests.
//
// It replays the recorded OpenAI cassettes (go-vcr YAML) and adds a few
// misbehaving models. The upstream model name (after the gateway's
// model_mapping) selects what happens: "chat-streaming" replays
// chat-streaming.yaml, "hang" never answers, and so on (see SPECIAL_MODELS).
// Bodies are written in small, irregular pieces so that the gateway sees
// SSE events, JSON documents and UTF-8 sequences split at arbitrary bytes.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import {
  FakeHttpServer, chatChunk, makeRandom, openaiError, readJsonBody, sendInPieces, sleep, sseEvent,
} from './fake_common.mjs';

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

const sseChunk = (model, content, finishReason = null) => sseEvent(chatChunk('chatcmpl-fake', model, { content }, finishReason));

export class FakeUpstream extends FakeHttpServer {
  constructor({ seed = 1234 } = {}) {
    super((req, res) => this.#handle(req, res));
    this.random = makeRandom(seed);
    this.requests = []; // {method, path, headers, body, receivedAt}
    this.closes = []; // {model, closedAt}: when a scripted stream's connection closed
    this.closeWaiters = [];
  }

  async start() {
    await super.start();
    this.baseUrl = `${this.origin}/v1`;
    return this;
  }

  clear() {
    this.requests.length = 0;
    this.closes.length = 0;
  }

  // Requests received for one upstream model name.
  requestsFor(model) {
    return this.requests.filter((r) => r.body?.model === model);
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
    const { body } = await readJsonBody(req);
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
  #send(res, status, contentType, body, withContentLength = true) {
    const headers = { 'Content-Type': contentType };
    if (withContentLength) headers['Content-Length'] = Buffer.byteLength(body, 'utf8');
    return sendInPieces(res, this.random, status, headers, body);
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

export async function startFakeUpstream(options) {
  return new FakeUpstream(options).start();
}
