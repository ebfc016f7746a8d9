// The OpenAI-compatible provider family (every preset type, and azure) with
// the official OpenAI SDK in front of aigw and a recording fake upstream
// behind it: the path and auth header each type sends, the body passed
// through, the default base_url (through config validation only: no
// internet here), and the quirks of Azure, Moonshot and DeepSeek streams.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import {
  AZURE_TEXT,
  AZURE_USAGE,
  DEEPSEEK_CONTENT,
  DEEPSEEK_REASONING,
  DEEPSEEK_USAGE,
  MOONSHOT_TEXT,
  MOONSHOT_USAGE,
  startFakeOpenAiFamily,
} from './fake_openai_family.mjs';
import { cassetteText, loadCassette } from './fake_upstream.mjs';
import { runGatewayExpectingExit, startGateway } from './harness.mjs';
import { collect, finishReasons, textOf } from './fake_common.mjs';

const KEYED_TYPES = ['openai', 'moonshot', 'deepseek', 'groq', 'mistral', 'openrouter', 'together', 'zhipu', 'doubao', 'baidu', 'minimax'];
const KEYLESS_TYPES = ['ollama', 'vllm', 'generic']; // configured without api_keys below
const PRESET_TYPES = [...KEYED_TYPES, ...KEYLESS_TYPES];
const AZURE_KEYS = ['azure-key-one', 'azure-key-two'];
const AZURE_API_VERSION = '2024-12-01-preview'; // the one azure-chat-basic.yaml was recorded with
const AZURE_DEFAULT_API_VERSION = '2024-10-21';
const CLIENT_KEY = 'client-key-must-not-leak';

// Each provider gets its own path prefix (so the upstream path says who sent
// a request) and its own keys; client model "<route>/<x>" reaches it as "<x>".
const prefixOf = (route) => `/pfx-${route}/api/v9`;
const keysOf = (route) => [`sk-${route}-one`, `sk-${route}-two`];

let upstream;
let gateway;
let client;

function providerEntry(route, type, { keys = keysOf(route), baseUrl = upstream.origin + prefixOf(route), options = {} } = {}) {
  return {
    name: `p-${route}`,
    type,
    base_url: baseUrl,
    ...(keys ? { api_keys: keys } : {}),
    timeouts: { connect: '1s', read: '5s' },
    model_mapping: { [`~^${route}/(.*)$`]: '$1' },
    ...options,
  };
}

before(async () => {
  upstream = await startFakeOpenAiFamily();
  gateway = await startGateway({
    listen: { http: '127.0.0.1:0', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' },
    providers: [
      ...KEYED_TYPES.map((type) => providerEntry(type, type)),
      ...KEYLESS_TYPES.map((type) => providerEntry(type, type, { keys: null })),
      // A keyless type may still be given keys (an Ollama behind an auth proxy).
      providerEntry('ollama-keyed', 'ollama'),
      providerEntry('azure', 'azure', { keys: AZURE_KEYS, baseUrl: upstream.origin, options: { api_version: AZURE_API_VERSION } }),
      providerEntry('azure-default', 'azure', { keys: ['azure-default-key'], baseUrl: `${upstream.origin}/azure-proxy` }),
      // The deployment is whatever the client wrote after "azpass/".
      providerEntry('azpass', 'azure', { keys: AZURE_KEYS, baseUrl: upstream.origin, options: { api_version: AZURE_API_VERSION } }),
    ],
  });
  client = new OpenAI({ baseURL: `${gateway.httpUrl}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 });
});

after(async () => {
  await upstream?.stop();
  await gateway?.stop(); // last: it throws if aigw crashed during the tests
});

// Runs `fn` and returns the upstream requests it caused.
async function upstreamRequestsDuring(fn) {
  const before = upstream.requests.length;
  const result = await fn();
  return { result, requests: upstream.requests.slice(before) };
}

function assertNoClientKey(request) {
  for (const [name, value] of Object.entries(request.headers)) {
    assert.ok(!String(value).includes(CLIENT_KEY), `the client's key reached the upstream in header ${name}`);
  }
}

// What the client sends besides model/messages/stream: all of it must reach the upstream as sent.
const MESSAGES = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hello!' },
];
const PASSTHROUGH = {
  temperature: 0.25,
  top_p: 0.5,
  seed: 7,
  max_completion_tokens: 64,
  stop: ['END', '###'], // two: a single stop is legitimately sent as a string
  user: 'user-42',
  custom_passthrough: { nested: [1, 'two', null], flag: true },
};

function assertBodyPassedThrough(body, upstreamModel) {
  assert.equal(body.model, upstreamModel);
  assert.deepEqual(body.messages, MESSAGES);
  for (const [key, value] of Object.entries(PASSTHROUGH)) {
    assert.deepEqual(body[key], value, `body.${key} passed through`);
  }
}

describe('every OpenAI-compatible preset', () => {
  const routes = [...PRESET_TYPES, 'ollama-keyed'];
  for (const route of routes) {
    const keyless = KEYLESS_TYPES.includes(route);
    test(`${route}: non-streaming and streaming chat go to {base_url}/chat/completions ${keyless ? 'without Authorization' : 'with Bearer <provider key>'}`, async () => {
      const { result: completion, requests: [plainRequest] } = await upstreamRequestsDuring(() =>
        client.chat.completions.create({ model: `${route}/chat-basic`, messages: MESSAGES, ...PASSTHROUGH }),
      );
      const recorded = JSON.parse(loadCassette('chat-basic').body);
      assert.equal(completion.model, `${route}/chat-basic`, 'the client sees the model name it asked for');
      assert.equal(completion.choices[0].message.role, 'assistant');
      assert.equal(completion.choices[0].message.content, recorded.choices[0].message.content);
      assert.equal(completion.choices[0].finish_reason, 'stop');
      assert.equal(completion.usage.prompt_tokens, recorded.usage.prompt_tokens);
      assert.equal(completion.usage.completion_tokens, recorded.usage.completion_tokens);
      assert.equal(completion.usage.total_tokens, recorded.usage.total_tokens);

      const { result: chunks, requests: [streamRequest] } = await upstreamRequestsDuring(async () =>
        collect(await client.chat.completions.create({ model: `${route}/chat-streaming`, messages: MESSAGES, ...PASSTHROUGH, stream: true })),
      );
      assert.equal(textOf(chunks), cassetteText('chat-streaming'));
      assert.deepEqual(finishReasons(chunks), ['stop']);
      assert.equal(chunks[0].choices[0].delta.role, 'assistant', 'the role comes in the first chunk');
      for (const chunk of chunks) assert.equal(chunk.model, `${route}/chat-streaming`);
      assert.equal(chunks.filter((c) => c.usage).length, 0, 'no usage chunk when the client did not ask for it');

      for (const request of [plainRequest, streamRequest]) {
        assert.ok(request, 'the upstream received the request');
        assert.equal(request.method, 'POST');
        assert.equal(request.url, `${prefixOf(route)}/chat/completions`, 'path under the base_url prefix, no query');
        assert.match(request.headers['content-type'], /^application\/json/);
        assert.equal(request.headers['api-key'], undefined);
        assertNoClientKey(request);
      }
      if (keyless) {
        assert.equal(plainRequest.headers.authorization, undefined, 'a keyless config sends no Authorization');
        assert.equal(streamRequest.headers.authorization, undefined, 'a keyless config sends no Authorization');
      } else {
        const seen = [plainRequest, streamRequest].map((r) => r.headers.authorization).sort();
        assert.deepEqual(seen, keysOf(route).map((key) => `Bearer ${key}`).sort(), 'both provider keys used, round-robin');
      }

      assertBodyPassedThrough(plainRequest.body, 'chat-basic');
      assert.ok(plainRequest.body.stream === undefined || plainRequest.body.stream === false, 'a non-streaming call does not ask to stream');
      assert.equal(plainRequest.body.stream_options, undefined);
      assertBodyPassedThrough(streamRequest.body, 'chat-streaming');
      assert.equal(streamRequest.body.stream, true);
      assert.equal(streamRequest.body.stream_options?.include_usage, true, 'the gateway always asks for usage');
    });
  }
});

describe('default base_url and required settings (aigw --check)', () => {
  const check = (provider) => runGatewayExpectingExit(['--check'], { config: { providers: [{ name: 'p', ...provider }] } });
  const output = (run) => run.stdout + run.stderr;

  for (const type of PRESET_TYPES) {
    const keyless = KEYLESS_TYPES.includes(type);
    if (type === 'generic') {
      test('generic without base_url is rejected naming providers[0].base_url', async () => {
        const run = await check({ type });
        assert.notEqual(run.code, 0, output(run));
        assert.match(output(run), /providers\[0\]\.base_url/);
      });
      continue;
    }
    test(`${type} without base_url is valid (its public default is used)${keyless ? ', and needs no api_keys' : ''}`, async () => {
      const run = await check(keyless ? { type } : { type, api_keys: ['sk-x'] });
      assert.equal(run.code, 0, output(run));
    });
  }

  test('azure without base_url is rejected naming providers[0].base_url', async () => {
    const run = await check({ type: 'azure', api_keys: ['k'] });
    assert.notEqual(run.code, 0, output(run));
    assert.match(output(run), /providers\[0\]\.base_url/);
  });

  for (const type of [...KEYED_TYPES, 'azure']) {
    test(`${type} without api_keys is rejected naming providers[0].api_keys`, async () => {
      const run = await check({ type, base_url: 'https://example.invalid/v1' });
      assert.notEqual(run.code, 0, output(run));
      assert.match(output(run), /providers\[0\]\.api_keys/);
    });
  }

  test('a preset rejects a key that is not its own (api_version on deepseek)', async () => {
    const run = await check({ type: 'deepseek', api_keys: ['k'], api_version: '2024-10-21' });
    assert.notEqual(run.code, 0, output(run));
    assert.match(output(run), /providers\[0\]\.api_version/);
  });

  test('azure accepts api_version and rejects unknown keys', async () => {
    const ok = await check({ type: 'azure', api_keys: ['k'], base_url: 'https://res.openai.azure.com', api_version: '2025-01-01-preview' });
    assert.equal(ok.code, 0, output(ok));
    const bad = await check({ type: 'azure', api_keys: ['k'], base_url: 'https://res.openai.azure.com', deployment: 'x' });
    assert.notEqual(bad.code, 0, output(bad));
    assert.match(output(bad), /providers\[0\]\.deployment/);
  });
});

describe('azure', () => {
  test('replays azure-chat-basic at /openai/deployments/<deployment>/chat/completions?api-version=<configured> with api-key', async () => {
    const recorded = JSON.parse(loadCassette('azure-chat-basic').body);
    const { result: completion, requests } = await upstreamRequestsDuring(() =>
      client.chat.completions.create({ model: 'azure/azure-chat-basic', messages: MESSAGES, ...PASSTHROUGH }),
    );
    assert.equal(requests.length, 1);
    const [request] = requests;
    assert.equal(request.url, `/openai/deployments/azure-chat-basic/chat/completions?api-version=${AZURE_API_VERSION}`);
    assert.ok(AZURE_KEYS.includes(request.headers['api-key']), `api-key header: ${request.headers['api-key']}`);
    assert.equal(request.headers.authorization, undefined, 'Azure gets api-key, never Authorization');
    assertNoClientKey(request);
    assert.deepEqual(request.body.messages, MESSAGES);
    assert.equal(request.body.temperature, PASSTHROUGH.temperature);
    assert.deepEqual(request.body.custom_passthrough, PASSTHROUGH.custom_passthrough);

    assert.equal(completion.model, 'azure/azure-chat-basic');
    assert.equal(completion.choices[0].message.content, recorded.choices[0].message.content);
    assert.equal(completion.choices[0].finish_reason, 'stop');
    assert.equal(completion.usage.total_tokens, recorded.usage.total_tokens);
    assert.equal(completion.usage.completion_tokens_details.reasoning_tokens, recorded.usage.completion_tokens_details.reasoning_tokens);
  });

  test('without api_version the default 2024-10-21 is sent, under the base_url path', async () => {
    const { requests } = await upstreamRequestsDuring(() =>
      client.chat.completions.create({ model: 'azure-default/azure-chat-basic', messages: MESSAGES }),
    );
    assert.equal(requests[0].url, `/azure-proxy/openai/deployments/azure-chat-basic/chat/completions?api-version=${AZURE_DEFAULT_API_VERSION}`);
    assert.equal(requests[0].headers['api-key'], 'azure-default-key');
    assert.equal(requests[0].headers.authorization, undefined);
  });

  test('a stream opening with a prompt_filter_results chunk reaches the SDK with the role in its first chunk', async () => {
    const { result: chunks, requests } = await upstreamRequestsDuring(async () =>
      collect(await client.chat.completions.create({
        model: 'azure/azure-filtered-stream', messages: MESSAGES, stream: true, stream_options: { include_usage: true },
      })),
    );
    assert.equal(requests[0].url, `/openai/deployments/azure-filtered-stream/chat/completions?api-version=${AZURE_API_VERSION}`);
    assert.equal(requests[0].headers.authorization, undefined);
    assert.ok(chunks.length > 0);
    assert.equal(chunks[0].choices.length, 1, `first chunk: ${JSON.stringify(chunks[0])}`);
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.equal(textOf(chunks), AZURE_TEXT.join(''));
    assert.deepEqual(finishReasons(chunks), ['stop']);
    for (const chunk of chunks.slice(0, -1)) {
      assert.equal(chunk.choices.length, 1, `only the last chunk may have empty choices: ${JSON.stringify(chunk)}`);
    }
    for (const chunk of chunks) {
      assert.match(chunk.id, /^chatcmpl-/, `chunk id: ${JSON.stringify(chunk)}`);
      assert.equal(chunk.model, 'azure/azure-filtered-stream');
      assert.equal(chunk.object, 'chat.completion.chunk');
    }
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.prompt_tokens, AZURE_USAGE.prompt_tokens);
    assert.equal(last.usage.completion_tokens, AZURE_USAGE.completion_tokens);
    assert.equal(last.usage.total_tokens, AZURE_USAGE.total_tokens);
  });

  test('asynchronous content-filter annotation chunks (id "", no delta) do not reach the client as chunks without id', async () => {
    const chunks = await collect(await client.chat.completions.create({ model: 'azure/azure-async-filter-stream', messages: MESSAGES, stream: true }));
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.equal(textOf(chunks), AZURE_TEXT.join(''));
    assert.deepEqual(finishReasons(chunks), ['stop']);
    for (const chunk of chunks) {
      assert.match(chunk.id, /^chatcmpl-/, `chunk without the stream's id: ${JSON.stringify(chunk)}`);
    }
  });

  test('a client-chosen deployment name stays one path segment: no ../, ? or fragment reaches the upstream URL', async () => {
    for (const deployment of ['cheap/../../deployments/expensive', 'cheap?api-version=1999-01-01&x=', 'cheap#frag', '..']) {
      const { result: response, requests } = await upstreamRequestsDuring(async () => {
        const r = await fetch(`${gateway.httpUrl}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${CLIENT_KEY}` },
          body: JSON.stringify({ model: `azpass/${deployment}`, messages: MESSAGES }),
        });
        await r.text();
        return r;
      });
      if (requests.length === 0) {
        assert.ok(response.status >= 400 && response.status < 500, `rejected with a 4xx, got ${response.status}`);
        continue;
      }
      const match = requests[0].url.match(/^\/openai\/deployments\/([^/?#]+)\/chat\/completions\?api-version=([^&#]+)$/);
      assert.ok(match, `deployment ${JSON.stringify(deployment)} reached the upstream as ${requests[0].url}`);
      assert.equal(decodeURIComponent(match[1]), deployment);
      assert.notEqual(match[1], '..', 'a dot-segment would be resolved away');
      assert.equal(match[2], AZURE_API_VERSION);
    }
  });
});

describe('moonshot', () => {
  const request = { model: 'moonshot/moonshot-usage-in-choice', messages: MESSAGES, stream: true };

  test('usage inside choices[0] of the last chunk reaches an include_usage client as the usage chunk', async () => {
    const chunks = await collect(await client.chat.completions.create({ ...request, stream_options: { include_usage: true } }));
    assert.equal(textOf(chunks), MOONSHOT_TEXT);
    assert.deepEqual(finishReasons(chunks), ['stop']);
    const withUsage = chunks.filter((c) => c.usage);
    assert.equal(withUsage.length, 1, `chunks with usage: ${JSON.stringify(withUsage)}`);
    assert.equal(withUsage[0].usage.prompt_tokens, MOONSHOT_USAGE.prompt_tokens);
    assert.equal(withUsage[0].usage.completion_tokens, MOONSHOT_USAGE.completion_tokens);
    assert.equal(withUsage[0].usage.total_tokens, MOONSHOT_USAGE.total_tokens);
    // OpenAI's include_usage contract (and provider.h's): the usage comes in a
    // LAST chunk whose choices are empty.
    assert.equal(chunks.at(-1), withUsage[0], 'the usage chunk is the last one');
    assert.deepEqual(chunks.at(-1).choices, [], `usage chunk: ${JSON.stringify(chunks.at(-1))}`);
  });

  test('without include_usage the client sees no usage, and the text and finish are intact', async () => {
    const chunks = await collect(await client.chat.completions.create(request));
    assert.equal(textOf(chunks), MOONSHOT_TEXT);
    assert.deepEqual(finishReasons(chunks), ['stop']);
    assert.equal(chunks.filter((c) => c.usage).length, 0, JSON.stringify(chunks.filter((c) => c.usage)));
  });
});

describe('deepseek', () => {
  test('streamed reasoning_content deltas reach the SDK before the content', async () => {
    const chunks = await collect(await client.chat.completions.create({
      model: 'deepseek/deepseek-reasoner', messages: MESSAGES, stream: true, stream_options: { include_usage: true },
    }));
    const reasoningAt = [];
    const contentAt = [];
    chunks.forEach((chunk, i) => {
      const delta = chunk.choices[0]?.delta ?? {};
      if (delta.reasoning_content) reasoningAt.push(i);
      if (delta.content) contentAt.push(i);
    });
    const reasoning = chunks.map((c) => c.choices[0]?.delta?.reasoning_content ?? '').join('');
    assert.equal(reasoning, DEEPSEEK_REASONING.join(''));
    assert.equal(textOf(chunks), DEEPSEEK_CONTENT.join(''));
    assert.ok(reasoningAt.length >= DEEPSEEK_REASONING.length, 'one delta per upstream reasoning event');
    assert.ok(Math.max(...reasoningAt) < Math.min(...contentAt), 'reasoning before content');
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.deepEqual(finishReasons(chunks), ['stop']);
    const usage = chunks.filter((c) => c.usage).at(-1)?.usage;
    assert.ok(usage, 'include_usage gets the usage');
    assert.equal(usage.total_tokens, DEEPSEEK_USAGE.total_tokens);
    assert.equal(usage.completion_tokens_details.reasoning_tokens, DEEPSEEK_USAGE.completion_tokens_details.reasoning_tokens);
  });

  test('the non-streaming message carries reasoning_content', async () => {
    const completion = await client.chat.completions.create({ model: 'deepseek/deepseek-reasoner', messages: MESSAGES });
    const { message } = completion.choices[0];
    assert.equal(message.role, 'assistant');
    assert.equal(message.content, DEEPSEEK_CONTENT.join(''));
    assert.equal(message.reasoning_content, DEEPSEEK_REASONING.join(''));
    assert.equal(completion.choices[0].finish_reason, 'stop');
    assert.equal(completion.usage.completion_tokens_details.reasoning_tokens, DEEPSEEK_USAGE.completion_tokens_details.reasoning_tokens);
    assert.equal(completion.model, 'deepseek/deepseek-reasoner');
  });
});
