// A fake OpenAI-compatible upstream that fails on command, for the routing,
// reload and context end-to-end tests.
//
// What it does with a request is its "behaviour":
//   - chosen by the upstream model name "x-<behaviour>" (e.g. "x-http-503"),
//   - else by `upstream.mode`, which the test switches at any time: a
//     behaviour, or a function (request record) => behaviour, e.g. to answer
//     429 for one API key only.
// A behaviour is a name or {kind, ...options}:
//   ok            the answer, streamed or not as asked; option wordDelayMs
//                 (streams: the pause before each word)
//   http-NNN      that HTTP status with an OpenAI error body (any NNN);
//                 option retryAfter: seconds sent as Retry-After
//   reset         the socket is destroyed before any answer
//   hang          never answers (no status line)
//   stall-headers 200 and its headers, then silence
//   stall-mid     a stream: role and two words, then silence
//   break-mid     a stream: role and two words, then the socket is destroyed
//   forever       a stream: a word every 100 ms until the peer leaves
// The answer's text is "<name>/<upstream model>" followed by the words of
// the last user message, so a test sees who answered and with which model.
// Bodies go out in pieces of 1..40 bytes with event-loop turns between them.
// Every request is recorded, with its API key (Authorization header).
import {
  FakeHttpServer, LISTEN_ANY, chatChunk, makeRandom, openaiError, readJsonBody, sendInPieces, sleep, sseEvent, writeInPieces,
} from './fake_common.mjs';
import { startGateway } from './harness.mjs';

function messageText(message) {
  if (typeof message?.content === 'string') return message.content;
  if (Array.isArray(message?.content)) {
    return message.content.filter((p) => p.type === 'text').map((p) => p.text).join(' ');
  }
  return '';
}

export class FlakyUpstream extends FakeHttpServer {
  constructor({ name = 'flaky', seed = 7, mode = 'ok' } = {}) {
    super((req, res) => {
      this.#handle(req, res).catch(() => req.socket.destroy());
    });
    this.name = name;
    this.mode = mode;
    this.random = makeRandom(seed);
    this.requests = []; // {path, method, auth, key, model, stream, body, receivedAt, behaviour}
  }

  async start() {
    await super.start();
    this.baseUrl = `${this.origin}/v1`;
    return this;
  }

  clear() {
    this.requests.length = 0;
  }

  // The API keys of the recorded requests, in order.
  keys() {
    return this.requests.map((r) => r.key);
  }

  #behaviour(record) {
    const match = /^x-(.+)$/.exec(record.model ?? '');
    let behaviour = match ? match[1] : typeof this.mode === 'function' ? this.mode(record) : this.mode;
    if (typeof behaviour === 'string') behaviour = { kind: behaviour };
    return behaviour;
  }

  async #handle(req, res) {
    const { body } = await readJsonBody(req);
    const auth = req.headers.authorization ?? '';
    const record = {
      method: req.method,
      path: req.url,
      auth,
      key: auth.replace(/^Bearer /, ''),
      model: body?.model,
      stream: body?.stream === true,
      body,
      receivedAt: performance.now(),
    };
    this.requests.push(record);
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions' || !body) {
      return this.#send(res, 404, 'application/json', openaiError(`no route ${req.method} ${req.url}`, 'invalid_request_error', null));
    }
    const behaviour = this.#behaviour(record);
    record.behaviour = behaviour.kind;
    const words = [`${this.name}/${body.model}`, ...messageText(body.messages?.filter((m) => m.role === 'user').at(-1)).split(/\s+/).filter(Boolean)];
    const status = /^http-(\d{3})$/.exec(behaviour.kind);
    if (status) {
      const code = Number(status[1]);
      const headers = behaviour.retryAfter !== undefined ? { 'Retry-After': String(behaviour.retryAfter) } : {};
      const type = code === 429 ? 'rate_limit_exceeded' : code >= 500 ? 'server_error' : 'invalid_request_error';
      return this.#send(res, code, 'application/json', openaiError(`${this.name} says HTTP ${code}`, type, type), headers);
    }
    switch (behaviour.kind) {
      case 'ok':
        if (record.stream) return this.#stream(req, res, body, words, behaviour.wordDelayMs ?? 0);
        return this.#send(res, 200, 'application/json', JSON.stringify(completion(body.model, words.join(' '))));
      case 'reset':
        req.socket.destroy();
        return;
      case 'hang':
        return;
      case 'stall-headers':
        res.writeHead(200, { 'Content-Type': record.stream ? 'text/event-stream' : 'application/json' });
        res.flushHeaders();
        return;
      case 'stall-mid':
      case 'break-mid':
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        await this.#write(res, sseEvent(flakyChunk(body.model, { role: 'assistant', content: '' })));
        for (const word of words.slice(0, 2)) {
          await this.#write(res, sseEvent(flakyChunk(body.model, { content: `${word} ` })));
          await sleep(20);
        }
        if (behaviour.kind === 'break-mid') {
          await sleep(30);
          req.socket.destroy();
        }
        return;
      case 'forever':
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        await this.#write(res, sseEvent(flakyChunk(body.model, { role: 'assistant', content: '' })));
        for (let i = 0; !res.destroyed && !req.socket.destroyed; i++) {
          await this.#write(res, sseEvent(flakyChunk(body.model, { content: `tick${i} ` })));
          await sleep(100);
        }
        return;
      default:
        throw new Error(`fake_flaky: unknown behaviour ${behaviour.kind}`);
    }
  }

  // An OpenAI stream: role, one chunk per word, finish_reason, usage, [DONE].
  async #stream(req, res, body, words, wordDelayMs) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    const model = body.model;
    await this.#write(res, sseEvent(flakyChunk(model, { role: 'assistant', content: '' })));
    for (let i = 0; i < words.length; i++) {
      if (wordDelayMs > 0) await sleep(wordDelayMs);
      if (res.destroyed) return;
      await this.#write(res, sseEvent(flakyChunk(model, { content: i === 0 ? words[i] : ` ${words[i]}` })));
    }
    await this.#write(res, sseEvent(flakyChunk(model, {}, 'stop')));
    if (body.stream_options?.include_usage) {
      await this.#write(res, sseEvent({ ...flakyChunk(model, {}), choices: [], usage: usage(words.length) }));
    }
    await this.#write(res, 'data: [DONE]\n\n');
    res.end();
  }

  #send(res, status, contentType, text, extraHeaders = {}) {
    const headers = { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text, 'utf8'), ...extraHeaders };
    return sendInPieces(res, this.random, status, headers, text);
  }

  #write(res, text) {
    return writeInPieces(res, text, this.random);
  }
}

const flakyChunk = (model, delta, finishReason) => chatChunk('chatcmpl-flaky', model, delta, finishReason);

function usage(completionTokens) {
  return { prompt_tokens: 5, completion_tokens: completionTokens, total_tokens: 5 + completionTokens };
}

function completion(model, content) {
  return {
    id: 'chatcmpl-flaky',
    object: 'chat.completion',
    created: 1755137933,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: usage(content.split(' ').length),
  };
}

export async function startFlakyUpstream(options) {
  return new FlakyUpstream(options).start();
}

// ------------------------------------------------------------ test configs

// An openai-type provider in front of fake_flaky `up`. It lists a model of
// its own only, so it serves nothing by accident; routes name it explicitly.
export function flakyProvider(up, extra = {}) {
  return {
    name: up.name,
    type: 'openai',
    base_url: up.baseUrl,
    api_keys: [`sk-${up.name}`],
    timeouts: { connect: '1s', read: '5s' },
    models: [`only-${up.name}`],
    ...extra,
  };
}

// A config with retries and breaker set explicitly (the harness defaults
// would otherwise disable both).
export function flakyConfig(providers, { retries, circuit_breaker }, rest = {}) {
  return { listen: { ...LISTEN_ANY }, retries, circuit_breaker, providers, ...rest };
}

// Starts fake_flaky upstreams named `names`, then aigw with
// makeConfig(fakes); runs body({gateway, ups}) and stops everything (aigw
// last: its stop() fails if it crashed).
export async function withFlakyGateway(names, makeConfig, body) {
  const ups = {};
  let gateway;
  try {
    for (const name of names) ups[name] = await startFlakyUpstream({ name });
    gateway = await startGateway(makeConfig(ups));
    await body({ gateway, ups });
  } finally {
    for (const up of Object.values(ups)) await up.stop();
    await gateway?.stop();
  }
}
