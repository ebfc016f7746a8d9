// An OpenAI-compatible upstream whose answers, and the usage it reports,
// are set by the request itself, for the consumers and limits tests.
//
// POST /v1/chat/completions, stream or not (and POST /v1/embeddings: a
// 2-dimensional vector per input, usage PROMPT_TOKENS). The last user message is read
// for directives (anywhere in its text, separated by spaces):
//   tokens:N   answer N words (default 5). Each word is "tok " (4 ASCII
//              bytes): the gateway's estimate of the streamed text (one
//              token per 4 ASCII bytes) is then exactly N as well.
//   delay:MS   streams only: wait MS ms before each word (default 0).
// A stream is a role chunk, one chunk per word, a finish chunk, and, when
// the request sets stream_options.include_usage (the gateway always does),
// a last chunk with empty choices and the usage; then [DONE]. The usage
// (of a non-stream answer too) is prompt_tokens = PROMPT_TOKENS (fixed,
// whatever the prompt), completion_tokens = N, total_tokens = N +
// PROMPT_TOKENS. A stream stops writing once the gateway hangs up.
//
// Every request is recorded ({method, path, headers, body, model, stream,
// directives}, and for a stream wordsWritten and outcome: 'complete' or
// 'closed by the gateway'); `inFlight` counts the requests being answered now and
// `maxInFlight` the most there ever were at once.
import { FakeHttpServer, openaiError, readJsonBody, sleep, sseEvent } from './fake_common.mjs';

export const PROMPT_TOKENS = 7;
export const WORD = 'tok ';

// The last user message's text (plain or parts).
function lastUserText(body) {
  const message = body?.messages?.filter((m) => m.role === 'user').at(-1);
  if (typeof message?.content === 'string') return message.content;
  if (Array.isArray(message?.content)) return message.content.filter((p) => p.type === 'text').map((p) => p.text).join(' ');
  return '';
}

// {tokens, delayMs} from "tokens:N delay:MS" in the text.
export function directives(text) {
  const number = (name, fallback) => {
    const match = new RegExp(`(?:^|\\s)${name}:(\\d+)(?:\\s|$)`).exec(text);
    return match ? Number(match[1]) : fallback;
  };
  return { tokens: number('tokens', 5), delayMs: number('delay', 0) };
}

export const usageFor = (tokens) => ({ prompt_tokens: PROMPT_TOKENS, completion_tokens: tokens, total_tokens: PROMPT_TOKENS + tokens });

const chunk = (id, model, choices, extra = {}) => ({ id, object: 'chat.completion.chunk', created: 1755137933, model, choices, ...extra });

export class MeteredUpstream extends FakeHttpServer {
  constructor() {
    super((req, res) => {
      this.#handle(req, res).catch(() => req.socket.destroy());
    });
    this.requests = [];
    this.inFlight = 0;
    this.maxInFlight = 0;
    this.nextId = 0;
  }

  async start() {
    await super.start();
    this.baseUrl = `${this.origin}/v1`;
    return this;
  }

  clear() {
    this.requests.length = 0;
    this.maxInFlight = this.inFlight;
  }

  // Chat requests only (the tests count upstream calls with it).
  chats() {
    return this.requests.filter((r) => r.path === '/v1/chat/completions');
  }

  async #handle(req, res) {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let counted = true;
    let record = null;
    res.on('close', () => {
      if (counted) this.inFlight--;
      counted = false;
      if (record?.stream && record.outcome === undefined) record.outcome = 'closed by the gateway';
    });
    const { body } = await readJsonBody(req);
    record = {
      method: req.method,
      path: req.url,
      headers: { ...req.headers },
      body,
      model: body?.model,
      stream: body?.stream === true,
      directives: directives(lastUserText(body)),
      receivedAt: performance.now(),
    };
    this.requests.push(record);
    if (req.method === 'POST' && req.url === '/v1/embeddings' && body) {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({
        object: 'list',
        model: body.model,
        data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.5, -0.25] })),
        usage: { prompt_tokens: PROMPT_TOKENS, total_tokens: PROMPT_TOKENS },
      }));
      return;
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions' || !body) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(openaiError(`no route ${req.method} ${req.url}`, 'invalid_request_error', null));
      return;
    }
    const { tokens, delayMs } = record.directives;
    const id = `chatcmpl-metered-${this.nextId++}`;
    const model = body.model;
    if (!record.stream) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({
        id,
        object: 'chat.completion',
        created: 1755137933,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: WORD.repeat(tokens) }, finish_reason: 'stop' }],
        usage: usageFor(tokens),
      }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    const gone = () => res.destroyed || res.writableEnded || req.socket.destroyed;
    res.write(sseEvent(chunk(id, model, [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])));
    record.wordsWritten = 0;
    for (let i = 0; i < tokens && !gone(); i++) {
      if (delayMs > 0) await sleep(delayMs);
      if (gone()) break;
      res.write(sseEvent(chunk(id, model, [{ index: 0, delta: { content: WORD }, finish_reason: null }])));
      record.wordsWritten++;
    }
    if (gone()) return; // the close handler set the outcome
    record.outcome = 'complete';
    res.write(sseEvent(chunk(id, model, [{ index: 0, delta: {}, finish_reason: 'stop' }])));
    if (body.stream_options?.include_usage === true) res.write(sseEvent(chunk(id, model, [], { usage: usageFor(tokens) })));
    res.end(sseEvent('[DONE]'));
  }
}

export async function startMeteredUpstream() {
  return new MeteredUpstream().start();
}

// A provider of the metered upstream that serves every model name as is.
export function meteredProvider(upstream, { name = 'metered', keys = ['sk-metered-provider-key'], models } = {}) {
  return {
    name,
    type: 'openai',
    base_url: upstream.baseUrl,
    api_keys: keys,
    timeouts: { connect: '1s', read: '5s' },
    ...(models ? { models } : { model_mapping: { '*': '' } }),
  };
}
