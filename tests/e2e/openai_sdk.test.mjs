// The official OpenAI SDK against aigw, which fronts a fake upstream replaying
// recorded OpenAI answers. The SDK must not be able to tell it is not OpenAI.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { cassetteChunks, cassetteText, loadCassette, startFakeUpstream } from './fake_upstream.mjs';
import { PROVIDER_KEYS, standardConfig, startGateway } from './harness.mjs';
import { collect, textOf } from './fake_common.mjs';

let upstream;
let gateway;
let client;

before(async () => {
  upstream = await startFakeUpstream();
  gateway = await startGateway(await standardConfig(upstream));
  client = new OpenAI({ baseURL: `${gateway.httpUrl}/v1`, apiKey: 'client-key', maxRetries: 0 });
});

after(async () => {
  await upstream?.stop();
  await gateway?.stop(); // last: it throws if aigw crashed during the tests
});

const recordedResponse = (name) => JSON.parse(loadCassette(name).body);

test('non-streaming answer is the recorded one, under the model name the client asked for', async () => {
  const completion = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello!' }] });
  const recorded = recordedResponse('chat-basic');
  assert.equal(completion.model, 'gpt-4o');
  assert.equal(completion.object, 'chat.completion');
  assert.equal(completion.choices.length, 1);
  assert.equal(completion.choices[0].message.role, 'assistant');
  assert.equal(completion.choices[0].message.content, recorded.choices[0].message.content);
  assert.equal(completion.choices[0].finish_reason, 'stop');
  assert.equal(completion.usage.prompt_tokens, recorded.usage.prompt_tokens);
  assert.equal(completion.usage.completion_tokens, recorded.usage.completion_tokens);
  assert.equal(completion.usage.total_tokens, recorded.usage.total_tokens);
  assert.equal(upstream.lastRequest().body.model, 'chat-basic', 'exact mapping gpt-4o -> chat-basic');
});

test('regex model mapping rewrites the upstream model and maps the name back', async () => {
  const completion = await client.chat.completions.create({ model: 'x-basic', messages: [{ role: 'user', content: 'Hello!' }] });
  assert.equal(upstream.lastRequest().body.model, 'chat-basic');
  assert.equal(completion.model, 'x-basic');
  assert.equal(completion.choices[0].message.content, cassetteText('chat-basic'));
});

test('streaming deltas concatenate to the recorded text with exactly one finish_reason', async () => {
  const chunks = await collect(
    await client.chat.completions.create({ model: 'x-streaming', messages: [{ role: 'user', content: 'Hello!' }], stream: true }),
  );
  assert.equal(textOf(chunks), cassetteText('chat-streaming'));
  const finishes = chunks.flatMap((c) => c.choices).filter((choice) => choice.finish_reason);
  assert.deepEqual(finishes.map((choice) => choice.finish_reason), ['stop']);
  for (const chunk of chunks) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(chunk.model, 'x-streaming', 'every chunk carries the client-side model name');
  }
});

test('stream_options.include_usage ends with a usage chunk carrying the recorded details', async () => {
  const request = loadCassette('chat-streaming-detailed-usage').requestBody;
  const chunks = await collect(await client.chat.completions.create({ ...request, model: 'chat-streaming-detailed-usage' }));
  const recordedUsage = cassetteChunks('chat-streaming-detailed-usage').at(-1).usage;
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.equal(last.usage.prompt_tokens, recordedUsage.prompt_tokens);
  assert.equal(last.usage.completion_tokens, recordedUsage.completion_tokens);
  assert.equal(last.usage.total_tokens, recordedUsage.total_tokens);
  assert.equal(last.usage.prompt_tokens_details.cached_tokens, recordedUsage.prompt_tokens_details.cached_tokens);
  assert.equal(last.usage.completion_tokens_details.reasoning_tokens, recordedUsage.completion_tokens_details.reasoning_tokens);
  assert.equal(chunks.filter((c) => c.usage).length, 1, 'only the last chunk carries usage');
  const finishes = chunks.flatMap((c) => c.choices).filter((choice) => choice.finish_reason);
  assert.deepEqual(finishes.map((choice) => choice.finish_reason), ['length']);
});

test('a stream without include_usage gets no usage chunk, though the gateway asked the upstream for usage', async () => {
  const chunks = await collect(
    await client.chat.completions.create({
      model: 'chat-streaming-detailed-usage',
      messages: [{ role: 'user', content: 'Hello!' }],
      stream: true,
    }),
  );
  assert.equal(upstream.lastRequest().body.stream, true);
  assert.equal(upstream.lastRequest().body.stream_options?.include_usage, true, 'upstream was asked for usage');
  assert.ok(chunks.length >= 2, `expected the recorded chunks, got ${chunks.length}`);
  for (const chunk of chunks) {
    assert.ok(chunk.usage == null, `unexpected usage in ${JSON.stringify(chunk)}`);
    assert.ok(chunk.choices.length > 0, `unexpected chunk without choices: ${JSON.stringify(chunk)}`);
  }
});

test('tool calls come back as recorded and the tools reach the upstream', async () => {
  const request = loadCassette('chat-tools').requestBody;
  const completion = await client.chat.completions.create({ ...request, model: 'chat-tools' });
  const recorded = recordedResponse('chat-tools').choices[0];
  const sent = upstream.lastRequest().body;
  assert.deepEqual(sent.tools, request.tools);
  assert.equal(sent.tool_choice, 'auto');
  assert.equal(completion.choices[0].finish_reason, 'tool_calls');
  assert.deepEqual(
    completion.choices[0].message.tool_calls.map(({ id, type, function: f }) => ({ id, type, name: f.name, arguments: f.arguments })),
    recorded.message.tool_calls.map(({ id, type, function: f }) => ({ id, type, name: f.name, arguments: f.arguments })),
  );
});

test('parallel tool calls: parallel_tool_calls reaches the upstream and the calls come back as recorded', async () => {
  const request = loadCassette('chat-parallel-tools').requestBody;
  const completion = await client.chat.completions.create({ ...request, model: 'chat-parallel-tools' });
  const recorded = recordedResponse('chat-parallel-tools').choices[0];
  assert.equal(upstream.lastRequest().body.parallel_tool_calls, true);
  assert.deepEqual(upstream.lastRequest().body.tools, request.tools);
  assert.equal(completion.choices[0].finish_reason, 'tool_calls');
  const calls = completion.choices[0].message.tool_calls;
  assert.equal(calls.length, recorded.message.tool_calls.length);
  calls.forEach((call, i) => {
    assert.equal(call.id, recorded.message.tool_calls[i].id);
    assert.equal(call.function.name, recorded.message.tool_calls[i].function.name);
    assert.equal(call.function.arguments, recorded.message.tool_calls[i].function.arguments);
  });
});

test('JSON mode: response_format reaches the upstream and the JSON content comes back intact', async () => {
  const request = loadCassette('chat-json-mode').requestBody;
  const completion = await client.chat.completions.create({ ...request, model: 'chat-json-mode' });
  assert.deepEqual(upstream.lastRequest().body.response_format, { type: 'json_object' });
  const content = completion.choices[0].message.content;
  assert.equal(content, cassetteText('chat-json-mode'));
  assert.deepEqual(JSON.parse(content), { name: 'Alex Smith', age: 29, city: 'San Francisco' });
});

test('multimodal request passes the text and image parts upstream unchanged', async () => {
  const request = loadCassette('chat-multimodal').requestBody;
  const completion = await client.chat.completions.create({ ...request, model: 'chat-multimodal' });
  const sent = upstream.lastRequest().body;
  assert.deepEqual(sent.messages, request.messages);
  assert.equal(sent.max_completion_tokens, 100);
  assert.equal(completion.choices[0].finish_reason, 'length');
});

test('models.list() lists exact mapping keys and extra models with their provider', async () => {
  const models = [];
  for await (const model of client.models.list()) models.push(model);
  const byId = new Map(models.map((m) => [m.id, m]));
  assert.equal(byId.get('gpt-4o')?.owned_by, 'fake-openai');
  assert.equal(byId.get('extra-model')?.owned_by, 'fake-openai');
  assert.equal(byId.get('unreachable')?.owned_by, 'dead-upstream');
  for (const model of models) {
    assert.equal(model.object, 'model');
    assert.equal(typeof model.created, 'number');
  }
  for (const pattern of ['chat-*', '~^x-(.*)$', 'echo*', '*']) assert.ok(!byId.has(pattern), `pattern ${pattern} listed as a model`);
});

test('upstream 400 reaches the SDK as BadRequestError with the upstream message', async () => {
  const recorded = JSON.parse(loadCassette('chat-bad-request').body).error;
  upstream.clear();
  await assert.rejects(
    client.chat.completions.create({ model: 'chat-bad-request', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
    (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 400);
      assert.ok(err.message.includes(recorded.message), `message ${JSON.stringify(err.message)}`);
      return true;
    },
  );
  assert.equal(upstream.requests.length, 1, 'the request reached the upstream once (4xx is not retried)');
});

test('upstream 404 model_not_found reaches the SDK as NotFoundError', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'chat-unknown-model', messages: [{ role: 'user', content: 'hi' }] }),
    (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.code, 'model_not_found');
      return true;
    },
  );
});

test('provider keys are used round-robin and the client key never reaches the upstream', async () => {
  upstream.clear();
  for (let i = 0; i < 4; i++) {
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `n${i}` }] });
  }
  const auths = upstream.requests.map((r) => r.headers.authorization);
  assert.equal(auths.length, 4);
  assert.deepEqual(new Set(auths), new Set(PROVIDER_KEYS.map((k) => `Bearer ${k}`)));
  for (let i = 1; i < auths.length; i++) assert.notEqual(auths[i], auths[i - 1], `keys not alternating: ${auths}`);
  for (const request of upstream.requests) {
    assert.ok(!JSON.stringify(request.headers).includes('client-key'), 'client credentials reached the upstream');
  }
});

test('request fields the gateway does not know reach the upstream unchanged', async () => {
  const unknown = {
    logit_bias: { 50256: -100 },
    metadata: { team: 'e2e', ticket: '42' },
    foo_custom: { nested: [1, 'two', { three: true }], empty: null },
  };
  await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello!' }], ...unknown });
  const sent = upstream.lastRequest().body;
  assert.deepEqual(sent.logit_bias, { 50256: -100 });
  assert.deepEqual(sent.metadata, unknown.metadata);
  assert.deepEqual(sent.foo_custom, unknown.foo_custom);
});

test('echo provider streams the last user message back word by word', async () => {
  const input = 'the quick brown fox';
  const chunks = await collect(
    await client.chat.completions.create({ model: 'echo-sdk', messages: [{ role: 'user', content: input }], stream: true }),
  );
  assert.equal(textOf(chunks), input);
  assert.ok(chunks.filter((c) => c.choices[0]?.delta?.content).length >= 4, 'expected one chunk per word');
  assert.equal(chunks.at(-1).model, 'echo-sdk');
});

test('echo provider honours max_tokens with finish_reason "length"', async () => {
  const input = 'one two three four five six';
  const completion = await client.chat.completions.create({
    model: 'echo-sdk',
    messages: [{ role: 'user', content: input }],
    max_tokens: 2,
  });
  const content = completion.choices[0].message.content;
  assert.equal(completion.choices[0].finish_reason, 'length');
  assert.ok(content.length > 0 && content.length < input.length && input.startsWith(content), `content ${JSON.stringify(content)}`);
});
