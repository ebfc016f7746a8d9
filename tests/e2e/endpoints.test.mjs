// REST niceties real clients rely on: GET /v1/models/{id} (the openai SDK's
// models.retrieve), /v1/models listing every concrete name, CORS for
// browser clients (preflight, headers on answers, errors and streams), the
// Origin check before any upstream call, and Allow on 405s.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { startFakeUpstream } from './fake_upstream.mjs';
import { assertOpenAIError, chatRequest, postChat, readSse, standardConfig, startGateway } from './harness.mjs';

const ORIGIN = 'https://chat.example.com';

let upstream;
let gateway; // CORS on for ORIGIN
let closed; // CORS off (the default)
let client;

before(async () => {
  upstream = await startFakeUpstream();
  const base = await standardConfig(upstream);
  gateway = await startGateway({
    ...base,
    routes: [{ models: ['routed-model', 'routed-*'], providers: ['echo'] }],
    cors: { allow_origins: [ORIGIN, 'http://localhost:3000'], allow_headers: ['authorization', 'content-type'], max_age: '10m' },
  });
  closed = await startGateway(base);
  client = new OpenAI({ baseURL: `${gateway.httpUrl}/v1`, apiKey: 'client-key', maxRetries: 0 });
});

after(async () => {
  await upstream?.stop();
  await gateway?.stop();
  await closed?.stop();
});

// ---------------------------------------------------------------- models

test('openai SDK models.retrieve: a listed model in OpenAI\'s shape', async () => {
  const model = await client.models.retrieve('gpt-4o');
  assert.deepEqual(Object.keys(model).sort(), ['created', 'id', 'object', 'owned_by']);
  assert.equal(model.id, 'gpt-4o');
  assert.equal(model.object, 'model');
  assert.equal(model.owned_by, 'fake-openai');
  assert.ok(Number.isInteger(model.created) && model.created > 1_600_000_000);
});

test('models.retrieve answers for any name a request may use (patterns too), owned by the provider that serves it', async () => {
  assert.equal((await client.models.retrieve('x-anything')).owned_by, 'fake-openai'); // regex mapping
  assert.equal((await client.models.retrieve('echo-7')).owned_by, 'echo'); // prefix mapping
  assert.equal((await client.models.retrieve('routed-model')).owned_by, 'echo'); // a route
  const slashed = await client.models.retrieve('echo/with-slash');
  assert.equal(slashed.id, 'echo/with-slash');
});

test('models.retrieve of an unknown model: 404 model_not_found in OpenAI\'s error body', async () => {
  await assert.rejects(client.models.retrieve('no-such-model'), (err) => {
    assert.ok(err instanceof OpenAI.NotFoundError, String(err));
    assert.equal(err.code, 'model_not_found');
    return true;
  });
  const error = await assertOpenAIError(await fetch(`${gateway.httpUrl}/v1/models/no-such-model`), 404);
  assert.equal(error.code, 'model_not_found');
});

test('/v1/models lists every concrete name once, route names included, and each can be retrieved', async () => {
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  for (const id of ['gpt-4o', 'extra-model', 'unreachable', 'routed-model']) assert.ok(ids.includes(id), `${id} missing: ${ids}`);
  assert.ok(!ids.some((id) => id.includes('*') || id.startsWith('~')), `patterns listed: ${ids}`);
  assert.equal(new Set(ids).size, ids.length, 'a name is listed twice');
  for (const id of ids) assert.equal((await client.models.retrieve(id)).id, id);
});

// ---------------------------------------------------------------- 405 / OPTIONS

test('405 answers carry Allow', async () => {
  for (const [method, path, allow] of [
    ['GET', '/v1/chat/completions', 'POST, OPTIONS'],
    ['PUT', '/v1/embeddings', 'POST, OPTIONS'],
    ['POST', '/v1/models', 'GET, HEAD, OPTIONS'],
    ['DELETE', '/v1/models/gpt-4o', 'GET, HEAD, OPTIONS'],
  ]) {
    const response = await fetch(`${gateway.httpUrl}${path}`, { method });
    assert.equal(response.headers.get('allow'), allow, `${method} ${path}`);
    const error = await assertOpenAIError(response, 405);
    assert.equal(error.code, 'method_not_allowed');
  }
});

test('OPTIONS without Origin (not a preflight) is 204 with Allow', async () => {
  const response = await fetch(`${closed.httpUrl}/v1/chat/completions`, { method: 'OPTIONS' });
  assert.equal(response.status, 204);
  assert.equal(response.headers.get('allow'), 'POST, OPTIONS');
  assert.equal(response.headers.get('access-control-allow-origin'), null);
});

// ---------------------------------------------------------------- CORS

function preflight(base, origin, path = '/v1/chat/completions') {
  return fetch(`${base}${path}`, {
    method: 'OPTIONS',
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization, content-type',
    },
  });
}

test('a browser preflight from an allowed origin: 204 with the Access-Control headers', async () => {
  const response = await preflight(gateway.httpUrl, ORIGIN);
  assert.equal(response.status, 204);
  assert.equal(response.headers.get('access-control-allow-origin'), ORIGIN);
  assert.equal(response.headers.get('access-control-allow-methods'), 'POST, OPTIONS');
  assert.equal(response.headers.get('access-control-allow-headers'), 'authorization, content-type');
  assert.equal(response.headers.get('access-control-max-age'), '600');
  assert.equal(response.headers.get('vary'), 'Origin');
  assert.equal(await response.text(), '');
});

test('answers to an allowed origin carry Allow-Origin and expose the gateway headers: JSON, SSE and errors', async () => {
  const headers = { Origin: ORIGIN };
  const check = (response, what) => {
    assert.equal(response.headers.get('access-control-allow-origin'), ORIGIN, what);
    const exposed = response.headers.get('access-control-expose-headers') ?? '';
    for (const name of ['x-request-id', 'x-aigw-provider', 'x-aigw-dropped-params', 'x-ratelimit-remaining-requests', 'retry-after']) {
      assert.ok(exposed.includes(name), `${what}: ${name} not exposed (${exposed})`);
    }
  };
  const json = await postChat(gateway.httpUrl, chatRequest('gpt-4o', 'Hello!'), { headers });
  assert.equal(json.status, 200);
  check(json, 'JSON answer');
  await json.text();

  const sse = await postChat(gateway.httpUrl, chatRequest('echo', 'one two', { stream: true }), { headers });
  assert.equal(sse.status, 200);
  check(sse, 'SSE stream');
  assert.equal((await readSse(sse)).done, true);

  const notFound = await postChat(gateway.httpUrl, chatRequest('no-such-model', 'hi'), { headers });
  check(notFound, 'error');
  await assertOpenAIError(notFound, 404);

  const models = await fetch(`${gateway.httpUrl}/v1/models`, { headers });
  check(models, '/v1/models');
  await models.text();
});

test('an Origin that is not allowed gets 403 before any upstream call, and no CORS headers', async () => {
  for (const base of [gateway.httpUrl, closed.httpUrl]) {
    const before = upstream.requests.length;
    const response = await postChat(base, chatRequest('gpt-4o', 'Hello!'), { headers: { Origin: 'https://evil.example' } });
    assert.equal(response.headers.get('access-control-allow-origin'), null);
    const error = await assertOpenAIError(response, 403);
    assert.equal(error.code, 'origin_not_allowed');
    assert.equal(upstream.requests.length, before, 'the upstream was called');

    const pre = await preflight(base, 'https://evil.example');
    assert.equal(pre.status, 403);
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
    await pre.text();
  }
});

test('CORS off by default: a page\'s Origin gets 403, requests without Origin are unaffected', async () => {
  const response = await postChat(closed.httpUrl, chatRequest('gpt-4o', 'Hello!'), { headers: { Origin: ORIGIN } });
  await assertOpenAIError(response, 403);
  const plain = await postChat(closed.httpUrl, chatRequest('gpt-4o', 'Hello!'));
  assert.equal(plain.status, 200);
  assert.equal(plain.headers.get('access-control-allow-origin'), null);
  await plain.text();
});

test('the openai SDK as a browser page would use it: preflighted request through CORS', async () => {
  // What the browser does for the SDK's POST: the preflight with the SDK's own headers, then the call.
  const pre = await fetch(`${gateway.httpUrl}/v1/chat/completions`, {
    method: 'OPTIONS',
    headers: { Origin: 'http://localhost:3000', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'http://localhost:3000');
  const browserClient = new OpenAI({
    baseURL: `${gateway.httpUrl}/v1`,
    apiKey: 'client-key',
    maxRetries: 0,
    defaultHeaders: { Origin: 'http://localhost:3000' },
  });
  const { data, response } = await browserClient.chat.completions
    .create({ model: 'echo', messages: [{ role: 'user', content: 'from the page' }] })
    .withResponse();
  assert.equal(data.choices[0].message.content, 'from the page');
  assert.equal(response.headers.get('access-control-allow-origin'), 'http://localhost:3000');
});
