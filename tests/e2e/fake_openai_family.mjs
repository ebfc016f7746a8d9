// A fake upstream for the OpenAI-compatible family (openai, moonshot,
// deepseek, ollama, ..., azure) and for embeddings.
//
// It accepts POST .../chat/completions and .../embeddings under ANY path
// prefix (each test config gives its provider its own prefix, so the path
// says which provider sent a request) and Azure's
// /openai/deployments/{deployment}/{operation}?api-version=... layout, where
// the deployment, not the body's model, picks the behaviour. The (upstream)
// model name selects what happens: a cassette name from
// shared/fixtures/openai-recorded replays it, the SCRIPTED_MODELS answer in
// the wire format of a specific provider. Every request is recorded, and
// every body goes out in 1..40-byte writes with event-loop gaps, so the
// gateway sees events, JSON and UTF-8 sequences split at arbitrary bytes.
import { FakeHttpServer, makeRandom, openaiError, readJsonBody, sendInPieces, sse } from './fake_common.mjs';
import { cassetteExists, loadCassette } from './fake_upstream.mjs';

// Scripted answers, in each provider's real wire format.
export const SCRIPTED_MODELS = [
  'azure-filtered-stream', // Azure: prompt_filter_results chunk first, content_filter_results in choices
  'azure-async-filter-stream', // Azure's asynchronous filter: annotation chunks with id "" and no delta
  'moonshot-usage-in-choice', // Moonshot: the final usage inside choices[0]
  'deepseek-reasoner', // DeepSeek: reasoning_content deltas, then content (stream and non-stream)
  'embed-synth', // embeddings: one deterministic vector per input string
  'embed-401-leak', // embeddings: 401 whose message quotes the key received
];

// The vector embed-synth returns for input `i` (text `text`): values that
// float32 cannot represent exactly, so base64 precision is really tested.
export function synthVector(i, text) {
  return [i + 0.5, text.length, 1 / 3, -0.1, 1e-8, -12345.678];
}

// Moonshot's documented stream: usage sits in the last choice, not at the top.
export const MOONSHOT_USAGE = { prompt_tokens: 19, completion_tokens: 13, total_tokens: 32 };
export const MOONSHOT_TEXT = '你好，我是 Kimi。';

// DeepSeek reasoner: what the scripted model thinks and answers.
export const DEEPSEEK_REASONING = ['Okay, ', 'the user ', 'says hi. ', '问候 back.'];
export const DEEPSEEK_CONTENT = ['Hello', '! How can ', 'I help?'];
export const DEEPSEEK_USAGE = {
  prompt_tokens: 13,
  completion_tokens: 41,
  total_tokens: 54,
  prompt_tokens_details: { cached_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 29 },
  prompt_cache_hit_tokens: 0,
  prompt_cache_miss_tokens: 13,
};

// Azure: the answer text and the usage of the scripted stream.
export const AZURE_TEXT = ['Hi', ' there', '!'];
export const AZURE_USAGE = { completion_tokens: 4, prompt_tokens: 8, total_tokens: 12 };

const SAFE = { filtered: false, severity: 'safe' };
const FILTER_RESULTS = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE };

function azureStream() {
  const base = { created: 1759396891, id: 'chatcmpl-CM9nAzureStream01', model: 'gpt-4o-2024-11-20', object: 'chat.completion.chunk', system_fingerprint: 'fp_ee1d74bde0' };
  const choice = (delta, finish = null, filters = FILTER_RESULTS) => ({ content_filter_results: filters, delta, finish_reason: finish, index: 0, logprobs: null });
  return sse([
    // Azure's real first chunk: no id, no model, no choices, only the prompt's filter results.
    { choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: [{ prompt_index: 0, content_filter_results: { ...FILTER_RESULTS, jailbreak: { filtered: false, detected: false } } }] },
    { ...base, choices: [choice({ content: '', refusal: null, role: 'assistant' }, null, {})] },
    ...AZURE_TEXT.map((text) => ({ ...base, choices: [choice({ content: text })] })),
    { ...base, choices: [choice({}, 'stop', {})] },
    { ...base, choices: [], usage: AZURE_USAGE },
    '[DONE]',
  ]);
}

// Azure with the asynchronous content filter: content streams unfiltered and
// the filter's verdicts follow in chunks of their own (no id, no model, a
// choice without delta), one of them after the finish.
function azureAsyncFilterStream() {
  const base = { created: 1759396891, id: 'chatcmpl-CM9nAzureAsync0001', model: 'gpt-4o-2024-11-20', object: 'chat.completion.chunk', system_fingerprint: 'fp_ee1d74bde0' };
  const annotation = (start, end) => ({
    choices: [{ content_filter_offsets: { check_offset: end, start_offset: start, end_offset: end }, content_filter_results: FILTER_RESULTS, finish_reason: null, index: 0 }],
    created: 0, id: '', model: '', object: '',
  });
  return sse([
    { choices: [], created: 0, id: '', model: '', object: '', prompt_annotations: [{ prompt_index: 0, content_filter_results: FILTER_RESULTS }], usage: null },
    { ...base, choices: [{ delta: { content: '', role: 'assistant' }, finish_reason: null, index: 0 }], usage: null },
    ...AZURE_TEXT.map((content) => ({ ...base, choices: [{ delta: { content }, finish_reason: null, index: 0 }], usage: null })),
    annotation(0, 5),
    { ...base, choices: [{ delta: {}, finish_reason: 'stop', index: 0 }], usage: null },
    annotation(5, 9),
    '[DONE]',
  ]);
}

function moonshotStream() {
  const base = { id: 'cmpl-04ea926191a14749b7f2c7a48a68abc6', object: 'chat.completion.chunk', created: 1698999575, model: 'moonshot-v1-8k' };
  const pieces = ['你好', '，我是', ' Kimi', '。'];
  return sse([
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
    ...pieces.map((content) => ({ ...base, choices: [{ index: 0, delta: { content }, finish_reason: null }] })),
    { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop', usage: MOONSHOT_USAGE }] },
    '[DONE]',
  ]);
}

function deepseekStream() {
  const base = { id: 'b9b5c2a4-5f7e-4f0e-9d64-0f2f3c1f7a11', object: 'chat.completion.chunk', created: 1737331200, model: 'deepseek-reasoner', system_fingerprint: 'fp_7e73fd9a08_prod0425fp8' };
  const choice = (delta, finish = null) => ({ index: 0, delta, logprobs: null, finish_reason: finish });
  return sse([
    { ...base, choices: [choice({ role: 'assistant', content: null, reasoning_content: '' })] },
    ...DEEPSEEK_REASONING.map((r) => ({ ...base, choices: [choice({ content: null, reasoning_content: r })] })),
    ...DEEPSEEK_CONTENT.map((c) => ({ ...base, choices: [choice({ content: c, reasoning_content: null })] })),
    { ...base, choices: [choice({ content: '', reasoning_content: null }, 'stop')], usage: DEEPSEEK_USAGE },
    '[DONE]',
  ]);
}

function deepseekJson() {
  return JSON.stringify({
    id: 'b9b5c2a4-5f7e-4f0e-9d64-0f2f3c1f7a12',
    object: 'chat.completion',
    created: 1737331200,
    model: 'deepseek-reasoner',
    choices: [{
      index: 0,
      message: { role: 'assistant', content: DEEPSEEK_CONTENT.join(''), reasoning_content: DEEPSEEK_REASONING.join('') },
      logprobs: null,
      finish_reason: 'stop',
    }],
    usage: DEEPSEEK_USAGE,
    system_fingerprint: 'fp_7e73fd9a08_prod0425fp8',
  }, null, 2);
}

// Little-endian float32 bytes of `values`, base64: what OpenAI sends for encoding_format "base64".
function float32Base64(values) {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes.toString('base64');
}

// An embeddings answer honouring the request's encoding_format, as OpenAI does,
// so a gateway that forwarded "base64" would get strings it cannot parse.
function embeddingsBody(vectors, model, usage, encodingFormat) {
  return JSON.stringify({
    object: 'list',
    data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: encodingFormat === 'base64' ? float32Base64(v) : v })),
    model,
    usage,
  });
}

export class FakeOpenAiFamily extends FakeHttpServer {
  constructor({ seed = 4321 } = {}) {
    super((req, res) => this.#handle(req, res));
    this.random = makeRandom(seed);
    this.requests = []; // {method, url, path, query, deployment, operation, headers, body}
  }

  clear() {
    this.requests.length = 0;
  }

  // Requests whose path starts with `prefix`.
  requestsUnder(prefix) {
    return this.requests.filter((r) => r.path.startsWith(`${prefix}/`));
  }

  async #handle(req, res) {
    const { body } = await readJsonBody(req);
    const url = new URL(req.url, 'http://fake');
    const azure = url.pathname.match(/\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/);
    const plain = url.pathname.match(/\/(chat\/completions|embeddings)$/);
    const record = {
      method: req.method,
      url: req.url,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      deployment: azure ? decodeURIComponent(azure[1]) : null,
      operation: azure ? azure[2] : plain ? plain[1] : null,
      headers: req.headers,
      body,
    };
    this.requests.push(record);
    if (req.method !== 'POST' || !record.operation || !body || typeof body !== 'object') {
      await this.#send(res, 404, 'application/json', openaiError(`fake: no route ${req.method} ${req.url}`, 'invalid_request_error', null));
      return;
    }
    const model = record.deployment ?? String(body.model);
    if (record.operation === 'embeddings') return this.#embeddings(req, res, model, body);
    switch (model) {
      case 'azure-filtered-stream':
        return this.#send(res, 200, 'text/event-stream', azureStream(), false);
      case 'azure-async-filter-stream':
        return this.#send(res, 200, 'text/event-stream', azureAsyncFilterStream(), false);
      case 'moonshot-usage-in-choice':
        return this.#send(res, 200, 'text/event-stream', moonshotStream(), false);
      case 'deepseek-reasoner':
        return body.stream
          ? this.#send(res, 200, 'text/event-stream; charset=utf-8', deepseekStream(), false)
          : this.#send(res, 200, 'application/json', deepseekJson());
      default:
        return this.#cassette(res, model);
    }
  }

  async #embeddings(req, res, model, body) {
    if (model === 'embed-synth') {
      const inputs = typeof body.input === 'string' ? [body.input] : body.input;
      const vectors = inputs.map((text, i) => synthVector(i, text));
      const usage = { prompt_tokens: 3 * inputs.length, total_tokens: 3 * inputs.length };
      return this.#send(res, 200, 'application/json', embeddingsBody(vectors, 'synth-embedding-model', usage, body.encoding_format));
    }
    if (model === 'embed-401-leak') {
      const key = req.headers['api-key'] || (req.headers.authorization || '').replace(/^Bearer /, '');
      return this.#send(res, 401, 'application/json',
        openaiError(`Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_request_error', 'invalid_api_key'));
    }
    if (model === 'embeddings-basic' && body.encoding_format === 'base64') {
      const recorded = JSON.parse(loadCassette(model).body);
      return this.#send(res, 200, 'application/json',
        embeddingsBody(recorded.data.map((d) => d.embedding), recorded.model, recorded.usage, 'base64'));
    }
    return this.#cassette(res, model);
  }

  async #cassette(res, model) {
    if (!cassetteExists(model)) {
      return this.#send(res, 404, 'application/json',
        openaiError(`The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found'));
    }
    const cassette = loadCassette(model);
    return this.#send(res, cassette.status, cassette.contentType, cassette.body, cassette.hasContentLength);
  }

  // Writes `body` in pieces of 1..40 bytes, yielding to the event loop between them.
  #send(res, status, contentType, body, withContentLength = true) {
    const headers = { 'Content-Type': contentType };
    if (withContentLength) headers['Content-Length'] = Buffer.byteLength(body, 'utf8');
    return sendInPieces(res, this.random, status, headers, body);
  }
}

export async function startFakeOpenAiFamily(options) {
  return new FakeOpenAiFamily(options).start();
}
