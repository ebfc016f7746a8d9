// The qwen provider (Alibaba DashScope) in both modes, with the official
// OpenAI SDK, raw fetch and gRPC in front of aigw and a checking fake
// DashScope behind it (fake_qwen.mjs): native protocol translation (text,
// reasoning, tools, images), the OpenAI-compatible mode, errors as HTTP
// statuses and mid-stream events, keys, and embeddings.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import grpc from '@grpc/grpc-js';
import OpenAI from 'openai';
import {
  COMPAT_KEYS,
  MIDSTREAM_MESSAGE,
  QWEN_KEYS,
  REJECTING_KEYS,
  SCRIPTS,
  SPECIAL_MODELS,
  THROTTLED_MESSAGE,
  fakeVector,
  startFakeDashScope,
} from './fake_qwen.mjs';
import { assertOpenAIError, chatRequest, grpcClients, postChat, readSse, startGateway } from './harness.mjs';
import { collect, finishReasons, textOf } from './fake_common.mjs';

const CLIENT_KEY = 'client-key-must-not-leak';
const RPC_DEADLINE_MS = 10_000;

let upstream;
let gateway;
let client;
let grpcClient;

before(async () => {
  upstream = await startFakeDashScope();
  gateway = await startGateway({
    listen: { http: '127.0.0.1:0', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' },
    providers: [
      // The 401/429 models first, on keys of their own: a key answered 401
      // leaves the rotation and one answered 429 cools down, which must not
      // starve the other tests.
      {
        name: 'dashscope-rejecting',
        type: 'qwen',
        base_url: upstream.origin,
        api_keys: REJECTING_KEYS,
        timeouts: { connect: '1s', read: '5s' },
        models: SPECIAL_MODELS,
      },
      {
        name: 'dashscope-compatible-rejecting',
        type: 'qwen',
        mode: 'compatible',
        base_url: `${upstream.origin}/gw`,
        api_keys: REJECTING_KEYS,
        timeouts: { connect: '1s', read: '5s' },
        model_mapping: Object.fromEntries(SPECIAL_MODELS.map((m) => [`compat/${m}`, m])),
      },
      {
        name: 'dashscope-strict',
        type: 'qwen',
        base_url: upstream.origin,
        api_keys: QWEN_KEYS,
        unsupported_params: 'reject',
        timeouts: { connect: '1s', read: '5s' },
        model_mapping: { 'strict/qwen-text': 'qwen-text' },
      },
      {
        name: 'dashscope',
        type: 'qwen',
        base_url: upstream.origin,
        api_keys: QWEN_KEYS,
        timeouts: { connect: '1s', read: '5s' },
        model_mapping: { 'gpt-4o': 'qwen-text', 'qwen-*': '', 'text-embedding-v3': '' },
      },
      {
        name: 'dashscope-compatible',
        type: 'qwen',
        mode: 'compatible',
        base_url: `${upstream.origin}/gw`,
        api_keys: COMPAT_KEYS,
        timeouts: { connect: '1s', read: '5s' },
        model_mapping: { '~^compat/(.*)$': '$1' },
      },
    ],
  });
  client = new OpenAI({ baseURL: `${gateway.httpUrl}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 });
  grpcClient = grpcClients(gateway.grpcAddr);
});

after(async () => {
  grpcClient?.close();
  await upstream?.stop();
  await gateway?.stop(); // last: it throws if aigw crashed during the tests
});

const reasoningOf = (chunks) => chunks.map((c) => c.choices[0]?.delta?.reasoning_content ?? '').join('');
const scriptText = (model) => SCRIPTS[model].deltas.map((d) => d.content ?? '').join('');
const user = (content) => [{ role: 'user', content }];

// Runs `fn` and returns {result, requests}: the upstream requests it caused.
async function upstreamDuring(fn) {
  const from = upstream.requests.length;
  const result = await fn();
  return { result, requests: upstream.requests.slice(from) };
}

// The tool calls of stream chunks, joined by index as an OpenAI client does.
function joinToolCalls(chunks) {
  const calls = [];
  for (const chunk of chunks) {
    for (const call of chunk.choices[0]?.delta?.tool_calls ?? []) {
      assert.equal(typeof call.index, 'number', 'a tool-call delta without index');
      const slot = (calls[call.index] ??= { id: '', name: '', arguments: '' });
      if (call.id) slot.id += call.id;
      if (call.function?.name) slot.name += call.function.name;
      slot.arguments += call.function?.arguments ?? '';
    }
  }
  return calls;
}

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

function grpcUnary(method, request) {
  return new Promise((resolve, reject) => {
    grpcClient.chat[method](request, { deadline: new Date(Date.now() + RPC_DEADLINE_MS) }, (err, response) =>
      err ? reject(err) : resolve(response),
    );
  });
}

function grpcStream(request) {
  return new Promise((resolve) => {
    const chunks = [];
    const call = grpcClient.chat.Stream(request, { deadline: new Date(Date.now() + RPC_DEADLINE_MS) });
    call.on('data', (chunk) => chunks.push(chunk));
    call.on('error', (error) => resolve({ chunks, error }));
    call.on('end', () => resolve({ chunks, error: null }));
  });
}

// The same conversation in both modes: client model names and what the
// upstream must have received.
const MODES = [
  { mode: 'native', prefix: '', keys: QWEN_KEYS, chatPath: '/api/v1/services/aigc/text-generation/generation' },
  { mode: 'compatible', prefix: 'compat/', keys: COMPAT_KEYS, chatPath: '/gw/compatible-mode/v1/chat/completions' },
];

for (const { mode, prefix, keys, chatPath } of MODES) {
  describe(`qwen ${mode} mode`, () => {
    test('SDK non-streaming: the assembled answer, usage, and the client model name', async () => {
      const model = `${prefix}qwen-text`;
      const { result: completion, requests } = await upstreamDuring(() =>
        client.chat.completions.create({ model, messages: [{ role: 'system', content: 'Be brief.' }, ...user('Hi!')], temperature: 0.2 }),
      );
      assert.equal(completion.object, 'chat.completion');
      assert.equal(completion.model, model);
      assert.match(completion.id, /^chatcmpl-/);
      assert.equal(completion.choices.length, 1);
      assert.equal(completion.choices[0].message.role, 'assistant');
      assert.equal(completion.choices[0].message.content, scriptText('qwen-text'));
      assert.equal(completion.choices[0].finish_reason, 'stop');
      assert.deepEqual(
        [completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens],
        [12, 5, 17],
      );
      assert.equal(requests.length, 1);
      assert.equal(requests[0].url, chatPath);
      assert.deepEqual(upstream.violations, []);
    });

    test('SDK streaming: role first, deltas as sent, one finish_reason, usage last', async () => {
      const chunks = await collect(
        await client.chat.completions.create({
          model: `${prefix}qwen-text`, messages: user('Hi!'), stream: true, stream_options: { include_usage: true },
        }),
      );
      assert.equal(chunks[0].choices[0].delta.role, 'assistant');
      assert.equal(textOf(chunks), scriptText('qwen-text'));
      assert.deepEqual(finishReasons(chunks), ['stop']);
      const last = chunks.at(-1);
      assert.deepEqual(last.choices, []);
      assert.equal(last.usage.total_tokens, 17);
      assert.ok(chunks.every((c) => c.model === `${prefix}qwen-text` && c.id === chunks[0].id));
      assert.ok(chunks.slice(0, -1).every((c) => !c.usage), 'usage before the last chunk');
    });

    test('SDK streaming without include_usage gets no usage chunk', async () => {
      const chunks = await collect(await client.chat.completions.create({ model: `${prefix}qwen-text`, messages: user('Hi!'), stream: true }));
      assert.equal(textOf(chunks), scriptText('qwen-text'));
      assert.ok(chunks.every((c) => !c.usage && c.choices.length === 1));
    });

    test('reasoning streams as reasoning_content, with reasoning and cached token counts', async () => {
      const chunks = await collect(
        await client.chat.completions.create({
          model: `${prefix}qwen-think`, messages: user('6*7?'), stream: true, stream_options: { include_usage: true },
        }),
      );
      assert.equal(reasoningOf(chunks), 'Six times seven.');
      assert.equal(textOf(chunks), '42');
      const { usage } = chunks.at(-1);
      assert.equal(usage.completion_tokens_details.reasoning_tokens, 6);
      assert.equal(usage.prompt_tokens_details.cached_tokens, 16);
    });

    test('tool calls stream with index and id, arguments split across events', async () => {
      const { result: chunks, requests } = await upstreamDuring(async () =>
        collect(
          await client.chat.completions.create({
            model: `${prefix}qwen-tools`, messages: user('Weather in Hangzhou and the time?'), stream: true,
            tools: [WEATHER_TOOL], tool_choice: 'auto',
          }),
        ),
      );
      const calls = joinToolCalls(chunks);
      assert.equal(calls.length, 2);
      assert.deepEqual(calls[0], { id: 'call_a1', name: 'get_weather', arguments: '{"city": "杭州"}' });
      assert.deepEqual(JSON.parse(calls[0].arguments), { city: '杭州' });
      assert.deepEqual(calls[1], { id: 'call_b2', name: 'get_time', arguments: '{"tz": "CST"}' });
      assert.ok(chunks.filter((c) => c.choices[0]?.delta?.tool_calls).length >= 5, 'argument pieces arrive as separate deltas');
      assert.deepEqual(finishReasons(chunks), ['tool_calls']);
      const sent = requests[0].body;
      const tools = mode === 'native' ? sent.parameters.tools : sent.tools;
      const toolChoice = mode === 'native' ? sent.parameters.tool_choice : sent.tool_choice;
      assert.deepEqual(tools, [WEATHER_TOOL]);
      assert.equal(toolChoice, 'auto');
    });

    test('tool calls non-streaming are assembled into message.tool_calls', async () => {
      const completion = await client.chat.completions.create({ model: `${prefix}qwen-tools`, messages: user('Weather?'), tools: [WEATHER_TOOL] });
      const { message } = completion.choices[0];
      assert.equal(completion.choices[0].finish_reason, 'tool_calls');
      assert.deepEqual(
        message.tool_calls.map((c) => [c.id, c.type, c.function.name, JSON.parse(c.function.arguments)]),
        [['call_a1', 'function', 'get_weather', { city: '杭州' }], ['call_b2', 'function', 'get_time', { tz: 'CST' }]],
      );
    });

    test('an upstream 401 keeps its status and message, with the provider key redacted', async () => {
      await assert.rejects(client.chat.completions.create({ model: `${prefix}qwen-http-401`, messages: user('hi') }), (err) => {
        assert.ok(err instanceof OpenAI.AuthenticationError, `got ${err?.constructor?.name}: ${err?.message}`);
        assert.equal(err.status, 401);
        // The upstream's own message and code, not its SSE framing.
        assert.equal(err.message, mode === 'native' ? '401 Invalid API-key provided: [redacted]' : '401 Incorrect API key provided: [redacted]');
        assert.equal(err.code, mode === 'native' ? 'InvalidApiKey' : 'invalid_api_key');
        for (const key of [...keys, ...REJECTING_KEYS]) assert.ok(!err.message.includes(key), 'provider key leaked');
        return true;
      });
    });

    test('an upstream 429 is a 429 with the upstream message', async () => {
      await assert.rejects(client.chat.completions.create({ model: `${prefix}qwen-http-429`, messages: user('hi') }), (err) => {
        assert.ok(err instanceof OpenAI.RateLimitError, `got ${err?.constructor?.name}: ${err?.message}`);
        assert.equal(err.status, 429);
        assert.equal(err.message, `429 ${THROTTLED_MESSAGE}`);
        if (mode === 'native') assert.equal(err.code, 'Throttling.RateQuota');
        return true;
      });
    });

    test('an error event mid-stream: the text so far, then the SDK raises', async () => {
      const stream = await client.chat.completions.create({ model: `${prefix}qwen-error-midstream`, messages: user('story'), stream: true });
      let text = '';
      await assert.rejects(
        (async () => {
          for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
        })(),
        (err) => err instanceof OpenAI.APIError && err.message.includes(MIDSTREAM_MESSAGE),
      );
      assert.equal(text, scriptText('qwen-error-midstream'));
    });

    test('an error event mid-stream ends the SSE with a data: {"error"} event and no [DONE]', async () => {
      const response = await postChat(gateway.httpUrl, chatRequest(`${prefix}qwen-error-midstream`, 'story', { stream: true }));
      assert.equal(response.status, 200);
      const { chunks, done } = await readSse(response);
      assert.equal(done, false);
      const last = chunks.at(-1);
      assert.equal(last.error.message, MIDSTREAM_MESSAGE);
      assert.equal(textOf(chunks.slice(0, -1)), scriptText('qwen-error-midstream'));
    });

    test('gRPC Create answers the assembled completion', async () => {
      const response = await grpcUnary('Create', { model: `${prefix}qwen-text`, messages: user('Hi!') });
      assert.equal(response.object, 'chat.completion');
      assert.equal(response.model, `${prefix}qwen-text`);
      assert.equal(response.choices[0].message.content, scriptText('qwen-text'));
      assert.equal(response.choices[0].finish_reason, 'stop');
      assert.equal(response.usage.total_tokens, 17);
    });

    test('gRPC Stream sends the deltas, tool calls included', async () => {
      const text = await grpcStream({ model: `${prefix}qwen-text`, messages: user('Hi!') });
      assert.equal(text.error, null);
      assert.equal(text.chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), scriptText('qwen-text'));
      assert.deepEqual(text.chunks.flatMap((c) => c.choices).map((c) => c.finish_reason).filter(Boolean), ['stop']);

      const tools = await grpcStream({
        model: `${prefix}qwen-tools`, messages: user('Weather?'),
        tools: [{ type: 'function', function: { name: 'get_weather' } }],
      });
      assert.equal(tools.error, null);
      const deltas = tools.chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
      assert.equal(deltas.filter((d) => d.index === 0).map((d) => d.function.arguments).join(''), '{"city": "杭州"}');
      assert.equal(deltas.find((d) => d.index === 1).id, 'call_b2');
    });

    test('gRPC maps an upstream 429 to RESOURCE_EXHAUSTED', async () => {
      await assert.rejects(grpcUnary('Create', { model: `${prefix}qwen-http-429`, messages: user('hi') }), (err) => {
        assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED);
        return true;
      });
    });

    test('embeddings through the SDK (base64 on the wire to the client)', async () => {
      const model = mode === 'native' ? 'text-embedding-v3' : 'compat/text-embedding-v3';
      const { result, requests } = await upstreamDuring(() =>
        client.embeddings.create({ model, input: ['风急天高', 'second text'], dimensions: 4 }),
      );
      assert.equal(result.object, 'list');
      assert.equal(result.model, model);
      assert.deepEqual(result.data.map((d) => [d.index, d.embedding]), [[0, fakeVector(0)], [1, fakeVector(1)]]);
      assert.equal(result.usage.prompt_tokens, '风急天高second text'.length);
      assert.equal(requests.length, 1);
      const sent = requests[0];
      if (mode === 'native') {
        assert.equal(sent.url, '/api/v1/services/embeddings/text-embedding/text-embedding');
        assert.deepEqual(sent.body, { model: 'text-embedding-v3', input: { texts: ['风急天高', 'second text'] }, parameters: { dimension: 4 } });
      } else {
        assert.equal(sent.url, '/gw/compatible-mode/v1/embeddings');
        assert.deepEqual(sent.body, { model: 'text-embedding-v3', input: ['风急天高', 'second text'], encoding_format: 'float', dimensions: 4 });
      }
    });

    test('every upstream request carried a provider key, never the client key', () => {
      assert.deepEqual(upstream.violations, []);
      const mine = upstream.requests.filter((r) => r.url.startsWith(mode === 'native' ? '/api/' : '/gw/'));
      assert.ok(mine.length > 5);
      const rejecting = new Set(REJECTING_KEYS.map((k) => `Bearer ${k}`)); // the 401/429 models' provider
      const used = new Set(mine.map((r) => r.headers.authorization).filter((auth) => !rejecting.has(auth)));
      assert.deepEqual([...used].sort(), keys.map((k) => `Bearer ${k}`).sort(), 'keys are used round-robin');
    });
  });
}

describe('qwen native translation', () => {
  test('the upstream body: roles, tool turns and sampling in DashScope shape', async () => {
    const { requests } = await upstreamDuring(() =>
      client.chat.completions.create({
        model: 'gpt-4o',
        messages: [
          { role: 'developer', content: 'Answer in Chinese.' },
          { role: 'user', content: 'Weather in Hangzhou?' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_a1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"杭州"}' } }] },
          { role: 'tool', tool_call_id: 'call_a1', content: '{"temp": 21}' },
        ],
        temperature: 0.7, top_p: 0.8, max_completion_tokens: 256, seed: 42, stop: ['##'], presence_penalty: 0.5,
        response_format: { type: 'json_object' }, tools: [WEATHER_TOOL], tool_choice: { type: 'function', function: { name: 'get_weather' } },
        enable_thinking: false,
      }),
    );
    assert.equal(requests.length, 1);
    const { body, url, headers } = requests[0];
    assert.equal(url, '/api/v1/services/aigc/text-generation/generation');
    assert.equal(headers['x-dashscope-sse'], 'enable');
    assert.deepEqual(body, {
      model: 'qwen-text',
      input: {
        messages: [
          { role: 'system', content: 'Answer in Chinese.' },
          { role: 'user', content: 'Weather in Hangzhou?' },
          { role: 'assistant', content: '', tool_calls: [{ id: 'call_a1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"杭州"}' } }] },
          { role: 'tool', tool_call_id: 'call_a1', content: '{"temp": 21}' },
        ],
      },
      parameters: {
        result_format: 'message', incremental_output: true,
        temperature: 0.7, top_p: 0.8, max_tokens: 256, seed: 42, stop: ['##'], presence_penalty: 0.5,
        response_format: { type: 'json_object' }, tools: [WEATHER_TOOL],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        enable_thinking: false,
      },
    });
  });

  test('images go to the multimodal API as {"image"} and {"text"} items', async () => {
    const dataUrl = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
    const { result: completion, requests } = await upstreamDuring(() =>
      client.chat.completions.create({
        model: 'qwen-vl-max',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: dataUrl } }] }],
      }),
    );
    assert.equal(completion.choices[0].message.content, scriptText('qwen-vl-max'));
    assert.equal(requests[0].url, '/api/v1/services/aigc/multimodal-generation/generation');
    assert.deepEqual(requests[0].body.input.messages, [{ role: 'user', content: [{ text: 'What is this?' }, { image: dataUrl }] }]);
  });

  test('unsupported_params drop (the default): what DashScope cannot express is left out and named in x-aigw-dropped-params', async () => {
    const { result: response, requests } = await upstreamDuring(() =>
      postChat(gateway.httpUrl, chatRequest('qwen-text', 'hi', { frequency_penalty: 0.5, logit_bias: { 50256: -100 } })),
    );
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(response.headers.get('x-aigw-dropped-params'), 'frequency_penalty,logit_bias');
    assert.ok(!('frequency_penalty' in requests[0].body.parameters));
    assert.ok(!('logit_bias' in requests[0].body.parameters));
  });

  test('unsupported_params reject: what DashScope cannot express is a 400 naming the field, and nothing reaches the upstream', async () => {
    for (const [extra, param] of [
      [{ frequency_penalty: 0.5 }, 'frequency_penalty'],
      [{ logit_bias: { 50256: -100 } }, 'logit_bias'],
      [{ tools: [WEATHER_TOOL], tool_choice: 'required' }, 'tool_choice'],
    ]) {
      const { result: error, requests } = await upstreamDuring(async () =>
        assertOpenAIError(await postChat(gateway.httpUrl, chatRequest('strict/qwen-text', 'hi', extra)), 400),
      );
      assert.equal(error.param, param);
      assert.equal(error.type, 'invalid_request_error');
      assert.equal(requests.length, 0);
    }
  });

  test('an image sent to a text model is a 400', async () => {
    const error = await assertOpenAIError(
      await postChat(gateway.httpUrl, {
        model: 'qwen-text',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }],
      }),
      400,
    );
    assert.equal(error.param, 'messages[0].content[0]');
    assert.match(error.message, /vision model/);
  });

  test('the compatible mode passes OpenAI fields through unchanged', async () => {
    const { requests } = await upstreamDuring(() =>
      client.chat.completions.create({
        model: 'compat/qwen-text', messages: user('hi'), frequency_penalty: 0.5, logit_bias: { 50256: -100 }, user: 'u-1',
      }),
    );
    const { body } = requests[0];
    assert.equal(body.model, 'qwen-text');
    assert.equal(body.frequency_penalty, 0.5);
    assert.deepEqual(body.logit_bias, { 50256: -100 });
    assert.equal(body.user, 'u-1');
  });
});
