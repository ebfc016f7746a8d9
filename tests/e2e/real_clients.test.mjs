// Real clients, unmodified, against aigw mapping `gpt-4o` to providers that
// are not OpenAI: NextChat's own requests (replayed byte for byte as its
// openai.ts builds them) and the openai SDK's helpers (runTools, parse with
// zod schemas and strict tools), through qwen (DashScope native), claude
// and gemini. The upstream is one conversational fake speaking each
// provider's wire format and refusing what that provider would refuse.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { zodFunction, zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';

import { LISTEN_ANY } from './fake_common.mjs';
import { GREETING, PROVIDER_KEY, TITLE, WEATHER_ANSWER, WEATHER_JSON, startFakeConversational } from './fake_conversational.mjs';
import { grpcClients, parseSseText, startGateway } from './harness.mjs';

let upstream;
before(async () => {
  upstream = await startFakeConversational();
});
after(async () => {
  await upstream?.stop();
});

// NextChat's system prompt for gpt-4o (app/constant.ts DEFAULT_SYSTEM_TEMPLATE).
const NEXTCHAT_SYSTEM =
  '\nYou are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2023-10\n' +
  'Current model: gpt-4o\nCurrent time: Tue Dec 01 2026 21:00:00 GMT+0000\n' +
  'Latex inline: \\(x^2\\) \nLatex block: $$e=mc^2$$\n\n';
const NEXTCHAT_TITLE_PROMPT =
  'Please generate a four to five word title summarizing our conversation without any lead-in, punctuation, ' +
  'quotation marks, periods, symbols, bold text, or additional text. Remove enclosing quotation marks.';
// The fields NextChat's default model config adds to every request; gpt-4o
// counts as a vision model there, so max_tokens is sent too.
const NEXTCHAT_DEFAULTS = { temperature: 0.5, presence_penalty: 0, frequency_penalty: 0, top_p: 1, max_tokens: 4000 };
const NEXTCHAT_HEADERS = {
  'Content-Type': 'application/json',
  Accept: 'application/json',
  'x-requested-with': 'XMLHttpRequest',
  Authorization: 'Bearer nextchat-user-key',
};

function nextChatChat(httpUrl, messages) {
  return fetch(`${httpUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: NEXTCHAT_HEADERS,
    body: JSON.stringify({ messages, stream: true, model: 'gpt-4o', ...NEXTCHAT_DEFAULTS }),
  });
}

function nextChatTitle(httpUrl, history) {
  return fetch(`${httpUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: NEXTCHAT_HEADERS,
    body: JSON.stringify({
      messages: [...history, { role: 'user', content: NEXTCHAT_TITLE_PROMPT }],
      stream: false,
      model: 'gpt-4o-mini', // NextChat's summarize model for OpenAI models
      ...NEXTCHAT_DEFAULTS,
    }),
  });
}

const WEATHER_PARAMETERS = z.object({ city: z.string() });
const WEATHER_SCHEMA = z.object({ city: z.string(), temperature_c: z.number(), conditions: z.string() });

const PROVIDERS = [
  { type: 'qwen', upstreamModel: 'qwen-max', titleModel: 'qwen-turbo', base_url: () => upstream.origin },
  { type: 'claude', upstreamModel: 'claude-sonnet-4-5', titleModel: 'claude-haiku-4-5', base_url: () => upstream.origin },
  { type: 'gemini', upstreamModel: 'gemini-2.5-flash', titleModel: 'gemini-2.5-flash-lite', base_url: () => upstream.origin },
];

for (const provider of PROVIDERS) {
  describe(`gpt-4o served by ${provider.type}`, () => {
    let gateway;
    let client;
    before(async () => {
      gateway = await startGateway({
        listen: LISTEN_ANY,
        providers: [
          {
            name: `real-${provider.type}`,
            type: provider.type,
            base_url: provider.base_url(),
            api_keys: [PROVIDER_KEY],
            timeouts: { connect: '1s', read: '5s' },
            model_mapping: { 'gpt-4o': provider.upstreamModel, 'gpt-4o-mini': provider.titleModel },
          },
        ],
      });
      client = new OpenAI({ baseURL: `${gateway.httpUrl}/v1`, apiKey: 'sdk-user-key', maxRetries: 0 });
    });
    after(async () => {
      await gateway?.stop();
    });

    const sentSince = (start) => upstream.requests.slice(start);

    test('NextChat: the first message streams back and the title request answers, with its default fields', async () => {
      const start = upstream.requests.length;
      const messages = [
        { role: 'system', content: NEXTCHAT_SYSTEM },
        { role: 'user', content: 'hello' },
      ];
      const response = await nextChatChat(gateway.httpUrl, messages);
      const text = await response.text();
      assert.equal(response.status, 200, text);
      // NextChat treats any other content type as an error to show.
      assert.match(response.headers.get('content-type'), /^text\/event-stream/);
      const data = parseSseText(text);
      assert.equal(data.at(-1), '[DONE]', text);
      const events = data.slice(0, -1).map((d) => JSON.parse(d));
      const reply = events.map((e) => e.choices?.[0]?.delta?.content ?? '').join('');
      assert.equal(reply, GREETING);
      assert.ok(events.every((e) => e.model === 'gpt-4o'), 'the client sees the model it asked for');
      assert.equal(response.headers.get('x-aigw-dropped-params'), null, 'NextChat sends nothing that has to be dropped');

      const history = [...messages, { role: 'assistant', content: reply }];
      const title = await nextChatTitle(gateway.httpUrl, history);
      const body = await title.json();
      assert.equal(title.status, 200, JSON.stringify(body));
      assert.equal(body.choices[0].message.content, TITLE);
      assert.equal(body.model, 'gpt-4o-mini');

      const sent = sentSince(start);
      assert.equal(sent.length, 2);
      assert.ok(sent.every((r) => r.provider === (provider.type === 'qwen' ? 'dashscope' : provider.type)));
      assert.deepEqual(upstream.problems, []);
    });

    test('openai SDK runTools: the call, the tool result turn (with the SDK bookkeeping) and the final answer', async () => {
      const start = upstream.requests.length;
      const calls = [];
      const runner = client.chat.completions.runTools({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
        tools: [
          zodFunction({
            name: 'get_weather',
            parameters: WEATHER_PARAMETERS,
            function: (args) => {
              calls.push(args);
              return { temperature_c: 21, conditions: 'sunny' };
            },
          }),
        ],
      });
      assert.equal(await runner.finalContent(), WEATHER_ANSWER);
      assert.deepEqual(calls, [{ city: 'Paris' }]);
      // The SDK resent its assistant message with parsed, refusal: null and
      // parsed_arguments; the provider got only what it understands.
      const second = runner.messages.find((m) => m.role === 'assistant' && m.tool_calls?.length);
      assert.ok('parsed' in second || 'refusal' in second, JSON.stringify(second));
      assert.equal(sentSince(start).length, 2);
      assert.deepEqual(upstream.problems, []);
    });

    test('openai SDK runTools, streaming', async () => {
      const runner = client.chat.completions.runTools({
        model: 'gpt-4o',
        stream: true,
        messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
              function: (args) => ({ city: args.city, temperature_c: 21 }),
              parse: JSON.parse,
            },
          },
        ],
      });
      assert.equal(await runner.finalContent(), WEATHER_ANSWER);
      assert.deepEqual(upstream.problems, []);
    });

    test('openai SDK parse(): a zod json_schema answer is parsed; strict zod tools are accepted', async () => {
      const completion = await client.chat.completions.parse({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'Paris weather as JSON' }],
        response_format: zodResponseFormat(WEATHER_SCHEMA, 'weather'),
      });
      assert.deepEqual(completion.choices[0].message.parsed, WEATHER_JSON);

      const withTools = await client.chat.completions.parse({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
        tools: [zodFunction({ name: 'get_weather', parameters: WEATHER_PARAMETERS })],
      });
      const call = withTools.choices[0].message.tool_calls[0];
      assert.equal(call.function.name, 'get_weather');
      assert.deepEqual(call.function.parsed_arguments, { city: 'Paris' });
      // Strict mode exists on Claude; elsewhere it is dropped, the schema kept.
      const last = upstream.requests.at(-1).body;
      const schema =
        provider.type === 'qwen'
          ? last.parameters.tools[0].function.parameters
          : provider.type === 'claude'
            ? last.tools[0].input_schema
            : last.tools[0].functionDeclarations[0].parametersJsonSchema;
      assert.deepEqual(Object.keys(schema.properties), ['city']);
      assert.deepEqual(upstream.problems, []);
    });

    test('gRPC: dropped params in the initial metadata; range errors are INVALID_ARGUMENT', async () => {
      const grpc = grpcClients(gateway.grpcAddr);
      try {
        const deadline = () => new Date(Date.now() + 10_000);
        const request = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }], seed: 7, frequency_penalty: 0.5 };
        const call = grpc.chat.Stream(request, { deadline: deadline() });
        const metadata = new Promise((resolve) => call.on('metadata', resolve));
        const text = [];
        call.on('data', (chunk) => text.push(chunk.choices[0]?.delta?.content ?? ''));
        await new Promise((resolve, reject) => {
          call.on('end', resolve);
          call.on('error', reject);
        });
        assert.equal(text.join(''), GREETING);
        const expected = { qwen: 'frequency_penalty', claude: 'seed,frequency_penalty', gemini: null }[provider.type];
        const dropped = (await metadata).get('x-aigw-dropped-params');
        assert.deepEqual(dropped, expected ? [expected] : []);
        const error = await new Promise((resolve) =>
          grpc.chat.Create({ ...request, n: 0 }, { deadline: deadline() }, (err) => resolve(err)),
        );
        assert.equal(error?.code, 3); // INVALID_ARGUMENT
        assert.match(error.details, /'n'/);
      } finally {
        grpc.close();
      }
    });

    test('values OpenAI refuses are a 400 naming the param, before any upstream call', async () => {
      const start = upstream.requests.length;
      for (const [field, value] of [
        ['n', 0],
        ['max_tokens', 0],
        ['temperature', 2.5],
        ['top_p', 1.5],
        ['presence_penalty', -3],
      ]) {
        await assert.rejects(
          client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], [field]: value }),
          (err) => err.status === 400 && err.param === field,
          field,
        );
      }
      const tools = Array.from({ length: 129 }, (_, i) => ({ type: 'function', function: { name: `f${i}` } }));
      await assert.rejects(
        client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], tools }),
        (err) => err.status === 400 && err.param === 'tools',
      );
      assert.equal(upstream.requests.length, start);
    });
  });
}

describe('upstream rate-limit information reaches the client', () => {
  let gateway;
  before(async () => {
    gateway = await startGateway({
      listen: LISTEN_ANY,
      providers: [
        // Its own key: the 429 below cools that key down, not the REST one's.
        { name: 'openai-fake-grpc', type: 'openai', base_url: `${upstream.origin}/v1`, api_keys: ['sk-grpc-only'], models: ['grpc-gpt-4o'] },
        { name: 'openai-fake', type: 'openai', base_url: `${upstream.origin}/v1`, api_keys: [PROVIDER_KEY], timeouts: { connect: '1s', read: '5s' } },
      ],
    });
  });
  after(async () => {
    await gateway?.stop();
  });

  test("x-ratelimit-* headers of an OpenAI-compatible upstream are relayed; a relayed 429 carries the upstream's Retry-After", async () => {
    const ok = await fetch(`${gateway.httpUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('x-ratelimit-remaining-requests'), '499');
    assert.equal(ok.headers.get('x-ratelimit-reset-tokens'), '40ms');

    const limited = await fetch(`${gateway.httpUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'rate-limit-me' }] }),
    });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '7');
    assert.equal(limited.headers.get('x-ratelimit-remaining-requests'), '499');
    assert.equal((await limited.json()).error.code, 'rate_limit_exceeded');
  });

  test('gRPC: a relayed 429 is RESOURCE_EXHAUSTED with a retry-after trailer', async () => {
    const grpc = grpcClients(gateway.grpcAddr);
    try {
      const error = await new Promise((resolve) =>
        grpc.chat.Create(
          { model: 'grpc-gpt-4o', messages: [{ role: 'user', content: 'rate-limit-me' }] },
          { deadline: new Date(Date.now() + 10_000) },
          (err) => resolve(err),
        ),
      );
      assert.equal(error?.code, 8); // RESOURCE_EXHAUSTED
      assert.deepEqual(error.metadata.get('retry-after'), ['7']);
      assert.deepEqual(error.metadata.get('x-aigw-error-code'), ['rate_limit_exceeded']);
    } finally {
      grpc.close();
    }
  });
});
