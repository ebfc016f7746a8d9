// The gemini provider end to end: the official OpenAI SDK and grpc-js in
// front of aigw, a fake Google Generative Language API behind it that checks
// every request (key header, body shape) and answers in Gemini's wire format
// in small irregular writes. Text, reasoning, usage, tools over two turns,
// streaming and not, errors before and after the first byte, embeddings.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import {
  GEMINI_RESPONSE_ID,
  GEMINI_TEXT,
  GEMINI_THOUGHT,
  MODELS,
  OPENAI_USAGE,
  WEATHER_CALLS,
  startFakeGemini,
} from './fake_gemini.mjs';
import { grpcClients, parseSseText, postChat, runGatewayExpectingExit, startGateway } from './harness.mjs';
import { collect, finishReasons, textOf } from './fake_common.mjs';

const GEMINI_KEYS = ['AIza-gemini-key-one', 'AIza-gemini-key-two'];
const V1_KEY = 'AIza-gemini-v1-key';
// The 429 model is served on keys of its own: a key answered 429 cools down,
// which must not starve the other tests.
const REJECTING_KEYS = Array.from({ length: 32 }, (_, i) => `AIza-gemini-rejecting-${i}`);
const CLIENT_KEY = 'client-key-must-not-leak';
const RPC_DEADLINE_MS = 10_000;
const FULL_TEXT = GEMINI_TEXT.join('');

let upstream;
let gateway;
let client;
let grpc;

before(async () => {
  upstream = await startFakeGemini({ keys: [...GEMINI_KEYS, V1_KEY, ...REJECTING_KEYS] });
  gateway = await startGateway({
    listen: { http: '127.0.0.1:0', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' },
    providers: [
      {
        name: 'google-rejecting',
        type: 'gemini',
        base_url: `${upstream.origin}/gw`,
        api_keys: REJECTING_KEYS,
        timeouts: { connect: '1s', read: '5s' },
        model_mapping: { 'g-429': MODELS.rateLimited },
      },
      {
        name: 'google-v1',
        type: 'gemini',
        base_url: upstream.origin,
        api_keys: [V1_KEY],
        api_version: 'v1',
        timeouts: { connect: '1s', read: '5s' },
        model_mapping: { 'v1-text': MODELS.text },
      },
      {
        name: 'google-strict',
        type: 'gemini',
        base_url: `${upstream.origin}/gw`,
        api_keys: GEMINI_KEYS,
        unsupported_params: 'reject',
        timeouts: { connect: '1s', read: '5s' },
        model_mapping: { 'strict-g-text': MODELS.text },
      },
      {
        name: 'google',
        type: 'gemini',
        base_url: `${upstream.origin}/gw`,
        api_keys: GEMINI_KEYS,
        timeouts: { connect: '1s', read: '5s' },
        model_mapping: { '~^g-(.*)$': 'gemini-$1' }, // g-text -> gemini-text, ...
      },
    ],
  });
  client = new OpenAI({ baseURL: `${gateway.httpUrl}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 });
  grpc = grpcClients(gateway.grpcAddr);
});

after(async () => {
  grpc?.close();
  await upstream?.stop();
  await gateway?.stop(); // last: it throws if aigw crashed during the tests
});

// Runs `fn`; returns its result and the upstream requests it caused, which
// must all have passed the fake's protocol checks.
async function upstreamDuring(fn) {
  const from = upstream.requests.length;
  const violationsBefore = upstream.violations.length;
  const result = await fn();
  assert.deepEqual(upstream.violations.slice(violationsBefore), [], 'the fake upstream found protocol violations');
  const requests = upstream.requests.slice(from);
  for (const request of requests) {
    for (const [name, value] of Object.entries(request.headers)) {
      assert.ok(!String(value).includes(CLIENT_KEY), `the client's key reached the upstream in ${name}`);
    }
  }
  return { result, requests };
}

function assertUsage(usage) {
  assert.equal(usage.prompt_tokens, OPENAI_USAGE.prompt_tokens);
  assert.equal(usage.completion_tokens, OPENAI_USAGE.completion_tokens);
  assert.equal(usage.total_tokens, OPENAI_USAGE.total_tokens);
  assert.equal(usage.prompt_tokens_details.cached_tokens, OPENAI_USAGE.cached_tokens);
  assert.equal(usage.completion_tokens_details.reasoning_tokens, OPENAI_USAGE.reasoning_tokens);
}

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city'] },
  },
};
// Gemini sends no call ids: aigw's are random, never repeated across turns.
const GENERATED_ID = /^call_[0-9a-f]{32}$/;
const WEATHER_QUESTION = [{ role: 'user', content: 'Weather in Paris and Tokyo?' }];

// The second turn: the assistant's calls answered by tool results.
function toolResultsTurn(assistantMessage) {
  return [
    ...WEATHER_QUESTION,
    assistantMessage,
    { role: 'tool', tool_call_id: assistantMessage.tool_calls[0].id, content: '{"temp":21,"sky":"sunny"}' },
    { role: 'tool', tool_call_id: assistantMessage.tool_calls[1].id, content: 'rain, 14 C' },
  ];
}
const TOOL_RESULTS_ANSWER = 'get_weather={"sky":"sunny","temp":21}; get_weather={"content":"rain, 14 C"}';

test('gemini: SDK non-streaming text with reasoning, usage and the request translated', async () => {
  const { result, requests } = await upstreamDuring(() =>
    client.chat.completions.create({
      model: 'g-text',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello!' },
      ],
      temperature: 0.25,
      top_p: 0.5,
      max_completion_tokens: 64,
      stop: ['END'],
      seed: 7,
    }),
  );
  assert.equal(result.object, 'chat.completion');
  assert.equal(result.id, `chatcmpl-${GEMINI_RESPONSE_ID}`);
  assert.equal(result.model, 'g-text');
  assert.equal(result.choices.length, 1);
  assert.equal(result.choices[0].message.role, 'assistant');
  assert.equal(result.choices[0].message.content, FULL_TEXT);
  assert.equal(result.choices[0].message.reasoning_content, GEMINI_THOUGHT);
  assert.equal(result.choices[0].finish_reason, 'stop');
  assertUsage(result.usage);

  assert.equal(requests.length, 1);
  const [request] = requests;
  assert.equal(request.url, `/gw/v1beta/models/${MODELS.text}:generateContent`);
  assert.ok(GEMINI_KEYS.includes(request.headers['x-goog-api-key']));
  assert.deepEqual(request.body, {
    systemInstruction: { parts: [{ text: 'Be brief.' }] },
    contents: [{ role: 'user', parts: [{ text: 'Hello!' }] }],
    generationConfig: { temperature: 0.25, topP: 0.5, maxOutputTokens: 64, stopSequences: ['END'], seed: 7 },
  });
});

test('gemini: SDK streaming delivers role, reasoning and text deltas, one finish, usage last', async () => {
  const { result: chunks, requests } = await upstreamDuring(async () =>
    collect(
      await client.chat.completions.create({
        model: 'g-text',
        messages: [{ role: 'user', content: 'Hello!' }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    ),
  );
  assert.equal(requests[0].url, `/gw/v1beta/models/${MODELS.text}:streamGenerateContent?alt=sse`);
  assert.equal(requests[0].headers.accept, 'text/event-stream');
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  assert.equal(chunks[0].choices[0].delta.reasoning_content, GEMINI_THOUGHT);
  assert.equal(textOf(chunks), FULL_TEXT);
  // One chunk per upstream event: the text arrives in pieces, not buffered.
  assert.deepEqual(
    chunks.map((c) => c.choices[0]?.delta?.content).filter(Boolean),
    GEMINI_TEXT,
  );
  assert.deepEqual(finishReasons(chunks), ['stop']);
  for (const chunk of chunks) {
    assert.equal(chunk.id, `chatcmpl-${GEMINI_RESPONSE_ID}`);
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(chunk.model, 'g-text');
  }
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assertUsage(last.usage);
  assert.equal(chunks.filter((c) => c.usage).length, 1, 'usage is reported once');
});

test('gemini: streaming without include_usage sends no usage chunk; keys alternate', async () => {
  const { result: chunks, requests } = await upstreamDuring(async () => {
    const first = await collect(await client.chat.completions.create({ model: 'g-text', messages: [{ role: 'user', content: 'a' }], stream: true }));
    await client.chat.completions.create({ model: 'g-text', messages: [{ role: 'user', content: 'b' }] });
    return first;
  });
  assert.equal(textOf(chunks), FULL_TEXT);
  assert.ok(chunks.every((c) => !c.usage && c.choices.length === 1));
  const keys = requests.map((r) => r.headers['x-goog-api-key']);
  assert.equal(new Set(keys).size, 2, `both keys used in turn: ${keys}`);
});

test('gemini: api_version option and the origin base_url give /v1/models/...', async () => {
  const { result, requests } = await upstreamDuring(() => client.chat.completions.create({ model: 'v1-text', messages: [{ role: 'user', content: 'hi' }] }));
  assert.equal(result.choices[0].message.content, FULL_TEXT);
  assert.equal(requests[0].url, `/v1/models/${MODELS.text}:generateContent`);
  assert.equal(requests[0].headers['x-goog-api-key'], V1_KEY);
});

test('gemini: MAX_TOKENS finishes with length', async () => {
  const result = await client.chat.completions.create({ model: 'g-max-tokens', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
  assert.equal(result.choices[0].finish_reason, 'length');
});

test('gemini: SDK non-streaming tools, then the tool results turn', async () => {
  const { result, requests } = await upstreamDuring(() =>
    client.chat.completions.create({ model: 'g-tools', messages: WEATHER_QUESTION, tools: [WEATHER_TOOL], tool_choice: 'required' }),
  );
  assert.deepEqual(requests[0].body.tools, [{ functionDeclarations: [{ name: 'get_weather', description: WEATHER_TOOL.function.description, parametersJsonSchema: WEATHER_TOOL.function.parameters }] }]);
  assert.deepEqual(requests[0].body.toolConfig, { functionCallingConfig: { mode: 'ANY' } });
  const message = result.choices[0].message;
  assert.equal(result.choices[0].finish_reason, 'tool_calls');
  assert.equal(message.content, 'Checking both cities.');
  assert.equal(message.tool_calls.length, 2);
  assert.notEqual(message.tool_calls[0].id, message.tool_calls[1].id);
  message.tool_calls.forEach((call, i) => {
    assert.match(call.id, GENERATED_ID);
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, WEATHER_CALLS[i].name);
    assert.deepEqual(JSON.parse(call.function.arguments), WEATHER_CALLS[i].args);
  });

  const { result: answer, requests: second } = await upstreamDuring(() =>
    client.chat.completions.create({ model: 'g-tools', messages: toolResultsTurn(message), tools: [WEATHER_TOOL] }),
  );
  assert.equal(answer.choices[0].message.content, TOOL_RESULTS_ANSWER);
  assert.equal(answer.choices[0].finish_reason, 'stop');
  const contents = second[0].body.contents;
  assert.deepEqual(contents.map((c) => c.role), ['user', 'model', 'user']);
  assert.deepEqual(contents[1].parts.filter((p) => p.functionCall).map((p) => p.functionCall), WEATHER_CALLS);
});

test('gemini: SDK streaming tool calls arrive whole, with index and id, finish tool_calls', async () => {
  const { result: chunks } = await upstreamDuring(async () =>
    collect(await client.chat.completions.create({ model: 'g-tools', messages: WEATHER_QUESTION, tools: [WEATHER_TOOL], stream: true })),
  );
  const deltas = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
  assert.equal(deltas.length, 2);
  // One call per chunk, as OpenAI streams them (NextChat keeps only the
  // first call of a chunk).
  for (const chunk of chunks) assert.ok((chunk.choices[0]?.delta?.tool_calls ?? []).length <= 1);
  deltas.forEach((delta, i) => {
    assert.equal(delta.index, i);
    assert.match(delta.id, GENERATED_ID);
    assert.equal(delta.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(delta.function.arguments), WEATHER_CALLS[i].args);
  });
  assert.deepEqual(finishReasons(chunks), ['tool_calls']);

  // The assembled assistant message drives the second turn, streamed too.
  const assistant = {
    role: 'assistant',
    content: textOf(chunks),
    tool_calls: deltas.map((d) => ({ id: d.id, type: 'function', function: d.function })),
  };
  const { result: answer } = await upstreamDuring(async () =>
    collect(await client.chat.completions.create({ model: 'g-tools', messages: toolResultsTurn(assistant), tools: [WEATHER_TOOL], stream: true })),
  );
  assert.equal(textOf(answer), TOOL_RESULTS_ANSWER);
});

test('gemini: upstream 429 keeps its status and message, streaming or not', async () => {
  for (const stream of [false, true]) {
    await assert.rejects(
      () => client.chat.completions.create({ model: 'g-429', messages: [{ role: 'user', content: 'hi' }], stream }),
      (err) => {
        assert.equal(err.status, 429, `stream=${stream}`);
        assert.match(err.message, /Resource has been exhausted/);
        return true;
      },
    );
  }
});

test('gemini: a key quoted in an upstream error is redacted', async () => {
  const response = await postChat(gateway.httpUrl, { model: 'g-key-leak', messages: [{ role: 'user', content: 'hi' }] });
  const text = await response.text();
  assert.equal(response.status, 400);
  for (const key of GEMINI_KEYS) assert.ok(!text.includes(key), `key leaked: ${text}`);
  assert.match(JSON.parse(text).error.message, /API key not valid: \[redacted\]/);
});

test('gemini: an error event mid-stream ends the stream with an error event, no [DONE]', async () => {
  const response = await postChat(gateway.httpUrl, { model: 'g-mid-error', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(response.status, 200);
  const events = parseSseText(await response.text());
  assert.ok(!events.includes('[DONE]'));
  const last = JSON.parse(events.at(-1));
  assert.match(last.error.message, /The model is overloaded/);
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
  assert.equal(textOf(chunks), GEMINI_TEXT[0] + GEMINI_TEXT[1]);

  await assert.rejects(
    async () => collect(await client.chat.completions.create({ model: 'g-mid-error', messages: [{ role: 'user', content: 'hi' }], stream: true })),
    /The model is overloaded/,
  );
});

test('gemini: a blocked prompt is a 400 content_filter error', async () => {
  for (const stream of [false, true]) {
    const response = await postChat(gateway.httpUrl, { model: 'g-blocked', stream, messages: [{ role: 'user', content: 'hi' }] });
    const body = await response.json();
    assert.equal(response.status, 400, `stream=${stream}`);
    assert.equal(body.error.code, 'content_filter');
    assert.match(body.error.message, /PROHIBITED_CONTENT/);
  }
});

test('gemini: unsupported_params drop (the default) leaves out what Gemini cannot express and names it', async () => {
  const { result: response, requests } = await upstreamDuring(() =>
    postChat(gateway.httpUrl, {
      model: 'g-text',
      messages: [{ role: 'user', content: 'hi', name: 'bob' }],
      tools: [{ ...WEATHER_TOOL, function: { ...WEATHER_TOOL.function, strict: true } }],
      parallel_tool_calls: false,
      logit_bias: { 5: 1 },
      user: 'u-1',
    }),
  );
  assert.equal(response.status, 200, await response.clone().text());
  assert.equal(response.headers.get('x-aigw-dropped-params'), 'tools[*].function.strict,parallel_tool_calls,logit_bias');
  // The strict tool's schema is still sent.
  assert.deepEqual(requests[0].body.tools[0].functionDeclarations[0].parametersJsonSchema, WEATHER_TOOL.function.parameters);
});

test('gemini: unsupported_params reject: what Gemini cannot express is a 400 naming the field, and never reaches it', async () => {
  const cases = [
    [{ logit_bias: { 5: 1 } }, 'logit_bias'],
    [{ tools: [WEATHER_TOOL], parallel_tool_calls: false }, 'parallel_tool_calls'],
    [{ messages: [{ role: 'user', content: 'hi', function_call: { name: 'f' } }] }, 'messages[0].function_call'],
  ];
  for (const [extra, param] of cases) {
    const { result: response, requests } = await upstreamDuring(() =>
      postChat(gateway.httpUrl, { model: 'strict-g-text', messages: [{ role: 'user', content: 'hi' }], ...extra }),
    );
    const body = await response.json();
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(body.error.param, param);
    assert.equal(requests.length, 0);
  }
});

test('gemini: images become inlineData and fileData', async () => {
  const { requests } = await upstreamDuring(() =>
    client.chat.completions.create({
      model: 'g-text',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.webp' } },
          ],
        },
      ],
    }),
  );
  assert.deepEqual(requests[0].body.contents[0].parts, [
    { text: 'What is this?' },
    { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
    { fileData: { mimeType: 'image/webp', fileUri: 'https://example.com/cat.webp' } },
  ]);
});

test('gemini: SDK embeddings through batchEmbedContents', async () => {
  const { result, requests } = await upstreamDuring(() =>
    client.embeddings.create({ model: 'g-embed', input: ['hello', 'world!'], dimensions: 3 }),
  );
  assert.equal(requests[0].url, `/gw/v1beta/models/${MODELS.embedding}:batchEmbedContents`);
  assert.deepEqual(requests[0].body.requests.map((r) => r.outputDimensionality), [3, 3]);
  assert.equal(result.object, 'list');
  assert.equal(result.model, 'g-embed');
  assert.deepEqual(
    result.data.map((d) => [d.index, d.object, d.embedding]),
    [
      [0, 'embedding', [5, 0.125, 0.25]],
      [1, 'embedding', [6, 1.125, 1.25]],
    ],
  );
  assert.equal(result.usage.prompt_tokens, 0); // Gemini does not count embedding tokens
});

// ---------------------------------------------------------------- gRPC

const deadline = () => new Date(Date.now() + RPC_DEADLINE_MS);

function unary(method, request) {
  return new Promise((resolve, reject) => {
    grpc.chat[method](request, { deadline: deadline() }, (err, response) => (err ? reject(err) : resolve(response)));
  });
}

function readStream(request) {
  return new Promise((resolve) => {
    const chunks = [];
    const call = grpc.chat.Stream(request, { deadline: deadline() });
    call.on('data', (chunk) => chunks.push(chunk));
    call.on('error', (error) => resolve({ chunks, error }));
    call.on('end', () => resolve({ chunks, error: null }));
  });
}

function toValue(value) {
  if (Array.isArray(value)) return { listValue: { values: value.map(toValue) } };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  return { structValue: toStruct(value) };
}
const toStruct = (object) => ({ fields: Object.fromEntries(Object.entries(object).map(([k, v]) => [k, toValue(v)])) });

const GRPC_TOOL = { type: 'function', function: { name: 'get_weather', description: WEATHER_TOOL.function.description, parameters: toStruct(WEATHER_TOOL.function.parameters) } };

test('gemini: gRPC Create answers text and tool calls', async () => {
  const text = await unary('Create', { model: 'g-text', messages: [{ role: 'user', content: 'Hello!' }] });
  assert.equal(text.model, 'g-text');
  assert.equal(text.choices[0].message.content, FULL_TEXT);
  assert.equal(text.choices[0].finish_reason, 'stop');
  assert.equal(text.usage.total_tokens, OPENAI_USAGE.total_tokens);

  const { result: tools } = await upstreamDuring(() => unary('Create', { model: 'g-tools', messages: WEATHER_QUESTION, tools: [GRPC_TOOL] }));
  assert.equal(tools.choices[0].finish_reason, 'tool_calls');
  assert.deepEqual(
    tools.choices[0].message.tool_calls.map((c) => [c.function.name, JSON.parse(c.function.arguments)]),
    WEATHER_CALLS.map((call) => [call.name, call.args]),
  );
  for (const call of tools.choices[0].message.tool_calls) assert.match(call.id, GENERATED_ID);
});

test('gemini: gRPC Stream delivers deltas, one finish and usage', async () => {
  const { chunks, error } = await readStream({ model: 'g-text', messages: [{ role: 'user', content: 'Hello!' }], stream_options: { include_usage: true } });
  assert.equal(error, null);
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), FULL_TEXT);
  assert.deepEqual(finishReasons(chunks), ['stop']);
  assert.equal(chunks.at(-1).usage.completion_tokens, OPENAI_USAGE.completion_tokens);

  const failed = await readStream({ model: 'g-429', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(failed.error?.code, 8); // RESOURCE_EXHAUSTED
});

test('gemini: gRPC Embeddings', async () => {
  const response = await unary('Embeddings', { model: 'g-embed', input: ['abc'] });
  assert.deepEqual(response.data[0].embedding, [3, 0.125, 0.25, 0.375]);
});

test('gemini: config rejects unknown keys and bad api_version', async () => {
  const base = { listen: { http: '127.0.0.1:0', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' } };
  const unknown = await runGatewayExpectingExit(['--check'], {
    config: { ...base, providers: [{ name: 'g', type: 'gemini', api_keys: ['k'], mode: 'x' }] },
  });
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /providers\[0\]\.mode: not a key of the gemini provider/);
  const keyless = await runGatewayExpectingExit(['--check'], { config: { ...base, providers: [{ name: 'g', type: 'gemini' }] } });
  assert.notEqual(keyless.code, 0);
  assert.match(keyless.stderr, /providers\[0\]\.api_keys/);
  const badVersion = await runGatewayExpectingExit(['--check'], {
    config: { ...base, providers: [{ name: 'g', type: 'gemini', api_keys: ['k'], api_version: 'v1/../x' }] },
  });
  assert.notEqual(badVersion.code, 0);
  assert.match(badVersion.stderr, /providers\[0\]\.api_version/);
  const fine = await runGatewayExpectingExit(['--check'], { config: { ...base, providers: [{ name: 'g', type: 'gemini', api_keys: ['k'] }] } });
  assert.equal(fine.code, 0, fine.stderr);
});
