// The aigw.v1 gRPC API with @grpc/grpc-js: unary and streaming completions,
// model listing, status codes for every failure, health and reflection.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import grpc from '@grpc/grpc-js';
import { cassetteChunks, cassetteText, loadCassette, startFakeUpstream } from './fake_upstream.mjs';
import { grpcClients, standardConfig, startGateway } from './harness.mjs';
import { finishReasons } from './fake_common.mjs';

const RPC_DEADLINE_MS = 10_000;

let upstream;
let gateway;
let clients;
let chat;
let health;
let reflection;

before(async () => {
  upstream = await startFakeUpstream();
  gateway = await startGateway(await standardConfig(upstream));
  clients = grpcClients(gateway.grpcAddr);
  ({ chat, health, reflection } = clients);
});

after(async () => {
  clients?.close();
  await upstream?.stop();
  await gateway?.stop(); // last: it throws if aigw crashed during the tests
});

const deadline = () => new Date(Date.now() + RPC_DEADLINE_MS);

function unary(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: deadline() }, (err, response) => (err ? reject(err) : resolve(response)));
  });
}

// Reads a server stream to its end: {chunks, error} (error is null on status OK).
function readStream(request) {
  return new Promise((resolve) => {
    const chunks = [];
    const call = chat.Stream(request, { deadline: deadline() });
    call.on('data', (chunk) => chunks.push(chunk));
    call.on('error', (error) => resolve({ chunks, error }));
    call.on('end', () => resolve({ chunks, error: null }));
  });
}

function userRequest(model, content, extra = {}) {
  return { model, messages: [{ role: 'user', content }], ...extra };
}

// JSON value <-> google.protobuf.Struct as @grpc/proto-loader expects it.
function toValue(value) {
  if (value === null) return { nullValue: 'NULL_VALUE' };
  if (Array.isArray(value)) return { listValue: { values: value.map(toValue) } };
  switch (typeof value) {
    case 'number':
      return { numberValue: value };
    case 'string':
      return { stringValue: value };
    case 'boolean':
      return { boolValue: value };
    default:
      return { structValue: toStruct(value) };
  }
}

function toStruct(object) {
  return { fields: Object.fromEntries(Object.entries(object).map(([k, v]) => [k, toValue(v)])) };
}

const streamText = (chunks) => chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');

test('Create answers with the echo of the last user message', async () => {
  const response = await unary(chat, 'Create', userRequest('echo-grpc', 'hello grpc world'));
  assert.equal(response.object, 'chat.completion');
  assert.equal(response.model, 'echo-grpc');
  assert.equal(response.choices[0].message.role, 'assistant');
  assert.equal(response.choices[0].message.content, 'hello grpc world');
  assert.equal(response.choices[0].finish_reason, 'stop');
  assert.ok(response.usage.total_tokens > 0);
});

test('a request over limits.max_body_bytes is RESOURCE_EXHAUSTED', async () => {
  const big = 'x'.repeat(70_000); // standardConfig: 65536 bytes
  await assert.rejects(unary(chat, 'Create', userRequest('echo-grpc', big)), (error) => {
    assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(error.details, /exceeds the limit of 65536 bytes/);
    return true;
  });
});

test('initial metadata names the provider that answered (x-aigw-provider)', async () => {
  const metadataOf = (call) => new Promise((resolve) => call.on('metadata', resolve));
  const unaryCall = chat.Create(userRequest('echo-grpc', 'hi'), { deadline: deadline() }, () => {});
  assert.deepEqual((await metadataOf(unaryCall)).get('x-aigw-provider'), ['echo']);
  const streamCall = chat.Stream(userRequest('chat-streaming', 'Hello!'), { deadline: deadline() });
  const ended = new Promise((resolve) => streamCall.on('end', resolve));
  streamCall.on('data', () => {});
  const metadata = await metadataOf(streamCall);
  assert.deepEqual(metadata.get('x-aigw-provider'), ['fake-openai']);
  assert.deepEqual(metadata.get('x-aigw-attempts'), ['1']);
  await ended;
});

test('Create replays the recorded OpenAI answer under the requested model name', async () => {
  const response = await unary(chat, 'Create', userRequest('gpt-4o', 'Hello!'));
  const recorded = JSON.parse(loadCassette('chat-basic').body);
  assert.equal(response.model, 'gpt-4o');
  assert.equal(response.choices[0].message.content, cassetteText('chat-basic'));
  assert.equal(response.usage.prompt_tokens, recorded.usage.prompt_tokens);
  assert.equal(response.usage.completion_tokens_details.reasoning_tokens, recorded.usage.completion_tokens_details.reasoning_tokens);
  assert.equal(upstream.lastRequest().body.model, 'chat-basic');
});

test('Stream sends the echo word by word', async () => {
  const input = 'streaming over grpc works fine';
  const { chunks, error } = await readStream(userRequest('echo-grpc', input));
  assert.equal(error, null);
  assert.equal(streamText(chunks), input);
  assert.ok(chunks.length >= 5, `expected one chunk per word, got ${chunks.length}`);
  assert.deepEqual(finishReasons(chunks), ['stop']);
  for (const chunk of chunks) assert.equal(chunk.object, 'chat.completion.chunk');
});

test('Stream relays the recorded OpenAI stream', async () => {
  const { chunks, error } = await readStream(userRequest('x-streaming', 'Hello!'));
  assert.equal(error, null);
  assert.equal(streamText(chunks), cassetteText('chat-streaming'));
  assert.deepEqual(finishReasons(chunks), ['stop']);
  assert.ok(chunks.every((c) => c.model === 'x-streaming'));
});

test('Stream with include_usage ends with the recorded usage', async () => {
  const { chunks, error } = await readStream(
    userRequest('chat-streaming-detailed-usage', 'Hello!', { stream_options: { include_usage: true } }),
  );
  assert.equal(error, null);
  const recorded = cassetteChunks('chat-streaming-detailed-usage').at(-1).usage;
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.equal(last.usage.total_tokens, recorded.total_tokens);
  assert.equal(last.usage.completion_tokens_details.reasoning_tokens, recorded.completion_tokens_details.reasoning_tokens);
});

test('Create with tools returns the recorded tool call', async () => {
  const request = loadCassette('chat-tools').requestBody;
  const response = await unary(chat, 'Create', {
    model: 'chat-tools',
    messages: request.messages,
    tools: request.tools.map((tool) => ({
      type: tool.type,
      function: { ...tool.function, parameters: toStruct(tool.function.parameters) },
    })),
    tool_choice: { mode: 'auto' },
  });
  assert.deepEqual(upstream.lastRequest().body.tools, request.tools);
  assert.equal(upstream.lastRequest().body.tool_choice, 'auto');
  const recorded = JSON.parse(loadCassette('chat-tools').body).choices[0].message.tool_calls[0];
  const call = response.choices[0].message.tool_calls[0];
  assert.equal(response.choices[0].finish_reason, 'tool_calls');
  assert.equal(call.id, recorded.id);
  assert.equal(call.function.name, recorded.function.name);
  assert.equal(call.function.arguments, recorded.function.arguments);
});

test('fields in `extra` reach the upstream as top-level request fields', async () => {
  await unary(chat, 'Create', userRequest('gpt-4o', 'Hello!', { extra: toStruct({ foo_custom: { a: [1, 'b'] }, metadata: { k: 'v' } }) }));
  const sent = upstream.lastRequest().body;
  assert.deepEqual(sent.foo_custom, { a: [1, 'b'] });
  assert.deepEqual(sent.metadata, { k: 'v' });
});

test('ListModels lists the configured models with their provider', async () => {
  const response = await unary(chat, 'ListModels', {});
  assert.equal(response.object, 'list');
  const owners = new Map(response.data.map((m) => [m.id, m.owned_by]));
  assert.equal(owners.get('gpt-4o'), 'fake-openai');
  assert.equal(owners.get('extra-model'), 'fake-openai');
  assert.ok(response.data.every((m) => m.object === 'model'));
});

// [description, request, expected status] for every failure the gRPC API maps.
const STATUS_CASES = [
  ['unknown model', userRequest('no-such-model', 'hi'), grpc.status.NOT_FOUND],
  ['empty messages', { model: 'gpt-4o', messages: [] }, grpc.status.INVALID_ARGUMENT],
  ['missing model', { model: '', messages: [{ role: 'user', content: 'hi' }] }, grpc.status.INVALID_ARGUMENT],
  ['upstream 400', userRequest('chat-bad-request', 'hi'), grpc.status.INVALID_ARGUMENT],
  ['upstream 404', userRequest('chat-unknown-model', 'hi'), grpc.status.NOT_FOUND],
  ['upstream 401', userRequest('http-401-leak', 'hi'), grpc.status.UNAUTHENTICATED],
  ['upstream 429', userRequest('http-429', 'hi'), grpc.status.RESOURCE_EXHAUSTED],
  ['upstream 500', userRequest('http-500', 'hi'), grpc.status.UNAVAILABLE],
  ['unreachable upstream', userRequest('unreachable', 'hi'), grpc.status.UNAVAILABLE],
  ['upstream timeout', userRequest('hang', 'hi'), grpc.status.DEADLINE_EXCEEDED],
];

for (const [what, request, code] of STATUS_CASES) {
  test(`Create: ${what} -> ${grpc.status[code]}`, async () => {
    const started = performance.now();
    await assert.rejects(unary(chat, 'Create', request), (err) => {
      // Well before the client's own deadline, so DEADLINE_EXCEEDED is the gateway's.
      assert.ok(performance.now() - started < RPC_DEADLINE_MS / 2, 'the gateway did not answer in time');
      assert.equal(err.code, code, `got ${grpc.status[err.code]}: ${err.details}`);
      assert.ok(!err.details.includes('sk-fake-key'), `provider key leaked: ${err.details}`);
      return true;
    });
  });
}

test('Stream: upstream 500 -> UNAVAILABLE', async () => {
  const { chunks, error } = await readStream(userRequest('http-500', 'hi'));
  assert.equal(error?.code, grpc.status.UNAVAILABLE, `got ${error && grpc.status[error.code]}`);
  assert.equal(streamText(chunks), '');
});

test('Stream: unknown model -> NOT_FOUND', async () => {
  const { error } = await readStream(userRequest('no-such-model', 'hi'));
  assert.equal(error?.code, grpc.status.NOT_FOUND, `got ${error && grpc.status[error.code]}`);
});

test('Stream: an upstream break mid-stream ends the call with an error status after the chunks', async () => {
  const { chunks, error } = await readStream(userRequest('break-mid-stream', 'hi'));
  assert.equal(streamText(chunks), 'one two three ');
  assert.ok(error, 'the stream ended with status OK');
  assert.equal(error.code, grpc.status.UNAVAILABLE, `got ${grpc.status[error.code]}: ${error.details}`);
  assert.ok(!error.details.includes('sk-fake-key'));
});

test('health Check answers SERVING', async () => {
  const response = await unary(health, 'Check', { service: '' });
  assert.equal(response.status, 'SERVING');
});

// Sends one reflection request on a fresh stream and resolves with the first response.
function reflect(request) {
  return new Promise((resolve, reject) => {
    const call = reflection.ServerReflectionInfo({ deadline: deadline() });
    call.on('data', (response) => {
      resolve(response);
      call.end();
    });
    call.on('error', reject);
    call.write(request);
  });
}

test('server reflection lists the services', async () => {
  const response = await reflect({ list_services: '' });
  const names = response.list_services_response.service.map((s) => s.name);
  assert.ok(names.includes('aigw.v1.ChatCompletions'), `services: ${names}`);
  assert.ok(names.includes('grpc.health.v1.Health'), `services: ${names}`);
});

test('server reflection serves the file descriptor declaring aigw.v1.ChatCompletions', async () => {
  const response = await reflect({ file_containing_symbol: 'aigw.v1.ChatCompletions' });
  const files = (response.file_descriptor_response?.file_descriptor_proto ?? []).map((bytes) => Buffer.from(bytes));
  assert.ok(files.length > 0, `no descriptor: ${JSON.stringify(response.error_response)}`);
  // A serialized FileDescriptorProto holds its package and service names as plain strings.
  const declaring = files.find((file) => file.includes('aigw.v1') && file.includes('ChatCompletions'));
  assert.ok(declaring, 'no descriptor declares aigw.v1.ChatCompletions');
  assert.ok(declaring.includes('ChatCompletionChunk') && declaring.includes('ListModels'));
});

test('one HTTP/2 connection holds at most 100 calls at once; the rest wait their turn and all complete', async () => {
  const words = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
  let sampling = true;
  let most = 0;
  const sampler = (async () => {
    while (sampling) {
      const text = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
      const active = Number(text.match(/^aigw_streams_active (\d+)$/m)?.[1] ?? 0);
      most = Math.max(most, active);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const results = await Promise.all(Array.from({ length: 120 }, () => readStream(userRequest('echo', words))));
  sampling = false;
  await sampler;
  for (const { chunks, error } of results) {
    assert.equal(error, null);
    assert.equal(streamText(chunks).trim(), words);
  }
  assert.ok(most <= 100, `${most} streams were in flight on one connection`);
  assert.ok(most >= 50, `only ${most} streams ran at once`);
});
