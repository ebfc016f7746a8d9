// A fake Google Generative Language API (Gemini) for the end-to-end tests.
//
// It serves POST /{version}/models/{model}:generateContent,
// :streamGenerateContent?alt=sse and :batchEmbedContents under any path
// prefix, in Gemini's real wire format: GenerateContentResponse JSON, SSE
// events separated by "\r\n\r\n" with the cumulative usageMetadata on every
// event, Google's error body {"error":{"code","message","status"}}.
//
// Every request is CHECKED (the x-goog-api-key is a provider key, no client
// credential, a well-formed body: alternating user/model turns, non-empty
// parts, function calls answered by function responses) and recorded; a
// request that breaks the protocol gets a 400 saying why and is kept in
// `violations`. The model name picks the answer (see MODELS). Bodies go out
// in 1..40-byte writes with event-loop gaps, so SSE events, JSON and UTF-8
// sequences reach the gateway split at arbitrary bytes.
import http from 'node:http';
import { makeRandom } from './fake_common.mjs';

export const GEMINI_TEXT = ['Bonjour', ' le monde', ' — ça va ? ', '你好 ✓'];
export const GEMINI_THOUGHT = 'The user greets me; answer in kind.';
export const GEMINI_RESPONSE_ID = 'gem-resp-7Yx';
export const GEMINI_MODEL_VERSION = 'gemini-2.5-flash-002';
// The last event's usageMetadata of every scripted answer.
export const GEMINI_USAGE = {
  promptTokenCount: 21,
  candidatesTokenCount: 12,
  totalTokenCount: 45,
  cachedContentTokenCount: 5,
  thoughtsTokenCount: 12,
  promptTokensDetails: [{ modality: 'TEXT', tokenCount: 21 }],
};
// The same usage in OpenAI's terms (completion includes the thoughts).
export const OPENAI_USAGE = {
  prompt_tokens: 21,
  completion_tokens: 24,
  total_tokens: 45,
  cached_tokens: 5,
  reasoning_tokens: 12,
};
export const WEATHER_CALLS = [
  { name: 'get_weather', args: { city: 'Paris', unit: 'celsius' } },
  { name: 'get_weather', args: { city: 'Tokyo', unit: 'celsius' } },
];

// Upstream model name -> behaviour.
export const MODELS = {
  text: 'gemini-text', // a thought, then text in several events
  tools: 'gemini-tools', // function calls; after function responses, a text that quotes them
  rateLimited: 'gemini-429', // HTTP 429 RESOURCE_EXHAUSTED
  keyLeak: 'gemini-key-leak', // HTTP 400 whose message quotes the key it received
  midStreamError: 'gemini-mid-error', // two text events, then an error event
  blocked: 'gemini-blocked', // promptFeedback.blockReason, no candidates
  maxTokens: 'gemini-max-tokens', // finishReason MAX_TOKENS
  embedding: 'gemini-embed', // batchEmbedContents
};

// Writes `bytes` in irregular 1..40-byte pieces with event-loop gaps.
async function writeInPieces(res, bytes, random) {
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(random() * 40);
    if (res.destroyed) return;
    res.write(bytes.subarray(at, at + size));
    at += size;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const googleError = (code, status, message) => ({ error: { code, message, status } });

function response(candidates, usage, extra = {}) {
  return {
    ...(candidates ? { candidates } : {}),
    usageMetadata: usage,
    modelVersion: GEMINI_MODEL_VERSION,
    responseId: GEMINI_RESPONSE_ID,
    ...extra,
  };
}

const candidate = (parts, finishReason) => ({
  content: { parts, role: 'model' },
  ...(finishReason ? { finishReason } : {}),
  index: 0,
});

const PARTIAL_USAGE = { promptTokenCount: 21, totalTokenCount: 21, thoughtsTokenCount: 12 };

// The GenerateContentResponse events of an answer (a whole answer is the
// same parts in one candidate).
function scriptedEvents(model, body) {
  if (model === MODELS.text || model === MODELS.maxTokens) {
    const finish = model === MODELS.text ? 'STOP' : 'MAX_TOKENS';
    return [
      response([candidate([{ text: GEMINI_THOUGHT, thought: true }])], PARTIAL_USAGE),
      ...GEMINI_TEXT.slice(0, -1).map((text) => response([candidate([{ text }])], PARTIAL_USAGE)),
      response([candidate([{ text: GEMINI_TEXT.at(-1), thoughtSignature: 'c2lnbmF0dXJl' }], finish)], GEMINI_USAGE),
    ];
  }
  if (model === MODELS.tools) {
    const last = body.contents.at(-1);
    const results = last.parts.filter((part) => part.functionResponse);
    if (results.length > 0) {
      // Second turn: quote the function responses back, proving they arrived.
      const text = results.map((part) => `${part.functionResponse.name}=${JSON.stringify(part.functionResponse.response)}`).join('; ');
      return [response([candidate([{ text }], 'STOP')], GEMINI_USAGE)];
    }
    const [paris, tokyo] = WEATHER_CALLS;
    return [
      response([candidate([{ text: 'Checking both cities.' }])], PARTIAL_USAGE),
      response([candidate([{ functionCall: paris, thoughtSignature: 'c2lnMQ==' }])], PARTIAL_USAGE),
      response([candidate([{ functionCall: tokyo }], 'STOP')], GEMINI_USAGE),
    ];
  }
  if (model === MODELS.midStreamError) {
    return [
      response([candidate([{ text: GEMINI_TEXT[0] }])], PARTIAL_USAGE),
      response([candidate([{ text: GEMINI_TEXT[1] }])], PARTIAL_USAGE),
      googleError(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.'),
    ];
  }
  if (model === MODELS.blocked) {
    return [
      {
        promptFeedback: { blockReason: 'PROHIBITED_CONTENT' },
        usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 },
        modelVersion: GEMINI_MODEL_VERSION,
        responseId: GEMINI_RESPONSE_ID,
      },
    ];
  }
  return null;
}

// One whole answer from the events: parts concatenated, last finish and usage.
function wholeAnswer(events) {
  const parts = events.flatMap((event) => event.candidates?.[0]?.content?.parts ?? []);
  const last = events.at(-1);
  if (!last.candidates) return last;
  const texts = [];
  const merged = [];
  for (const part of parts) {
    if (part.text !== undefined && !part.thought) texts.push(part.text);
    else merged.push(part);
  }
  if (texts.length) merged.push({ text: texts.join('') });
  return response([{ ...candidate(merged, last.candidates[0].finishReason), safetyRatings: [] }], last.usageMetadata);
}

// Why a generateContent body is not what Gemini accepts, or null.
// Gemini's count of a generateContent request (here: one token per four
// characters of its contents, system instruction and tools, rounded up).
export function countGeminiTokens(request) {
  const counted = JSON.stringify([request.contents, request.systemInstruction ?? null, request.tools ?? null]);
  return Math.ceil(counted.length / 4);
}

function checkChatBody(body) {
  if (!Array.isArray(body.contents) || body.contents.length === 0) return 'contents must be a non-empty array';
  let previousRole = null;
  for (const [i, content] of body.contents.entries()) {
    if (content.role !== 'user' && content.role !== 'model') return `contents[${i}].role must be user or model`;
    if (content.role === previousRole) return `contents[${i}] repeats role ${content.role}: turns must alternate`;
    previousRole = content.role;
    if (!Array.isArray(content.parts) || content.parts.length === 0) return `contents[${i}].parts must be non-empty`;
    for (const [j, part] of content.parts.entries()) {
      const kinds = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse'].filter((k) => k in part);
      if (kinds.length !== 1) return `contents[${i}].parts[${j}] must have exactly one data field`;
      if (part.functionCall && (typeof part.functionCall.args !== 'object' || Array.isArray(part.functionCall.args))) {
        return `contents[${i}].parts[${j}].functionCall.args must be an object`;
      }
      if (part.functionResponse && (typeof part.functionResponse.response !== 'object' || !part.functionResponse.name)) {
        return `contents[${i}].parts[${j}].functionResponse needs a name and an object response`;
      }
    }
    // A model turn with function calls must be answered by as many responses.
    const calls = content.parts.filter((part) => part.functionCall);
    if (calls.length) {
      if (!calls[0].thoughtSignature) return `contents[${i}]: the first functionCall needs a thoughtSignature`;
      const next = body.contents[i + 1];
      const answers = next ? next.parts.filter((part) => part.functionResponse) : [];
      if (next && answers.length !== calls.length) return `contents[${i + 1}] must answer each function call`;
    }
  }
  if ('system_instruction' in body || 'messages' in body || 'model' in body) return 'unexpected top-level field';
  return null;
}

export async function startFakeGemini({ keys }) {
  const requests = [];
  const violations = [];
  let served = 0;

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((err) => {
        violations.push(`handler crashed: ${err.stack}`);
        res.destroy();
      });
    });
  });

  function reject(res, why) {
    violations.push(why);
    res.writeHead(400, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(googleError(400, 'INVALID_ARGUMENT', `fake_gemini: ${why}`)));
  }

  async function handle(req, res, text) {
    const random = makeRandom(++served * 7919);
    const match = /^(\/[^?]*)?\/(v1beta|v1|v1alpha)\/models\/([A-Za-z0-9._-]+):(generateContent|streamGenerateContent|batchEmbedContents|countTokens)(\?alt=sse)?$/.exec(req.url);
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      /* checked below */
    }
    const record = { method: req.method, url: req.url, headers: req.headers, body, version: match?.[2], model: match?.[3], method_name: match?.[4] };
    requests.push(record);
    if (req.method !== 'POST' || !match) return reject(res, `unexpected request ${req.method} ${req.url}`);
    const [, , , model, method, alt] = match;
    if (!keys.includes(req.headers['x-goog-api-key'])) return reject(res, `x-goog-api-key is not a provider key: ${req.headers['x-goog-api-key']}`);
    if ('authorization' in req.headers) return reject(res, 'an Authorization header reached the upstream');
    if (!/^application\/json/.test(req.headers['content-type'] ?? '')) return reject(res, 'content-type is not JSON');
    if (body === null || typeof body !== 'object') return reject(res, 'the body is not a JSON object');
    if ((method === 'streamGenerateContent') !== (alt !== undefined)) return reject(res, 'alt=sse goes with streamGenerateContent only');

    if (model === MODELS.rateLimited) {
      res.writeHead(429, { 'content-type': 'application/json; charset=UTF-8' });
      return res.end(JSON.stringify(googleError(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).')));
    }
    if (model === MODELS.keyLeak) {
      res.writeHead(400, { 'content-type': 'application/json; charset=UTF-8' });
      return res.end(JSON.stringify(googleError(400, 'INVALID_ARGUMENT', `API key not valid: ${req.headers['x-goog-api-key']}. Please pass a valid API key.`)));
    }

    if (method === 'batchEmbedContents') {
      if (model !== MODELS.embedding) return reject(res, `no embedding model ${model}`);
      if (!Array.isArray(body.requests) || body.requests.length === 0) return reject(res, 'requests must be a non-empty array');
      for (const [i, one] of body.requests.entries()) {
        if (one.model !== `models/${model}`) return reject(res, `requests[${i}].model must be models/${model}`);
        if (one.content?.parts?.length !== 1 || typeof one.content.parts[0].text !== 'string') return reject(res, `requests[${i}].content must hold one text part`);
      }
      const embeddings = body.requests.map((one, i) => {
        const size = one.outputDimensionality ?? 4;
        return { values: Array.from({ length: size }, (_, k) => (k === 0 ? one.content.parts[0].text.length : i + k / 8)) };
      });
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
      await writeInPieces(res, Buffer.from(JSON.stringify({ embeddings })), random);
      return res.end();
    }

    if (method === 'countTokens') {
      // Either contents alone or a whole generateContentRequest naming the model.
      const inner = body.generateContentRequest;
      if (inner === undefined) return reject(res, 'countTokens: expected generateContentRequest (contents alone ignore the system instruction and tools)');
      if (inner.model !== `models/${model}`) return reject(res, `generateContentRequest.model must be models/${model}`);
      const { model: named, ...generate } = inner;
      const invalid = checkChatBody(generate);
      if (invalid) return reject(res, `generateContentRequest: ${invalid}`);
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
      const totalTokens = countGeminiTokens(inner);
      return res.end(JSON.stringify({ totalTokens, promptTokensDetails: [{ modality: 'TEXT', tokenCount: totalTokens }] }));
    }

    const why = checkChatBody(body);
    if (why) return reject(res, why);
    const events = scriptedEvents(model, body);
    if (!events) return reject(res, `no scripted model ${model}`);

    if (method === 'generateContent') {
      const whole = events.at(-1).error ? events.at(-1) : wholeAnswer(events);
      res.writeHead(whole.error ? whole.error.code : 200, { 'content-type': 'application/json; charset=UTF-8' });
      await writeInPieces(res, Buffer.from(JSON.stringify(whole, null, 2)), random);
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'content-disposition': 'attachment' });
    const sse = events.map((event) => `data: ${JSON.stringify(event)}\r\n\r\n`).join('');
    await writeInPieces(res, Buffer.from(sse), random);
    res.end();
  }

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    violations,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
