// The claude provider end to end: the official OpenAI SDK and grpc-js talk to
// aigw, which speaks Anthropic's Messages API to a fake Claude upstream that
// checks every request and answers in Claude's wire format, split anywhere.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { CLAUDE_SCRIPTS, startFakeClaude } from './fake_claude.mjs';
import { assertOpenAIError, chatRequest, deltaText, grpcClients, postChat, readSse, runGatewayExpectingExit, startGateway } from './harness.mjs';
import { collect } from './fake_common.mjs';

const CLAUDE_KEYS = ['sk-ant-fake-1', 'sk-ant-fake-2'];
// The 401/429 models are served on keys of their own: a key answered 401
// leaves the rotation and one answered 429 cools down, which must not starve
// the other tests.
const KEY_POISONING_MODELS = ['claude-http-429', 'claude-http-401-leak'];
const REJECTING_KEYS = Array.from({ length: 32 }, (_, i) => `sk-ant-fake-rejecting-${i}`);
const RPC_DEADLINE_MS = 10_000;

let upstream;
let gateway;
let client;
let grpc;

function claudeProvider(extra = {}) {
  return {
    name: 'anthropic',
    type: 'claude',
    base_url: upstream.baseUrl,
    api_keys: CLAUDE_KEYS,
    timeouts: { connect: '1s', read: '3s' },
    model_mapping: { 'gpt-4o': 'claude-text', 'claude-*': '' },
    ...extra,
  };
}

before(async () => {
  upstream = await startFakeClaude({ keys: [...CLAUDE_KEYS, ...REJECTING_KEYS], version: '2023-06-01' });
  gateway = await startGateway({
    listen: { http: '127.0.0.1:0', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' },
    providers: [
      {
        name: 'anthropic-rejecting',
        type: 'claude',
        base_url: upstream.baseUrl,
        api_keys: REJECTING_KEYS,
        timeouts: { connect: '1s', read: '3s' },
        models: KEY_POISONING_MODELS,
      },
      {
        ...claudeProvider({ unsupported_params: 'reject', model_mapping: { 'strict-claude-text': 'claude-text' } }),
        name: 'anthropic-strict',
      },
      claudeProvider(),
    ],
  });
  client = new OpenAI({ baseURL: `${gateway.httpUrl}/v1`, apiKey: 'client-key', maxRetries: 0 });
  grpc = grpcClients(gateway.grpcAddr);
});

after(async () => {
  grpc?.close();
  await upstream?.stop();
  await gateway?.stop(); // last: it throws if aigw crashed during the tests
});

const choicesOf = (chunks) => chunks.flatMap((c) => c.choices ?? []);
const finishReasons = (chunks) => choicesOf(chunks).map((c) => c.finish_reason).filter(Boolean);
const scriptText = (model, type = 'text') =>
  CLAUDE_SCRIPTS[model].content.filter((b) => b.type === type).map((b) => b[type === 'text' ? 'text' : 'thinking']).join('');
const scriptTools = (model) => CLAUDE_SCRIPTS[model].content.filter((b) => b.type === 'tool_use');

// Tool calls folded from stream deltas the way OpenAI clients do it.
function foldToolCalls(chunks) {
  const calls = [];
  for (const choice of choicesOf(chunks)) {
    for (const delta of choice.delta?.tool_calls ?? []) {
      assert.equal(typeof delta.index, 'number', `tool-call delta without index: ${JSON.stringify(delta)}`);
      const call = (calls[delta.index] ??= { id: '', name: '', arguments: '' });
      if (delta.id) call.id = delta.id;
      if (delta.function?.name) call.name += delta.function.name;
      call.arguments += delta.function?.arguments ?? '';
    }
  }
  return calls;
}

// Every request reached the fake upstream in a shape Claude accepts, with a provider key.
function assertUpstreamHappy() {
  assert.deepEqual(upstream.rejected, [], 'the fake Claude refused requests');
}

function lastUpstreamRequest() {
  const request = upstream.lastRequest();
  assert.ok(request, 'the upstream was called');
  assert.equal(request.path, '/v1/messages');
  assert.ok(CLAUDE_KEYS.includes(request.headers['x-api-key']));
  assert.equal(request.headers['anthropic-version'], '2023-06-01');
  assert.equal(request.headers.authorization, undefined);
  assert.ok(!JSON.stringify(request.headers).includes('client-key'), 'client credentials reached the upstream');
  return request;
}

test('claude: SDK non-streaming text, with the system prompt, default max_tokens and usage', async () => {
  const completion = await client.chat.completions.create({
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Say hello.' },
    ],
  });
  assertUpstreamHappy();
  const { body, headers } = lastUpstreamRequest();
  assert.equal(headers.accept, 'application/json');
  assert.deepEqual(body, {
    model: 'claude-text',
    max_tokens: 4096,
    system: [{ type: 'text', text: 'You are terse.' }],
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Say hello.' }] }],
  });
  assert.equal(completion.object, 'chat.completion');
  assert.equal(completion.model, 'gpt-4o');
  assert.equal(completion.id, 'msg_fake_claude-text');
  assert.equal(completion.choices.length, 1);
  assert.equal(completion.choices[0].message.role, 'assistant');
  assert.equal(completion.choices[0].message.content, scriptText('claude-text'));
  assert.equal(completion.choices[0].finish_reason, 'stop');
  assert.equal(completion.usage.prompt_tokens, 16, 'input_tokens + cached tokens');
  assert.equal(completion.usage.completion_tokens, 17);
  assert.equal(completion.usage.total_tokens, 33);
  assert.equal(completion.usage.prompt_tokens_details.cached_tokens, 4);
});

test('claude: SDK streaming text arrives in many chunks, one finish_reason, usage last', async () => {
  const chunks = await collect(
    await client.chat.completions.create({
      model: 'claude-text',
      messages: [{ role: 'user', content: 'Say hello.' }],
      max_completion_tokens: 64,
      temperature: 0.2,
      stop: ['\n\nHuman:'],
      stream: true,
      stream_options: { include_usage: true },
    }),
  );
  assertUpstreamHappy();
  const { body, headers } = lastUpstreamRequest();
  assert.equal(headers.accept, 'text/event-stream');
  assert.equal(body.stream, true);
  assert.equal(body.max_tokens, 64);
  assert.equal(body.temperature, 0.2);
  assert.deepEqual(body.stop_sequences, ['\n\nHuman:']);
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  assert.equal(deltaText(chunks), scriptText('claude-text'));
  assert.ok(chunks.length > 8, `expected one chunk per text_delta, got ${chunks.length}`);
  assert.deepEqual(finishReasons(chunks), ['stop']);
  for (const chunk of chunks) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(chunk.model, 'claude-text');
    assert.equal(chunk.id, 'msg_fake_claude-text');
  }
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.deepEqual(
    { prompt: last.usage.prompt_tokens, completion: last.usage.completion_tokens, total: last.usage.total_tokens },
    { prompt: 16, completion: 17, total: 33 },
  );
  assert.equal(chunks.filter((c) => c.usage).length, 1);
});

const WEATHER_TOOLS = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather for a city',
      parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
    },
  },
  { type: 'function', function: { name: 'get_time', description: 'Current time' } },
];

test('claude: SDK streaming tool calls, arguments split across many input_json_delta events', async () => {
  const chunks = await collect(
    await client.chat.completions.create({
      model: 'claude-tools',
      messages: [{ role: 'user', content: 'Weather and time in São Paulo?' }],
      tools: WEATHER_TOOLS,
      tool_choice: 'required',
      parallel_tool_calls: false,
      max_tokens: 300,
      stream: true,
    }),
  );
  assertUpstreamHappy();
  const { body } = lastUpstreamRequest();
  assert.deepEqual(body.tools, [
    {
      name: 'get_weather',
      description: 'Current weather for a city',
      input_schema: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
    },
    { name: 'get_time', description: 'Current time', input_schema: { type: 'object', properties: {} } },
  ]);
  assert.deepEqual(body.tool_choice, { type: 'any', disable_parallel_tool_use: true });
  assert.equal(body.max_tokens, 300);

  assert.equal(deltaText(chunks), scriptText('claude-tools'));
  const argumentDeltas = choicesOf(chunks).filter((c) => c.delta?.tool_calls?.[0]?.index === 0 && c.delta.tool_calls[0].function?.arguments);
  assert.ok(argumentDeltas.length > 10, `arguments should stream in many deltas, got ${argumentDeltas.length}`);
  const calls = foldToolCalls(chunks);
  const expected = scriptTools('claude-tools');
  assert.equal(calls.length, 2);
  assert.deepEqual(calls.map((c) => c.id), expected.map((t) => t.id));
  assert.deepEqual(calls.map((c) => c.name), ['get_weather', 'get_time']);
  assert.deepEqual(JSON.parse(calls[0].arguments), expected[0].input);
  assert.deepEqual(JSON.parse(calls[1].arguments), {});
  assert.deepEqual(finishReasons(chunks), ['tool_calls']);
});

test('claude: SDK non-streaming tool round trip (tool_use and tool_result blocks, images)', async () => {
  const completion = await client.chat.completions.create({
    model: 'claude-tools',
    messages: [
      { role: 'developer', content: 'Use the tools.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Where is this? Weather there?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://example.test/cat.jpg' } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'toolu_prev', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }],
      },
      { role: 'tool', tool_call_id: 'toolu_prev', content: '18°C, cloudy' },
      { role: 'user', content: 'And tomorrow?' },
    ],
    tools: WEATHER_TOOLS,
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
  });
  assertUpstreamHappy();
  const { body } = lastUpstreamRequest();
  assert.deepEqual(body.system, [{ type: 'text', text: 'Use the tools.' }]);
  assert.deepEqual(body.tool_choice, { type: 'tool', name: 'get_weather' });
  assert.deepEqual(body.messages, [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Where is this? Weather there?' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        { type: 'image', source: { type: 'url', url: 'https://example.test/cat.jpg' } },
      ],
    },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_prev', name: 'get_weather', input: { location: 'Paris' } }] },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_prev', content: '18°C, cloudy' },
        { type: 'text', text: 'And tomorrow?' },
      ],
    },
  ]);
  const message = completion.choices[0].message;
  assert.equal(message.content, scriptText('claude-tools'));
  assert.equal(completion.choices[0].finish_reason, 'tool_calls');
  assert.equal(message.tool_calls.length, 2);
  assert.equal(message.tool_calls[0].id, scriptTools('claude-tools')[0].id);
  assert.equal(message.tool_calls[0].type, 'function');
  assert.equal(message.tool_calls[0].function.name, 'get_weather');
  assert.deepEqual(JSON.parse(message.tool_calls[0].function.arguments), scriptTools('claude-tools')[0].input);
  assert.deepEqual(JSON.parse(message.tool_calls[1].function.arguments), {});
  assert.equal(completion.usage.prompt_tokens, 400);
});

test('claude: SDK streaming thinking arrives as reasoning_content before the answer', async () => {
  const chunks = await collect(
    await client.chat.completions.create({
      model: 'claude-thinking',
      messages: [{ role: 'user', content: 'What is 27 * 453?' }],
      max_tokens: 2000,
      thinking: { type: 'enabled', budget_tokens: 1024 }, // Claude's own key, sent as extra body
      stream: true,
    }),
  );
  assertUpstreamHappy();
  assert.deepEqual(lastUpstreamRequest().body.thinking, { type: 'enabled', budget_tokens: 1024 });
  const reasoning = choicesOf(chunks).map((c) => c.delta?.reasoning_content ?? '').join('');
  assert.equal(reasoning, scriptText('claude-thinking', 'thinking'));
  assert.equal(deltaText(chunks), scriptText('claude-thinking'));
  const reasoningChunks = choicesOf(chunks).filter((c) => c.delta?.reasoning_content);
  assert.ok(reasoningChunks.length > 3, 'thinking streams in several deltas');
  const firstText = chunks.findIndex((c) => c.choices[0]?.delta?.content);
  const lastReasoning = chunks.findLastIndex((c) => c.choices[0]?.delta?.reasoning_content);
  assert.ok(lastReasoning < firstText, 'reasoning comes before the answer');
  assert.deepEqual(finishReasons(chunks), ['stop']);
});

test('claude: an error event mid-stream ends the SSE stream with a data: {"error":...} event', async () => {
  const response = await postChat(gateway.httpUrl, chatRequest('claude-overloaded-midstream', 'hi', { stream: true }));
  assert.equal(response.status, 200);
  const { chunks, done } = await readSse(response);
  assert.equal(done, false, 'a failed stream must not end with [DONE]');
  const last = chunks.pop();
  assert.match(last.error?.message ?? '', /Overloaded/, `last event: ${JSON.stringify(last)}`);
  assert.ok(deltaText(chunks).length > 0, 'the text before the error is delivered');
  assert.ok(scriptText('claude-overloaded-midstream').startsWith(deltaText(chunks)));
  assert.deepEqual(finishReasons(chunks), []);
});

test('claude: upstream HTTP errors keep their meaning (429, 404, 529 -> 502) with Claude\'s message', async () => {
  const cases = [
    ['claude-http-429', 429, /per-minute rate limit/, OpenAI.RateLimitError],
    ['claude-http-404', 404, /model: claude-http-404/, OpenAI.NotFoundError],
    ['claude-http-529', 502, /Overloaded/, OpenAI.InternalServerError],
  ];
  for (const [model, status, message, ErrorClass] of cases) {
    const error = await assertOpenAIError(await postChat(gateway.httpUrl, chatRequest(model, 'hi')), status);
    assert.match(error.message, message);
    const streamed = await assertOpenAIError(await postChat(gateway.httpUrl, chatRequest(model, 'hi', { stream: true })), status);
    assert.match(streamed.message, message);
    await assert.rejects(client.chat.completions.create(chatRequest(model, 'hi')), (err) => err instanceof ErrorClass && err.status === status);
  }
});

test('claude: a provider key quoted in an upstream 401 is redacted', async () => {
  const response = await postChat(gateway.httpUrl, chatRequest('claude-http-401-leak', 'hi'));
  const text = await response.clone().text();
  const error = await assertOpenAIError(response, 401);
  assert.match(error.message, /invalid x-api-key/);
  assert.ok(!text.includes('sk-ant-fake'), `provider key leaked: ${text}`);
});

test('claude: unsupported_params drop (the default) leaves out what Claude cannot express and names it in x-aigw-dropped-params', async () => {
  const response = await postChat(
    gateway.httpUrl,
    chatRequest('claude-text', 'hi', { n: 2, seed: 42, frequency_penalty: 0.5, logit_bias: { 50256: -100 } }),
  );
  assert.equal(response.status, 200, await response.clone().text());
  assert.equal(response.headers.get('x-aigw-dropped-params'), 'logit_bias,n,seed,frequency_penalty');
  const sent = upstream.requests.at(-1).body;
  for (const field of ['n', 'seed', 'frequency_penalty', 'logit_bias', 'top_p']) {
    assert.ok(!(field in sent), `${field} reached Claude: ${JSON.stringify(sent)}`);
  }
  // Neutral values are never reported.
  const neutral = await postChat(
    gateway.httpUrl,
    chatRequest('claude-text', 'hi', { n: 1, frequency_penalty: 0, presence_penalty: 0, top_p: 1, logprobs: false }),
  );
  assert.equal(neutral.status, 200);
  assert.equal(neutral.headers.get('x-aigw-dropped-params'), null);
});

test('claude: unsupported_params reject: fields Claude cannot express are a 400 naming the field, before any upstream call', async () => {
  const before = upstream.requests.length;
  const cases = [
    [{ n: 2 }, 'n'],
    [{ seed: 42 }, 'seed'],
    [{ frequency_penalty: 0.5 }, 'frequency_penalty'],
    [{ response_format: { type: 'json_object' } }, 'response_format.type'],
    [{ logit_bias: { 50256: -100 } }, 'logit_bias'],
  ];
  for (const [extra, param] of cases) {
    const error = await assertOpenAIError(
      await postChat(gateway.httpUrl, chatRequest('strict-claude-text', 'hi', extra)),
      400,
    );
    assert.equal(error.param, param, JSON.stringify(error));
  }
  const badArgs = {
    model: 'claude-text',
    messages: [
      { role: 'user', content: 'x' },
      { role: 'assistant', tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":' } }] },
      { role: 'tool', tool_call_id: 't1', content: 'r' },
    ],
  };
  const error = await assertOpenAIError(await postChat(gateway.httpUrl, badArgs), 400);
  assert.equal(error.param, 'messages[1].tool_calls[0].function.arguments');
  assert.equal(upstream.requests.length, before, 'rejected requests never reach Claude');
});

// ---------------------------------------------------------------- gRPC

const deadline = () => new Date(Date.now() + RPC_DEADLINE_MS);

function grpcCreate(request) {
  return new Promise((resolve, reject) => {
    grpc.chat.Create(request, { deadline: deadline() }, (err, response) => (err ? reject(err) : resolve(response)));
  });
}

function grpcStream(request) {
  return new Promise((resolve) => {
    const chunks = [];
    const call = grpc.chat.Stream(request, { deadline: deadline() });
    call.on('data', (chunk) => chunks.push(chunk));
    call.on('error', (error) => resolve({ chunks, error }));
    call.on('end', () => resolve({ chunks, error: null }));
  });
}

test('claude: gRPC Create answers from Claude', async () => {
  const response = await grpcCreate({ model: 'claude-text', messages: [{ role: 'user', content: 'Say hello.' }] });
  assertUpstreamHappy();
  assert.equal(lastUpstreamRequest().body.stream, undefined);
  assert.equal(response.object, 'chat.completion');
  assert.equal(response.model, 'claude-text');
  assert.equal(response.choices[0].message.role, 'assistant');
  assert.equal(response.choices[0].message.content, scriptText('claude-text'));
  assert.equal(response.choices[0].finish_reason, 'stop');
  assert.equal(response.usage.total_tokens, 33);
  assert.equal(response.usage.prompt_tokens_details.cached_tokens, 4);
});

test('claude: gRPC Stream relays tool-call deltas with their index and id', async () => {
  const { chunks, error } = await grpcStream({
    model: 'claude-tools',
    messages: [{ role: 'user', content: 'Weather?' }],
    tools: [{ type: 'function', function: { name: 'get_weather', description: 'Current weather' } }],
  });
  assert.equal(error, null);
  assertUpstreamHappy();
  assert.equal(lastUpstreamRequest().body.stream, true);
  const calls = foldToolCalls(chunks);
  assert.equal(calls.length, 2);
  assert.equal(calls[0].id, scriptTools('claude-tools')[0].id);
  assert.deepEqual(JSON.parse(calls[0].arguments), scriptTools('claude-tools')[0].input);
  assert.deepEqual(JSON.parse(calls[1].arguments), {});
  assert.deepEqual(finishReasons(chunks), ['tool_calls']);
  assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), scriptText('claude-tools'));
});

test('claude: gRPC Stream error event mid-stream becomes UNAVAILABLE after the first chunks', async () => {
  const { chunks, error } = await grpcStream({ model: 'claude-overloaded-midstream', messages: [{ role: 'user', content: 'hi' }] });
  assert.ok(chunks.length > 0);
  assert.equal(error?.code, 14, `status: ${error?.code} ${error?.details}`); // UNAVAILABLE
  assert.match(error.details, /Overloaded/);
});

// ---------------------------------------------------------------- config

test('claude: anthropic_version is sent as configured; unknown keys are config errors', async () => {
  const pinned = await startGateway({
    listen: { http: '127.0.0.1:0', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' },
    providers: [claudeProvider({ anthropic_version: '2024-10-22' })],
  });
  try {
    const response = await postChat(pinned.httpUrl, chatRequest('claude-text', 'hi'));
    assert.equal(response.status, 400, 'the fake Claude expects 2023-06-01 and refuses the pinned version');
    assert.equal(upstream.lastRequest().headers['anthropic-version'], '2024-10-22');
    upstream.rejected.length = 0;
  } finally {
    await pinned.stop();
  }
  const { code, stderr } = await runGatewayExpectingExit(['--check'], {
    config: { providers: [claudeProvider({ api_version: 'v1' })] },
  });
  assert.notEqual(code, 0);
  assert.match(stderr, /providers\[0\]\.api_version: not a key of the claude provider/);
});
