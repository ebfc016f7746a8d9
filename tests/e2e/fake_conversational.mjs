// One fake upstream speaking three providers' own protocols — DashScope's
// native generation API, Anthropic's Messages API and Google's Generative
// Language API — that answers from the conversation it is sent, as a model
// would: a tool result in the last turn gets a text answer about it, tools
// get a call, a JSON schema gets JSON, anything else a greeting. It checks
// each request against what that provider accepts (field by field), so
// anything a client wrote that aigw forwards but the provider would refuse
// fails the call with the provider's own 400.
import { FakeHttpServer, makeRandom, readJsonBody, sendInPieces } from './fake_common.mjs';

export const PROVIDER_KEY = 'sk-conversational-fake';
export const WEATHER_ANSWER = 'It is sunny and 21 °C in Paris.';
export const WEATHER_JSON = { city: 'Paris', temperature_c: 21, conditions: 'sunny' };
export const GREETING = 'Hello! How can I help you today?';
export const TITLE = 'Greeting Exchange';

const DASHSCOPE_PARAMETERS = new Set([
  'result_format', 'incremental_output', 'temperature', 'top_p', 'top_k', 'presence_penalty', 'max_tokens',
  'seed', 'n', 'stop', 'tools', 'tool_choice', 'parallel_tool_calls', 'response_format', 'enable_thinking',
  'thinking_budget', 'repetition_penalty', 'enable_search', 'search_options',
]);
const DASHSCOPE_MESSAGE = new Set(['role', 'content', 'name', 'tool_calls', 'tool_call_id', 'reasoning_content']);
const CLAUDE_TOP = new Set([
  'model', 'messages', 'system', 'max_tokens', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'stream',
  'tools', 'tool_choice', 'metadata', 'thinking', 'output_config',
]);
const GEMINI_TOP = new Set(['contents', 'systemInstruction', 'generationConfig', 'tools', 'toolConfig', 'safetySettings']);
const GEMINI_CONFIG = new Set([
  'temperature', 'topP', 'topK', 'maxOutputTokens', 'stopSequences', 'seed', 'candidateCount', 'presencePenalty',
  'frequencyPenalty', 'responseMimeType', 'responseSchema', 'responseJsonSchema', 'thinkingConfig', 'responseLogprobs',
  'logprobs',
]);

const unknownKeys = (object, allowed) => Object.keys(object ?? {}).filter((key) => !allowed.has(key));

// What the model says, from the conversation in a provider-neutral form:
// {lastIsToolResult, hasTools, toolNames, wantsJson, text}.
function decide(view) {
  if (view.lastIsToolResult) return { text: WEATHER_ANSWER };
  if (view.wantsJson) return { text: JSON.stringify(WEATHER_JSON) };
  if (view.toolNames.includes('get_weather')) return { call: { name: 'get_weather', args: { city: 'Paris' } } };
  if (/title|topic|summar/i.test(view.text)) return { text: TITLE };
  return { text: GREETING };
}

// Splits text into words (keeping spaces), the deltas of a streamed answer.
const words = (text) => text.match(/\S+\s*/g) ?? [''];

export class FakeConversational extends FakeHttpServer {
  constructor() {
    super((req, res) => this.#handle(req, res));
    this.random = makeRandom(777);
    this.requests = []; // {provider, path, body}
    this.problems = []; // request checks that failed
  }

  async #handle(req, res) {
    const { body } = await readJsonBody(req);
    const path = req.url;
    let provider = 'gemini';
    if (path.startsWith('/api/v1/services/aigc/')) provider = 'dashscope';
    else if (path === '/v1/messages') provider = 'claude';
    else if (path === '/v1/chat/completions') provider = 'openai';
    this.requests.push({ provider, path, headers: req.headers, body });
    const handler = { dashscope: this.#dashscope, claude: this.#claude, gemini: this.#gemini, openai: this.#openai }[provider];
    return handler.call(this, req, res, body);
  }

  #reject(res, provider, problem) {
    this.problems.push(`${provider}: ${problem}`);
    const body =
      provider === 'claude'
        ? { type: 'error', error: { type: 'invalid_request_error', message: problem } }
        : provider === 'gemini'
          ? { error: { code: 400, message: problem, status: 'INVALID_ARGUMENT' } }
          : { code: 'InvalidParameter', message: problem, request_id: 'r-bad' };
    return sendInPieces(res, this.random, 400, { 'Content-Type': 'application/json' }, JSON.stringify(body));
  }

  // ---------------------------------------------------------- DashScope

  #dashscope(req, res, body) {
    if (req.headers.authorization !== `Bearer ${PROVIDER_KEY}`) return this.#reject(res, 'dashscope', 'bad key');
    if (req.headers['x-dashscope-sse'] !== 'enable') return this.#reject(res, 'dashscope', 'X-DashScope-SSE missing');
    const parameters = body?.parameters ?? {};
    const messages = body?.input?.messages ?? [];
    const bad = [...unknownKeys(body, new Set(['model', 'input', 'parameters'])), ...unknownKeys(parameters, DASHSCOPE_PARAMETERS)];
    for (const m of messages) bad.push(...unknownKeys(m, DASHSCOPE_MESSAGE).map((k) => `message.${k}`));
    if (bad.length) return this.#reject(res, 'dashscope', `unknown fields: ${bad.join(', ')}`);
    if ('top_p' in parameters && !(parameters.top_p > 0 && parameters.top_p < 1)) {
      return this.#reject(res, 'dashscope', `top_p ${parameters.top_p} out of (0, 1)`);
    }
    const last = messages.at(-1) ?? {};
    const answer = decide({
      lastIsToolResult: last.role === 'tool',
      toolNames: (parameters.tools ?? []).map((t) => t.function.name),
      wantsJson: parameters.response_format?.type === 'json_schema' || parameters.response_format?.type === 'json_object',
      text: typeof last.content === 'string' ? last.content : '',
    });
    const event = (n, message, finish) =>
      `id:${n}\nevent:result\n:HTTP_STATUS/200\ndata:${JSON.stringify({
        output: { choices: [{ message, finish_reason: finish }] },
        usage: { input_tokens: 20, output_tokens: n, total_tokens: 20 + n },
        request_id: 'r-conv',
      })}\n\n`;
    let out = '';
    let n = 0;
    if (answer.call) {
      const args = JSON.stringify(answer.call.args);
      out += event(++n, { role: 'assistant', content: '', tool_calls: [{ index: 0, id: 'call_ds_1', type: 'function', function: { name: answer.call.name, arguments: args.slice(0, 5) } }] }, 'null');
      out += event(++n, { role: 'assistant', content: '', tool_calls: [{ index: 0, id: '', type: 'function', function: { arguments: args.slice(5) } }] }, 'null');
      out += event(++n, { role: 'assistant', content: '' }, 'tool_calls');
    } else {
      for (const word of words(answer.text)) out += event(++n, { role: 'assistant', content: word }, 'null');
      out += event(++n, { role: 'assistant', content: '' }, 'stop');
    }
    return sendInPieces(res, this.random, 200, { 'Content-Type': 'text/event-stream;charset=UTF-8' }, out);
  }

  // ---------------------------------------------------------- Claude

  #claude(req, res, body) {
    if (req.headers['x-api-key'] !== PROVIDER_KEY) return this.#reject(res, 'claude', 'bad x-api-key');
    const bad = unknownKeys(body, CLAUDE_TOP);
    if (bad.length) return this.#reject(res, 'claude', `${bad[0]}: Extra inputs are not permitted`);
    if ('temperature' in body && 'top_p' in body) {
      return this.#reject(res, 'claude', '`temperature` and `top_p` cannot both be specified for this model. Please use only one.');
    }
    for (const [i, m] of (body.messages ?? []).entries()) {
      const extra = unknownKeys(m, new Set(['role', 'content']));
      if (extra.length) return this.#reject(res, 'claude', `messages.${i}.${extra[0]}: Extra inputs are not permitted`);
      if (!Array.isArray(m.content) || m.content.length === 0) return this.#reject(res, 'claude', `messages.${i}: content must be non-empty`);
    }
    const last = body.messages.at(-1);
    const answer = decide({
      lastIsToolResult: last.content.some((b) => b.type === 'tool_result'),
      toolNames: (body.tools ?? []).map((t) => t.name),
      wantsJson: body.output_config?.format?.type === 'json_schema',
      text: last.content.filter((b) => b.type === 'text').map((b) => b.text).join(''),
    });
    const content = answer.call
      ? [{ type: 'tool_use', id: 'toolu_conv_1', name: answer.call.name, input: answer.call.args }]
      : [{ type: 'text', text: answer.text }];
    const stopReason = answer.call ? 'tool_use' : 'end_turn';
    const usage = { input_tokens: 20, output_tokens: 9 };
    const message = { id: 'msg_conv', type: 'message', role: 'assistant', model: body.model, content, stop_reason: stopReason, stop_sequence: null, usage };
    if (!body.stream) return sendInPieces(res, this.random, 200, { 'Content-Type': 'application/json' }, JSON.stringify(message));
    const event = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    let out = event('message_start', { message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } });
    if (answer.call) {
      out += event('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_conv_1', name: answer.call.name, input: {} } });
      const json = JSON.stringify(answer.call.args);
      out += event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: json.slice(0, 4) } });
      out += event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: json.slice(4) } });
    } else {
      out += event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
      for (const word of words(answer.text)) out += event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: word } });
    }
    out += event('content_block_stop', { index: 0 });
    out += event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: 9 } });
    out += event('message_stop', {});
    return sendInPieces(res, this.random, 200, { 'Content-Type': 'text/event-stream; charset=utf-8' }, out);
  }

  // ---------------------------------------------------------- OpenAI
  // Only what the rate-limit tests need: OpenAI's x-ratelimit-* headers on
  // every answer, and a 429 with Retry-After when asked to "rate-limit-me".

  #openai(req, res, body) {
    const headers = {
      'Content-Type': 'application/json',
      'x-ratelimit-limit-requests': '500',
      'x-ratelimit-remaining-requests': '499',
      'x-ratelimit-reset-requests': '120ms',
      'x-ratelimit-limit-tokens': '30000',
      'x-ratelimit-remaining-tokens': '29980',
      'x-ratelimit-reset-tokens': '40ms',
    };
    const text = body?.messages?.at(-1)?.content ?? '';
    if (text === 'rate-limit-me') {
      const error = { error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } };
      return sendInPieces(res, this.random, 429, { ...headers, 'retry-after': '7' }, JSON.stringify(error));
    }
    const completion = {
      id: 'chatcmpl-conv', object: 'chat.completion', created: 1755000000, model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: GREETING, refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
    };
    return sendInPieces(res, this.random, 200, headers, JSON.stringify(completion));
  }

  // ---------------------------------------------------------- Gemini

  #gemini(req, res, body) {
    if (req.headers['x-goog-api-key'] !== PROVIDER_KEY) return this.#reject(res, 'gemini', 'API key not valid');
    const bad = [...unknownKeys(body, GEMINI_TOP), ...unknownKeys(body.generationConfig, GEMINI_CONFIG)];
    if (bad.length) return this.#reject(res, 'gemini', `Invalid JSON payload received. Unknown name "${bad[0]}"`);
    for (const content of body.contents ?? []) {
      const extra = unknownKeys(content, new Set(['role', 'parts']));
      if (extra.length) return this.#reject(res, 'gemini', `Unknown name "${extra[0]}" at 'contents'`);
    }
    const declarations = (body.tools ?? []).flatMap((t) => t.functionDeclarations ?? []);
    // `parameters` and `responseSchema` take Google's OpenAPI subset, which
    // has no additionalProperties (zod and strict schemas always carry it).
    for (const schema of [...declarations.map((d) => d.parameters), body.generationConfig?.responseSchema]) {
      if (schema && JSON.stringify(schema).includes('"additionalProperties"')) {
        return this.#reject(res, 'gemini', 'Invalid JSON payload received. Unknown name "additionalProperties"');
      }
    }
    const last = body.contents.at(-1);
    const answer = decide({
      lastIsToolResult: last.parts.some((p) => p.functionResponse),
      toolNames: declarations.map((d) => d.name),
      wantsJson: body.generationConfig?.responseMimeType === 'application/json',
      text: last.parts.map((p) => p.text ?? '').join(''),
    });
    const usageMetadata = { promptTokenCount: 20, candidatesTokenCount: 9, totalTokenCount: 29 };
    const response = (parts, finishReason) => ({
      candidates: [{ content: { role: 'model', parts }, ...(finishReason ? { finishReason } : {}), index: 0 }],
      usageMetadata,
      modelVersion: 'gemini-2.5-flash',
      responseId: 'gem-conv',
    });
    const parts = answer.call ? [{ functionCall: { name: answer.call.name, args: answer.call.args } }] : words(answer.text).map((text) => ({ text }));
    if (!req.url.includes(':streamGenerateContent')) {
      const whole = answer.call ? parts : [{ text: answer.text }];
      return sendInPieces(res, this.random, 200, { 'Content-Type': 'application/json' }, JSON.stringify(response(whole, 'STOP')));
    }
    let out = '';
    parts.forEach((part, i) => {
      out += `data: ${JSON.stringify(response([part], i === parts.length - 1 ? 'STOP' : null))}\r\n\r\n`;
    });
    return sendInPieces(res, this.random, 200, { 'Content-Type': 'text/event-stream' }, out);
  }
}

export async function startFakeConversational() {
  return new FakeConversational().start();
}
