// POST /v1/embeddings and the gRPC Embeddings rpc: the recorded OpenAI
// answer (embeddings-basic.yaml) as floats and as base64 float32, the
// official SDK (which asks for base64 and decodes it), arrays of inputs,
// Azure's path, and the 4xx errors the gateway owes a bad request.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import grpc from '@grpc/grpc-js';
import OpenAI from 'openai';
import { startFakeOpenAiFamily, synthVector } from './fake_openai_family.mjs';
import { loadCassette } from './fake_upstream.mjs';
import { assertOpenAIError, grpcClients, startGateway } from './harness.mjs';

const OPENAI_KEYS = ['sk-emb-key-one', 'sk-emb-key-two'];
const LEAKY_KEY = 'sk-emb-leaky-key';
const AZURE_KEY = 'azure-emb-key';
const AZURE_API_VERSION = '2024-06-01';
const CLIENT_KEY = 'client-key-must-not-leak';
const RECORDED = JSON.parse(loadCassette('embeddings-basic').body);
const RECORDED_VECTOR = RECORDED.data[0].embedding;
const RECORDED_INPUT = loadCassette('embeddings-basic').requestBody.input;

let upstream;
let gateway;
let client;
let grpcClient;

before(async () => {
  upstream = await startFakeOpenAiFamily();
  gateway = await startGateway({
    listen: { http: '127.0.0.1:0', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' },
    providers: [
      {
        name: 'openai',
        type: 'openai',
        base_url: `${upstream.origin}/oa/v1`,
        api_keys: OPENAI_KEYS,
        timeouts: { connect: '1s', read: '5s' },
        model_mapping: { 'my-embedder': 'embeddings-basic', synth: 'embed-synth' },
      },
      {
        // Its own provider: a 401 takes the key out of rotation (KeyRing),
        // which must not starve the other tests.
        name: 'openai-leaky',
        type: 'openai',
        base_url: `${upstream.origin}/leaky/v1`,
        api_keys: [LEAKY_KEY],
        timeouts: { connect: '1s', read: '5s' },
        model_mapping: { leaky: 'embed-401-leak' },
      },
      {
        name: 'azure',
        type: 'azure',
        base_url: upstream.origin,
        api_keys: [AZURE_KEY],
        api_version: AZURE_API_VERSION,
        timeouts: { connect: '1s', read: '5s' },
        model_mapping: { 'az-embedder': 'embeddings-basic' },
      },
      {
        name: 'ollama',
        type: 'ollama',
        base_url: `${upstream.origin}/ollama/v1`,
        timeouts: { connect: '1s', read: '5s' },
        model_mapping: { 'local-embedder': 'embeddings-basic' },
      },
      { name: 'echo', type: 'echo', model_mapping: { 'echo*': '' } },
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

function postEmbeddings(body) {
  return fetch(`${gateway.httpUrl}/v1/embeddings`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${CLIENT_KEY}` },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function okJson(response) {
  const text = await response.text();
  assert.equal(response.status, 200, text);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  return JSON.parse(text);
}

// Runs `fn` and returns the upstream requests it caused.
async function upstreamRequestsDuring(fn) {
  const before = upstream.requests.length;
  const result = await fn();
  return { result, requests: upstream.requests.slice(before) };
}

// The float32 values a base64 embedding encodes (little-endian, as OpenAI sends).
function decodeFloat32Base64(text) {
  assert.equal(typeof text, 'string', `expected a base64 string, got ${typeof text}`);
  const bytes = Buffer.from(text, 'base64');
  assert.equal(bytes.toString('base64'), text, 'valid, canonical base64');
  assert.equal(bytes.length % 4, 0);
  const copy = new Uint8Array(bytes); // aligned for Float32Array
  return Array.from(new Float32Array(copy.buffer));
}

const asFloat32 = (values) => values.map((v) => Math.fround(v));

function assertUpstreamAskedForFloats(request, model, input) {
  assert.equal(request.method, 'POST');
  assert.equal(request.body.model, model);
  assert.deepEqual(request.body.input, input);
  assert.equal(request.body.encoding_format, 'float', 'the upstream is always asked for floats');
  for (const [name, value] of Object.entries(request.headers)) {
    assert.ok(!String(value).includes(CLIENT_KEY), `the client's key reached the upstream in header ${name}`);
  }
}

describe('REST /v1/embeddings', () => {
  test('float: the recorded vector, usage and the client-side model name', async () => {
    const { result: body, requests } = await upstreamRequestsDuring(async () =>
      okJson(await postEmbeddings({ model: 'my-embedder', input: RECORDED_INPUT, encoding_format: 'float' })),
    );
    assert.equal(body.object, 'list');
    assert.equal(body.model, 'my-embedder', 'model mapped back to the name the client used');
    assert.equal(body.data.length, 1);
    assert.equal(body.data[0].object, 'embedding');
    assert.equal(body.data[0].index, 0);
    assert.equal(body.data[0].embedding.length, RECORDED_VECTOR.length);
    assert.deepEqual(body.data[0].embedding, RECORDED_VECTOR, 'every number exactly as recorded');
    assert.deepEqual(body.usage, RECORDED.usage);

    assert.equal(requests.length, 1);
    assert.equal(requests[0].url, '/oa/v1/embeddings');
    assert.ok(OPENAI_KEYS.map((k) => `Bearer ${k}`).includes(requests[0].headers.authorization));
    assertUpstreamAskedForFloats(requests[0], 'embeddings-basic', RECORDED_INPUT);
  });

  test('no encoding_format means floats', async () => {
    const body = await okJson(await postEmbeddings({ model: 'my-embedder', input: RECORDED_INPUT }));
    assert.deepEqual(body.data[0].embedding, RECORDED_VECTOR);
  });

  test('base64: little-endian float32 of the recorded vector, while the upstream was asked for floats', async () => {
    const { result: body, requests } = await upstreamRequestsDuring(async () =>
      okJson(await postEmbeddings({ model: 'my-embedder', input: RECORDED_INPUT, encoding_format: 'base64' })),
    );
    const decoded = decodeFloat32Base64(body.data[0].embedding);
    assert.equal(decoded.length, RECORDED_VECTOR.length);
    assert.deepEqual(decoded, asFloat32(RECORDED_VECTOR), 'each value is the recorded one rounded to float32');
    for (let i = 0; i < decoded.length; i++) {
      assert.ok(Math.abs(decoded[i] - RECORDED_VECTOR[i]) <= Math.abs(RECORDED_VECTOR[i]) * 2 ** -23, `value ${i}`);
    }
    assert.equal(body.model, 'my-embedder');
    assert.deepEqual(body.usage, RECORDED.usage);
    assertUpstreamAskedForFloats(requests[0], 'embeddings-basic', RECORDED_INPUT);
  });

  test('an array of 3 inputs gives 3 vectors in order, as floats and as base64', async () => {
    const inputs = ['first text', 'второй', 'third one, longer'];
    const { result: floats, requests } = await upstreamRequestsDuring(async () =>
      okJson(await postEmbeddings({ model: 'synth', input: inputs })),
    );
    assertUpstreamAskedForFloats(requests[0], 'embed-synth', inputs);
    assert.equal(floats.data.length, 3);
    floats.data.forEach((item, i) => {
      assert.equal(item.index, i);
      assert.deepEqual(item.embedding, synthVector(i, inputs[i]));
    });
    assert.deepEqual(floats.usage, { prompt_tokens: 9, total_tokens: 9 });
    assert.equal(floats.model, 'synth');

    const b64 = await okJson(await postEmbeddings({ model: 'synth', input: inputs, encoding_format: 'base64' }));
    b64.data.forEach((item, i) => {
      assert.equal(item.index, i);
      assert.deepEqual(decodeFloat32Base64(item.embedding), asFloat32(synthVector(i, inputs[i])));
    });
  });

  test('dimensions, user and unknown fields reach the upstream', async () => {
    const { requests } = await upstreamRequestsDuring(async () =>
      okJson(await postEmbeddings({ model: 'synth', input: 'x', dimensions: 256, user: 'user-7', custom_field: { a: [1, 'b'] } })),
    );
    const { body } = requests[0];
    assert.equal(body.dimensions, 256);
    assert.equal(body.user, 'user-7');
    assert.deepEqual(body.custom_field, { a: [1, 'b'] });
    assert.equal(body.encoding_format, 'float');
  });

  test('azure: POST /openai/deployments/<deployment>/embeddings?api-version=<configured> with api-key', async () => {
    const { result: body, requests } = await upstreamRequestsDuring(async () =>
      okJson(await postEmbeddings({ model: 'az-embedder', input: RECORDED_INPUT, encoding_format: 'base64' })),
    );
    assert.equal(requests.length, 1);
    assert.equal(requests[0].url, `/openai/deployments/embeddings-basic/embeddings?api-version=${AZURE_API_VERSION}`);
    assert.equal(requests[0].headers['api-key'], AZURE_KEY);
    assert.equal(requests[0].headers.authorization, undefined);
    assertUpstreamAskedForFloats(requests[0], 'embeddings-basic', RECORDED_INPUT);
    assert.equal(body.model, 'az-embedder');
    assert.deepEqual(decodeFloat32Base64(body.data[0].embedding), asFloat32(RECORDED_VECTOR));
  });

  test('ollama: POST {base_url}/embeddings with no Authorization (no key configured)', async () => {
    const { result: body, requests } = await upstreamRequestsDuring(async () =>
      okJson(await postEmbeddings({ model: 'local-embedder', input: RECORDED_INPUT })),
    );
    assert.equal(requests.length, 1);
    assert.equal(requests[0].url, '/ollama/v1/embeddings');
    assert.equal(requests[0].headers.authorization, undefined);
    assertUpstreamAskedForFloats(requests[0], 'embeddings-basic', RECORDED_INPUT);
    assert.equal(body.model, 'local-embedder');
    assert.deepEqual(body.data[0].embedding, RECORDED_VECTOR);
  });
});

describe('official SDK client.embeddings.create', () => {
  test('default (the SDK asks for base64 and decodes it): the recorded vector in float32', async () => {
    const { result, requests } = await upstreamRequestsDuring(() =>
      client.embeddings.create({ model: 'my-embedder', input: RECORDED_INPUT }),
    );
    assert.equal(result.model, 'my-embedder');
    assert.equal(result.data.length, 1);
    assert.ok(Array.isArray(result.data[0].embedding), 'the SDK decoded base64 into numbers');
    assert.deepEqual(result.data[0].embedding, asFloat32(RECORDED_VECTOR));
    assert.equal(result.usage.prompt_tokens, RECORDED.usage.prompt_tokens);
    assert.equal(result.usage.total_tokens, RECORDED.usage.total_tokens);
    assertUpstreamAskedForFloats(requests[0], 'embeddings-basic', RECORDED_INPUT);
  });

  test('encoding_format "float": the recorded vector exactly', async () => {
    const result = await client.embeddings.create({ model: 'my-embedder', input: RECORDED_INPUT, encoding_format: 'float' });
    assert.deepEqual(result.data[0].embedding, RECORDED_VECTOR);
  });

  test('an array input through the SDK', async () => {
    const inputs = ['a', 'bb', 'ccc'];
    const result = await client.embeddings.create({ model: 'synth', input: inputs });
    assert.deepEqual(result.data.map((d) => d.index), [0, 1, 2]);
    result.data.forEach((item, i) => assert.deepEqual(item.embedding, asFloat32(synthVector(i, inputs[i]))));
  });
});

describe('REST errors', () => {
  // A bad request must be answered by the gateway without calling the upstream.
  async function assertRejected(body, status, { param, code } = {}) {
    const { result: error, requests } = await upstreamRequestsDuring(async () => assertOpenAIError(await postEmbeddings(body), status));
    assert.equal(requests.length, 0, `the upstream was called for ${JSON.stringify(body)}`);
    if (param !== undefined) assert.equal(error.param, param, JSON.stringify(error));
    if (code !== undefined) assert.equal(error.code, code, JSON.stringify(error));
    return error;
  }

  test('token-array input is a 400 naming input[i]', async () => {
    await assertRejected({ model: 'my-embedder', input: [[1, 2, 3]] }, 400, { param: 'input[0]' });
    await assertRejected({ model: 'my-embedder', input: [1, 2, 3] }, 400, { param: 'input[0]' });
    await assertRejected({ model: 'my-embedder', input: ['fine', [4, 5]] }, 400, { param: 'input[1]' });
  });

  test('input missing, empty or of the wrong type is a 400 naming input', async () => {
    await assertRejected({ model: 'my-embedder' }, 400, { param: 'input' });
    await assertRejected({ model: 'my-embedder', input: [] }, 400, { param: 'input' });
    await assertRejected({ model: 'my-embedder', input: 42 }, 400, { param: 'input' });
  });

  test('encoding_format other than float/base64 is a 400', async () => {
    await assertRejected({ model: 'my-embedder', input: 'x', encoding_format: 'int8' }, 400, { param: 'encoding_format' });
    await assertRejected({ model: 'my-embedder', input: 'x', encoding_format: 1 }, 400, { param: 'encoding_format' });
  });

  test('dimensions must be a positive integer', async () => {
    for (const dimensions of [0, -3, 1.5, '256']) {
      await assertRejected({ model: 'my-embedder', input: 'x', dimensions }, 400, { param: 'dimensions' });
    }
  });

  test('missing model is a 400 naming model', async () => {
    await assertRejected({ input: 'x' }, 400, { param: 'model' });
  });

  test('invalid JSON is a 400', async () => {
    await assertRejected('{"model": "my-embedder", "input": ', 400);
  });

  test('unknown model is a 404 model_not_found', async () => {
    await assertRejected({ model: 'no-such-embedder', input: 'x' }, 404, { code: 'model_not_found' });
  });

  test('a provider without embeddings (echo) is a 400 embeddings_not_supported', async () => {
    await assertRejected({ model: 'echo-1', input: 'x' }, 400, { code: 'embeddings_not_supported' });
  });

  test('an upstream 401 comes back as 401 with the provider key redacted', async () => {
    const { result: error, requests } = await upstreamRequestsDuring(async () =>
      assertOpenAIError(await postEmbeddings({ model: 'leaky', input: 'x' }), 401),
    );
    assert.equal(requests.length, 1);
    assert.equal(requests[0].headers.authorization, `Bearer ${LEAKY_KEY}`, 'the fake quoted this key back');
    assert.match(error.message, /Incorrect API key provided/);
    assert.ok(!JSON.stringify(error).includes(LEAKY_KEY), `key leaked: ${JSON.stringify(error)}`);
  });
});

describe('gRPC Embeddings', () => {
  function embeddings(request) {
    return new Promise((resolve, reject) => {
      grpcClient.chat.Embeddings(request, { deadline: new Date(Date.now() + 10_000) }, (err, response) => (err ? reject(err) : resolve(response)));
    });
  }

  test('returns the recorded floats under the client-side model name', async () => {
    const { result: response, requests } = await upstreamRequestsDuring(() =>
      embeddings({ model: 'my-embedder', input: [RECORDED_INPUT] }),
    );
    assert.equal(response.model, 'my-embedder');
    assert.equal(response.data.length, 1);
    assert.equal(response.data[0].index, 0);
    assert.deepEqual(response.data[0].embedding, RECORDED_VECTOR);
    assert.equal(response.usage.prompt_tokens, RECORDED.usage.prompt_tokens);
    assert.equal(response.usage.total_tokens, RECORDED.usage.total_tokens);
    assertUpstreamAskedForFloats(requests[0], 'embeddings-basic', RECORDED_INPUT);
  });

  test('several inputs give one vector each, in order', async () => {
    const inputs = ['one', 'two', 'three'];
    const response = await embeddings({ model: 'synth', input: inputs, dimensions: 64 });
    assert.equal(upstream.requests.at(-1).body.dimensions, 64);
    assert.deepEqual(response.data.map((d) => d.index), [0, 1, 2]);
    response.data.forEach((item, i) => assert.deepEqual(item.embedding, synthVector(i, inputs[i])));
  });

  test('errors map to gRPC status codes', async () => {
    await assert.rejects(embeddings({ model: 'echo-1', input: ['x'] }), (err) => err.code === grpc.status.INVALID_ARGUMENT);
    await assert.rejects(embeddings({ model: 'no-such-embedder', input: ['x'] }), (err) => err.code === grpc.status.NOT_FOUND);
    await assert.rejects(embeddings({ model: 'my-embedder', input: [] }), (err) => err.code === grpc.status.INVALID_ARGUMENT);
    await assert.rejects(embeddings({ model: '', input: ['x'] }), (err) => err.code === grpc.status.INVALID_ARGUMENT);
  });

  test('non-positive dimensions are rejected as over REST, not sent upstream', async () => {
    for (const dimensions of [0, -5]) {
      const { result: outcome, requests } = await upstreamRequestsDuring(() =>
        embeddings({ model: 'synth', input: ['x'], dimensions }).then(() => null, (err) => err),
      );
      assert.equal(outcome?.code, grpc.status.INVALID_ARGUMENT,
        `dimensions ${dimensions}: ${outcome ? outcome.message : 'the call succeeded'}; upstream got ${JSON.stringify(requests.map((r) => r.body))}`);
      assert.equal(requests.length, 0);
    }
  });
});
