// A fake Anthropic Messages API upstream for the claude provider tests.
//
// It checks every request the way api.anthropic.com would (path, x-api-key,
// anthropic-version, no client credentials, the body's shape) and answers in
// Claude's real wire format: a Message JSON, or the event stream
// (message_start, content_block_start/delta/stop, ping, message_delta,
// message_stop, error) written in small, irregular TCP pieces. The upstream
// model name picks the scripted answer (see CLAUDE_SCRIPTS).
import { FakeHttpServer, makeRandom, readJsonBody, sendInPieces } from './fake_common.mjs';

const WEATHER_INPUT = { location: 'São Paulo, Brazil', unit: 'celsius', days: [1, 2, 3], note: 'quotes " and \\ kept' };

// Scripted answers by upstream model name: content blocks, stop reason, usage.
export const CLAUDE_SCRIPTS = {
  'claude-text': {
    content: [{ type: 'text', text: 'Hello from Claude! Ünïcödé and emoji 🚀 survive any split.' }],
    stop_reason: 'end_turn',
    usage: { input_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 4, output_tokens: 17 },
  },
  'claude-tools': {
    content: [
      { type: 'text', text: "I'll look that up." },
      { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: WEATHER_INPUT },
      { type: 'tool_use', id: 'toolu_01B7zR2', name: 'get_time', input: {} },
    ],
    stop_reason: 'tool_use',
    usage: { input_tokens: 380, cache_creation_input_tokens: 20, cache_read_input_tokens: 0, output_tokens: 95 },
  },
  'claude-thinking': {
    content: [
      { type: 'thinking', thinking: 'The user asks 27 * 453. 27*400 = 10800; 27*53 = 1431; total 12231.', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds' },
      { type: 'text', text: '27 × 453 = 12,231.' },
    ],
    stop_reason: 'end_turn',
    usage: { input_tokens: 40, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 120 },
  },
  // Thinks, then calls a tool: the next turn must send the signed thinking
  // back before the tool_use (as Claude requires while thinking).
  'claude-thinking-tools': {
    content: [
      { type: 'thinking', thinking: 'I need the weather tool for Paris.', signature: 'ErUBCkYIBxgCIkBfakeSignatureForThinkingTools' },
      { type: 'tool_use', id: 'toolu_01Think', name: 'get_weather', input: { city: 'Paris' } },
    ],
    stop_reason: 'tool_use',
    usage: { input_tokens: 50, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 40 },
  },
  // Interleaved thinking: two signed thinking blocks, each before its call.
  'claude-interleaved-tools': {
    content: [
      { type: 'thinking', thinking: 'Weather first.', signature: 'EpoBFakeSignatureInterleavedOne' },
      { type: 'tool_use', id: 'toolu_01Weather', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'thinking', thinking: 'Then the time there.', signature: 'EpoBFakeSignatureInterleavedTwo' },
      { type: 'tool_use', id: 'toolu_02Time', name: 'get_time', input: { tz: 'Europe/Paris' } },
    ],
    stop_reason: 'tool_use',
    usage: { input_tokens: 60, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 70 },
  },
  // Thinking with its display omitted: the blocks carry only signatures.
  'claude-omitted-thinking': {
    content: [
      { type: 'thinking', thinking: '', signature: 'EpoBFakeSignatureOmittedOne' },
      { type: 'thinking', thinking: '', signature: 'EpoBFakeSignatureOmittedTwo' },
      { type: 'tool_use', id: 'toolu_01Omitted', name: 'get_weather', input: { city: 'Paris' } },
    ],
    stop_reason: 'tool_use',
    usage: { input_tokens: 40, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 30 },
  },
  // Streams one text delta, then an error event (HTTP 529 before a stream).
  'claude-overloaded-midstream': {
    content: [{ type: 'text', text: 'Partial answer' }],
    stop_reason: 'end_turn',
    usage: { input_tokens: 5, output_tokens: 2 },
    errorAfterFirstDelta: { type: 'overloaded_error', message: 'Overloaded' },
  },
};

// Models answered with an HTTP error in Anthropic's error body.
const HTTP_ERRORS = {
  'claude-http-429': [429, 'rate_limit_error', () => 'Number of request tokens has exceeded your per-minute rate limit'],
  'claude-http-529': [529, 'overloaded_error', () => 'Overloaded'],
  'claude-http-404': [404, 'not_found_error', (body) => `model: ${body.model}`],
  // Quotes the key it received, as some upstreams do: aigw must redact it.
  'claude-http-401-leak': [401, 'authentication_error', (body, req) => `invalid x-api-key ${req.headers['x-api-key']}`],
};

const anthropicError = (type, message) => JSON.stringify({ type: 'error', error: { type, message } });

// Splits a string into pieces of 1..max characters (code points kept whole).
function pieces(text, random, max) {
  const chars = Array.from(text);
  const out = [];
  for (let i = 0; i < chars.length; ) {
    const n = 1 + Math.floor(random() * max);
    out.push(chars.slice(i, i + n).join(''));
    i += n;
  }
  return out;
}

function event(type, data) {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

// The fake's token count: recognisably its own (tests tell it from the
// gateway's estimate).
export function countTokens(body) {
  return 7000 + JSON.stringify(body.messages).length;
}

// Why a request is not one api.anthropic.com would accept, or null.
function checkRequest(req, body, expect) {
  const counting = req.url === '/v1/messages/count_tokens';
  if (req.method !== 'POST' || (req.url !== '/v1/messages' && !counting)) return `no route ${req.method} ${req.url}`;
  if (!expect.keys.includes(req.headers['x-api-key'])) return `x-api-key ${req.headers['x-api-key']} is not a provider key`;
  if (![].concat(expect.version).includes(req.headers['anthropic-version'])) return `anthropic-version ${req.headers['anthropic-version']}`;
  if ('authorization' in req.headers) return 'the client authorization header reached the upstream';
  if (!/^application\/json/.test(req.headers['content-type'] ?? '')) return `content-type ${req.headers['content-type']}`;
  if (!body || typeof body !== 'object') return 'body is not JSON';
  if (typeof body.model !== 'string') return 'model: required';
  if (counting) {
    for (const key of ['max_tokens', 'stream']) if (key in body) return `${key}: Extra inputs are not permitted`;
  } else if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1) return 'max_tokens: required';
  if (!Array.isArray(body.messages) || body.messages.length === 0) return 'messages: required';
  for (const [i, message] of body.messages.entries()) {
    if (!['user', 'assistant'].includes(message.role)) return `messages.${i}.role: ${message.role}`;
    if (i > 0 && body.messages[i - 1].role === message.role) return `messages.${i}: roles must alternate`;
    // Anthropic takes a string or a non-empty list of blocks.
    if (typeof message.content === 'string') {
      if (message.content === '') return `messages.${i}.content: must be non-empty`;
      continue;
    }
    if (!Array.isArray(message.content) || message.content.length === 0) return `messages.${i}.content: non-empty blocks`;
    for (const block of message.content) {
      if (block.type === 'text' && !block.text) return `messages.${i}: text content blocks must be non-empty`;
      // Claude checks every thinking block's signature; unsigned is refused.
      if (block.type === 'thinking' && !block.signature) return `messages.${i}.content: thinking.signature: Field required`;
    }
  }
  // While thinking, the assistant turn a tool result answers starts with
  // its thinking block, signed by Claude (here: a signature a script gave).
  // A signature is Claude's over its block's own text: any other text
  // under it (merged blocks, edited thinking) is refused.
  const signed = new Map(Object.values(CLAUDE_SCRIPTS).flatMap((s) => s.content).filter((b) => b.type === 'thinking').map((b) => [b.signature, b.thinking]));
  for (const [i, message] of body.messages.entries()) {
    if (message.role !== 'assistant' || !Array.isArray(message.content)) continue;
    for (const [j, block] of message.content.entries()) {
      if (block.type === 'thinking' && block.signature && signed.get(block.signature) !== block.thinking) return `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`;
    }
  }
  if (body.thinking?.type === 'enabled') {
    const signatures = [...signed.keys()];
    const last = body.messages.at(-1);
    const answered = Array.isArray(last.content) && last.content.some((b) => b.type === 'tool_result');
    const turn = body.messages.at(-2);
    if (answered && turn?.role === 'assistant') {
      const first = Array.isArray(turn.content) ? turn.content[0] : null;
      if (first?.type !== 'thinking') return `messages.${body.messages.length - 2}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${first?.type}\``;
      if (!signatures.includes(first.signature)) return `messages.${body.messages.length - 2}.content.0: Invalid \`signature\` in \`thinking\` block`;
    }
  }
  if (body.system !== undefined && !Array.isArray(body.system) && typeof body.system !== 'string') return 'system: string or blocks';
  for (const key of ['n', 'seed', 'stream_options', 'response_format', 'parallel_tool_calls', 'max_completion_tokens', 'stop', 'user']) {
    if (key in body) return `${key}: Extra inputs are not permitted`;
  }
  for (const tool of body.tools ?? []) {
    // Server tools (web_search_20250305, ...) are typed and versioned.
    const serverTool = typeof tool.type === 'string' && /_\d{8}$/.test(tool.type);
    if (typeof tool.name !== 'string' || (!serverTool && typeof tool.input_schema !== 'object') || 'function' in tool) return 'tools: {name, input_schema}';
  }
  return null;
}

export class FakeClaude extends FakeHttpServer {
  // `version`: the anthropic-version accepted, or a list of them.
  constructor({ keys, version = '2023-06-01', seed = 4321 } = {}) {
    super((req, res) => this.#handle(req, res));
    this.expect = { keys, version };
    this.random = makeRandom(seed);
    this.requests = []; // {method, path, headers, body}
    this.rejected = []; // why requests were refused
  }

  async start() {
    await super.start();
    this.baseUrl = this.origin; // an origin, like https://api.anthropic.com
    return this;
  }

  async #handle(req, res) {
    const { body } = await readJsonBody(req);
    this.requests.push({ method: req.method, path: req.url, headers: req.headers, body });
    const problem = checkRequest(req, body, this.expect);
    if (problem) {
      this.rejected.push(problem);
      const status = problem.startsWith('no route') ? 404 : problem.includes('x-api-key') ? 401 : 400;
      const type = status === 401 ? 'authentication_error' : status === 404 ? 'not_found_error' : 'invalid_request_error';
      return this.#send(res, status, 'application/json', anthropicError(type, `fake claude: ${problem}`));
    }
    if (req.url === '/v1/messages/count_tokens') {
      return this.#send(res, 200, 'application/json', JSON.stringify({ input_tokens: countTokens(body) }));
    }
    const httpError = HTTP_ERRORS[body.model];
    if (httpError) {
      const [status, type, message] = httpError;
      return this.#send(res, status, 'application/json', anthropicError(type, message(body, req)));
    }
    const script = CLAUDE_SCRIPTS[body.model];
    if (!script) {
      return this.#send(res, 404, 'application/json', anthropicError('not_found_error', `model: ${body.model}`));
    }
    if (body.model.startsWith('claude-thinking') && body.thinking?.type !== 'enabled') {
      return this.#send(res, 400, 'application/json', anthropicError('invalid_request_error', 'fake claude: thinking not enabled'));
    }
    if (body.stream === true) {
      return this.#send(res, 200, 'text/event-stream; charset=utf-8', this.#stream(body.model, script));
    }
    return this.#send(res, 200, 'application/json', JSON.stringify(this.#message(body.model, script)));
  }

  #message(model, script) {
    return {
      id: `msg_fake_${model}`,
      type: 'message',
      role: 'assistant',
      model: `${model}-20250929`,
      content: script.content,
      stop_reason: script.stop_reason,
      stop_sequence: null,
      usage: script.usage,
    };
  }

  // The event stream Claude sends for the same message.
  #stream(model, script) {
    const message = { ...this.#message(model, script), content: [], stop_reason: null };
    message.usage = { ...script.usage, output_tokens: 1 };
    let out = event('message_start', { message });
    for (const [index, block] of script.content.entries()) {
      const delta = (d) => event('content_block_delta', { index, delta: d });
      if (block.type === 'text') {
        out += event('content_block_start', { index, content_block: { type: 'text', text: '' } });
        if (index === 0) out += event('ping', {});
        for (const text of pieces(block.text, this.random, 6)) {
          out += delta({ type: 'text_delta', text });
          if (script.errorAfterFirstDelta) {
            return out + event('error', { error: script.errorAfterFirstDelta });
          }
        }
      } else if (block.type === 'thinking') {
        out += event('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } });
        for (const thinking of pieces(block.thinking, this.random, 8)) out += delta({ type: 'thinking_delta', thinking });
        out += delta({ type: 'signature_delta', signature: block.signature });
      } else if (block.type === 'tool_use') {
        out += event('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
        out += delta({ type: 'input_json_delta', partial_json: '' });
        const json = Object.keys(block.input).length ? JSON.stringify(block.input) : '';
        for (const partial_json of pieces(json, this.random, 4)) out += delta({ type: 'input_json_delta', partial_json });
      }
      out += event('content_block_stop', { index });
    }
    out += event('message_delta', {
      delta: { stop_reason: script.stop_reason, stop_sequence: null },
      usage: { output_tokens: script.usage.output_tokens },
    });
    return out + event('message_stop', {});
  }

  // Writes `body` in pieces of 1..40 bytes, yielding to the event loop between them.
  #send(res, status, contentType, body) {
    return sendInPieces(res, this.random, status, { 'Content-Type': contentType, 'request-id': 'req_fake_1' }, body);
  }
}

export async function startFakeClaude(options) {
  return new FakeClaude(options).start();
}
