// A fake Alibaba DashScope for the qwen provider's end-to-end tests.
//
// It serves both protocols the adapter speaks: the native generation API
// (/api/v1/services/aigc/{text,multimodal}-generation/generation, SSE with
// id:/event:result lines, ":HTTP_STATUS/200" comments, "data:" without a
// space, finish_reason "null" until the end) and the OpenAI-compatible mode
// (/compatible-mode/v1/chat/completions), plus both embeddings APIs. It
// CHECKS every request (path, provider key and never the client's, headers,
// body shape) and answers a failed check with a 400 that the tests see.
// The upstream model name picks the script (see SCRIPTS). Bodies go out in
// 1..40-byte pieces with event-loop gaps, so the gateway sees events, JSON
// and UTF-8 sequences split at arbitrary bytes.
import { FakeHttpServer, makeRandom, readJsonBody, sendInPieces } from './fake_common.mjs';

export const QWEN_KEYS = ['sk-qwen-native-one', 'sk-qwen-native-two'];
export const COMPAT_KEYS = ['sk-qwen-compat-one', 'sk-qwen-compat-two'];
// Keys of the providers that serve SPECIAL_MODELS (both modes): the gateway
// takes a key answered 401 out of rotation and cools one answered 429 down,
// so those models get many keys of their own.
export const REJECTING_KEYS = Array.from({ length: 32 }, (_, i) => `sk-qwen-rejecting-${i}`);

const NATIVE_TEXT = '/api/v1/services/aigc/text-generation/generation';
const NATIVE_MULTIMODAL = '/api/v1/services/aigc/multimodal-generation/generation';
const NATIVE_EMBEDDINGS = '/api/v1/services/embeddings/text-embedding/text-embedding';
const COMPAT_CHAT = '/compatible-mode/v1/chat/completions';
const COMPAT_EMBEDDINGS = '/compatible-mode/v1/embeddings';

// What each scripted model answers, as a list of deltas then a finish reason.
export const SCRIPTS = {
  'qwen-text': {
    deltas: [{ content: 'Hello' }, { content: ' from' }, { content: ' 通义千问!' }],
    finish: 'stop',
    usage: { input_tokens: 12, output_tokens: 5 },
  },
  'qwen-think': {
    deltas: [{ reasoning_content: 'Six times' }, { reasoning_content: ' seven.' }, { content: '42' }],
    finish: 'stop',
    usage: { input_tokens: 20, output_tokens: 9, reasoning_tokens: 6, cached_tokens: 16 },
  },
  'qwen-tools': {
    deltas: [
      { tool: { index: 0, id: 'call_a1', name: 'get_weather', arguments: '' } },
      { tool: { index: 0, arguments: '{"ci' } },
      { tool: { index: 0, arguments: 'ty": "杭' } },
      { tool: { index: 0, arguments: '州"}' } },
      { tool: { index: 1, id: 'call_b2', name: 'get_time', arguments: '{"tz": ' } },
      { tool: { index: 1, arguments: '"CST"}' } },
    ],
    finish: 'tool_calls',
    usage: { input_tokens: 150, output_tokens: 30 },
  },
  'qwen-vl-max': {
    deltas: [{ content: 'A red' }, { content: ' square.' }],
    finish: 'stop',
    usage: { input_tokens: 300, output_tokens: 4 },
  },
  'qwen-error-midstream': {
    deltas: [{ content: 'Once upon' }, { content: ' a time' }],
    error: { code: 'DataInspectionFailed', message: 'Output data may contain inappropriate content.' },
  },
};
export const SPECIAL_MODELS = ['qwen-http-401', 'qwen-http-429'];

export const THROTTLED_MESSAGE = 'Requests rate limit exceeded, please try again later.';
export const MIDSTREAM_MESSAGE = SCRIPTS['qwen-error-midstream'].error.message;

// The vector the fake answers for input text number `i` (float32-exact, so
// base64 float32 round trips compare equal).
export function fakeVector(i, dimension = 4) {
  return Array.from({ length: dimension }, (_, k) => i + 1 + k / 4);
}


const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// ------------------------------------------------------------ native format

function nativeUsage(usage, outputSoFar) {
  const u = { input_tokens: usage.input_tokens, output_tokens: outputSoFar, total_tokens: usage.input_tokens + outputSoFar };
  if (usage.reasoning_tokens !== undefined) u.output_tokens_details = { reasoning_tokens: usage.reasoning_tokens };
  if (usage.cached_tokens !== undefined) u.prompt_tokens_details = { cached_tokens: usage.cached_tokens };
  return u;
}

function nativeMessage(delta, multimodal) {
  const message = { role: 'assistant', content: multimodal ? [] : '' };
  if (delta.content !== undefined) message.content = multimodal ? [{ text: delta.content }] : delta.content;
  if (delta.reasoning_content !== undefined) message.reasoning_content = delta.reasoning_content;
  if (delta.tool) {
    const { index, id = '', name, arguments: args } = delta.tool;
    const fn = { arguments: args };
    if (name) fn.name = name;
    message.tool_calls = [{ index, id, type: 'function', function: fn }];
  }
  return message;
}

// The whole SSE body DashScope would send for `script`.
function nativeStream(script, requestId, multimodal) {
  let out = '';
  let id = 0;
  const event = (type, status, data) => `id:${++id}\nevent:${type}\n:HTTP_STATUS/${status}\ndata:${JSON.stringify(data)}\n\n`;
  const usage = script.usage ?? { input_tokens: 10, output_tokens: 0 };
  script.deltas.forEach((delta, i) => {
    const output = Math.round(((i + 1) * usage.output_tokens) / script.deltas.length);
    out += event('result', 200, {
      output: { choices: [{ message: nativeMessage(delta, multimodal), finish_reason: 'null' }] },
      usage: nativeUsage(usage, output),
      request_id: requestId,
    });
  });
  if (script.error) {
    return out + event('error', 400, { ...script.error, request_id: requestId });
  }
  return out + event('result', 200, {
    output: { choices: [{ message: nativeMessage({}, multimodal), finish_reason: script.finish }] },
    usage: nativeUsage(usage, usage.output_tokens),
    request_id: requestId,
  });
}

// ------------------------------------------------------- compatible format

function openaiStream(script, requestId, model) {
  const base = { id: `chatcmpl-${requestId}`, object: 'chat.completion.chunk', created: 1755000000, model };
  const chunk = (choices, extra = {}) => `data: ${JSON.stringify({ ...base, choices, ...extra })}\n\n`;
  let out = '';
  script.deltas.forEach((delta, i) => {
    const d = i === 0 ? { role: 'assistant' } : {};
    if (delta.content !== undefined) d.content = delta.content;
    if (delta.reasoning_content !== undefined) d.reasoning_content = delta.reasoning_content;
    if (delta.tool) {
      const { index, id, name, arguments: args } = delta.tool;
      const call = { index, function: { arguments: args } };
      if (id) Object.assign(call, { id, type: 'function' });
      if (name) call.function.name = name;
      d.tool_calls = [call];
    }
    out += chunk([{ index: 0, delta: d, finish_reason: null }]);
  });
  if (script.error) {
    return out + `data: ${JSON.stringify({ error: { message: script.error.message, type: 'data_inspection_failed', code: 'data_inspection_failed' } })}\n\n`;
  }
  const u = script.usage;
  const usage = { prompt_tokens: u.input_tokens, completion_tokens: u.output_tokens, total_tokens: u.input_tokens + u.output_tokens };
  if (u.cached_tokens !== undefined) usage.prompt_tokens_details = { cached_tokens: u.cached_tokens };
  if (u.reasoning_tokens !== undefined) usage.completion_tokens_details = { reasoning_tokens: u.reasoning_tokens };
  out += chunk([{ index: 0, delta: {}, finish_reason: script.finish }]);
  out += chunk([], { usage });
  return out + 'data: [DONE]\n\n';
}

export class FakeDashScope extends FakeHttpServer {
  constructor({ seed = 4242 } = {}) {
    super((req, res) => this.#handle(req, res));
    this.random = makeRandom(seed);
    this.requests = []; // {method, path, headers, body, protocol}
    this.violations = []; // failed request checks, with the request path
    this.nextId = 1;
  }

  async #handle(req, res) {
    const { raw, body } = await readJsonBody(req);
    // A base_url path (e.g. "/gw") comes before DashScope's own paths.
    const path = req.url.replace(/^\/gw(?=\/)/, '');
    const record = { method: req.method, url: req.url, path, headers: req.headers, body, raw };
    this.requests.push(record);
    const problems = [];
    const check = (ok, what) => {
      if (!ok) problems.push(what);
    };
    const compatible = path.startsWith('/compatible-mode/');
    const keys = [...(compatible ? COMPAT_KEYS : QWEN_KEYS), ...REJECTING_KEYS];
    const auth = req.headers.authorization ?? '';
    check(keys.some((key) => auth === `Bearer ${key}`), `Authorization is not a provider key: ${auth}`);
    check(!JSON.stringify(req.headers).includes('client-key'), 'the client key reached the upstream');
    check(req.method === 'POST', `method ${req.method}`);
    check(/^application\/json/.test(req.headers['content-type'] ?? ''), 'Content-Type is not JSON');
    check(isObject(body), 'body is not a JSON object');
    if (!isObject(body)) body = {};
    const model = String(body.model);

    let answer;
    if (path === NATIVE_TEXT || path === NATIVE_MULTIMODAL) {
      this.#checkNativeChat(req, body, path === NATIVE_MULTIMODAL, check);
      answer = () => this.#native(req, res, model, path === NATIVE_MULTIMODAL);
    } else if (path === COMPAT_CHAT) {
      this.#checkCompatibleChat(req, body, check);
      answer = () => this.#compatible(req, res, model);
    } else if (path === NATIVE_EMBEDDINGS) {
      check(Array.isArray(body.input?.texts) && body.input.texts.every((t) => typeof t === 'string'), 'input.texts is not a list of strings');
      check(body.parameters === undefined || isObject(body.parameters), 'parameters is not an object');
      check(!('encoding_format' in body) && !('dimensions' in body), 'OpenAI fields in a native embeddings body');
      answer = () => this.#nativeEmbeddings(res, body);
    } else if (path === COMPAT_EMBEDDINGS) {
      check(body.encoding_format === 'float', 'encoding_format is not float');
      check(typeof body.input === 'string' || Array.isArray(body.input), 'input is not text');
      answer = () => this.#compatEmbeddings(res, body);
    } else {
      return this.#send(res, 404, 'application/json', JSON.stringify({ code: 'NotFound', message: `fake DashScope: no route ${req.url}` }));
    }
    if (problems.length > 0) {
      this.violations.push(...problems.map((p) => `${req.url}: ${p}`));
      return this.#send(res, 400, 'application/json', JSON.stringify({ code: 'FakeCheckFailed', message: problems.join('; ') }));
    }
    return answer();
  }

  #checkNativeChat(req, body, multimodal, check) {
    check(req.headers['x-dashscope-sse'] === 'enable', 'X-DashScope-SSE is not enable');
    check(/text\/event-stream/.test(req.headers.accept ?? ''), 'Accept is not text/event-stream');
    check(typeof body.model === 'string', 'model is not a string');
    check(multimodal === /^(qwen-vl|qwen-omni|qvq)/.test(String(body.model)), 'model sent to the wrong generation API');
    check(!('messages' in body) && !('stream' in body), 'OpenAI fields at the top level of a native body');
    const messages = body.input?.messages;
    check(Array.isArray(messages) && messages.length > 0, 'input.messages is not a non-empty list');
    for (const m of messages ?? []) {
      check(['system', 'user', 'assistant', 'tool'].includes(m.role), `bad role ${m.role}`);
      const items = Array.isArray(m.content) && m.content.every((c) => isObject(c) && (typeof c.text === 'string' || typeof c.image === 'string'));
      check(multimodal ? items || m.content === '' : typeof m.content === 'string', `bad content for role ${m.role}`);
    }
    const p = body.parameters ?? {};
    check(p.result_format === 'message', 'parameters.result_format is not message');
    check(p.incremental_output === true, 'parameters.incremental_output is not true');
  }

  #checkCompatibleChat(req, body, check) {
    check(!('x-dashscope-sse' in req.headers), 'X-DashScope-SSE sent to the compatible mode');
    check(Array.isArray(body.messages) && body.messages.length > 0, 'messages is not a non-empty list');
    check(body.stream === true && body.stream_options?.include_usage === true, 'not streamed with usage');
    check(!('input' in body) && !('parameters' in body), 'native fields in an OpenAI body');
  }

  async #native(req, res, model, multimodal) {
    const requestId = `req-${this.nextId++}`;
    if (model === 'qwen-http-401') {
      const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      // DashScope answers failed SSE requests with an SSE body.
      return this.#send(res, 401, 'text/event-stream;charset=UTF-8',
        `id:1\nevent:error\n:HTTP_STATUS/401\ndata:${JSON.stringify({ code: 'InvalidApiKey', message: `Invalid API-key provided: ${key}`, request_id: requestId })}\n\n`);
    }
    if (model === 'qwen-http-429') {
      return this.#send(res, 429, 'application/json', JSON.stringify({ code: 'Throttling.RateQuota', message: THROTTLED_MESSAGE, request_id: requestId }));
    }
    const script = SCRIPTS[model];
    if (!script) {
      return this.#send(res, 404, 'application/json', JSON.stringify({ code: 'ModelNotFound', message: `Model not exist: ${model}`, request_id: requestId }));
    }
    return this.#send(res, 200, 'text/event-stream;charset=UTF-8', nativeStream(script, requestId, multimodal));
  }

  async #compatible(req, res, model) {
    const requestId = `cmpl-${this.nextId++}`;
    if (model === 'qwen-http-401') {
      const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      return this.#send(res, 401, 'application/json', JSON.stringify({
        error: { message: `Incorrect API key provided: ${key}`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
      }));
    }
    if (model === 'qwen-http-429') {
      return this.#send(res, 429, 'application/json', JSON.stringify({
        error: { message: THROTTLED_MESSAGE, type: 'limit_requests', param: null, code: 'limit_requests' },
      }));
    }
    const script = SCRIPTS[model];
    if (!script) {
      return this.#send(res, 404, 'application/json', JSON.stringify({ error: { message: `The model \`${model}\` does not exist`, type: 'invalid_request_error', code: 'model_not_found' } }));
    }
    return this.#send(res, 200, 'text/event-stream', openaiStream(script, requestId, model));
  }

  #nativeEmbeddings(res, body) {
    const dimension = body.parameters?.dimension ?? 4;
    const texts = body.input.texts;
    return this.#send(res, 200, 'application/json', JSON.stringify({
      output: { embeddings: texts.map((_, i) => ({ text_index: i, embedding: fakeVector(i, dimension) })) },
      usage: { total_tokens: texts.join('').length },
      request_id: `emb-${this.nextId++}`,
    }));
  }

  #compatEmbeddings(res, body) {
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    const dimension = body.dimensions ?? 4;
    const tokens = inputs.join('').length;
    return this.#send(res, 200, 'application/json', JSON.stringify({
      object: 'list',
      data: inputs.map((_, i) => ({ object: 'embedding', index: i, embedding: fakeVector(i, dimension) })),
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
      id: `emb-${this.nextId++}`,
    }));
  }

  // Writes `body` in pieces of 1..40 bytes, yielding to the event loop between them.
  #send(res, status, contentType, body) {
    return sendInPieces(res, this.random, status, { 'Content-Type': contentType }, body);
  }
}

export async function startFakeDashScope(options) {
  return new FakeDashScope(options).start();
}
