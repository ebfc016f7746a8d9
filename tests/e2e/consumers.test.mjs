// Consumers: who may call and which models. A gateway with `consumers:`
// wants a key (Authorization: Bearer, api-key, x-api-key; gRPC
// authorization metadata): missing or unknown is 401 invalid_api_key
// (UNAUTHENTICATED), a model off the consumer's allow-list 403
// model_not_allowed (PERMISSION_DENIED), both before any upstream call.
// The model list (REST and gRPC) shows each consumer its own models. The
// consumer's key never reaches the upstream, which sees the provider key.
// A foreign Origin is 403 before anything else; admin.token guards POST
// /reload, which refuses any browser request. Without consumers the
// gateway is open and says so in its log.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import grpc from '@grpc/grpc-js';
import OpenAI from 'openai';
import YAML from 'yaml';
import { LISTEN_ANY, collect, sleep, textOf } from './fake_common.mjs';
import { WORD, meteredProvider, startMeteredUpstream } from './fake_metered.mjs';
import { assertOpenAIError, chatRequest, grpcClients, readSse, startGateway, within } from './harness.mjs';

const KEY_A = 'sk-consumer-team-a-0123456789';
const KEY_A_HASHED = 'sk-consumer-team-a-hashed-abcdef'; // configured as its SHA-256 only
const KEY_B = 'sk-consumer-team-b-9876543210';
const PROVIDER_KEY = 'sk-provider-upstream-key-42';
const ADMIN_TOKEN = 'admin-token-for-reload-7f3a';
const ALLOWED_ORIGIN = 'https://app.example.com';
const sha256 = (text) => crypto.createHash('sha256').update(text).digest('hex');

const MODELS = ['m-a', 'm-b', 'gpt-4o', 'gpt-4-turbo'];
const TEAM_A_MODELS = ['gpt-4o', 'gpt-4-turbo', 'm-a']; // "gpt-4*" and "m-a"

function config(upstream) {
  return {
    listen: { ...LISTEN_ANY },
    providers: [meteredProvider(upstream, { keys: [PROVIDER_KEY], models: MODELS })],
    consumers: [
      { name: 'team-a', api_keys: [KEY_A, `sha256:${sha256(KEY_A_HASHED)}`], models: ['gpt-4*', 'm-a'] },
      { name: 'team-b', api_keys: [KEY_B] },
    ],
    cors: { allow_origins: [ALLOWED_ORIGIN] },
    admin: { token: ADMIN_TOKEN },
  };
}

let upstream;
let gateway;
let clients;

before(async () => {
  upstream = await startMeteredUpstream();
  gateway = await startGateway(config(upstream));
  clients = grpcClients(gateway.grpcAddr);
});

after(async () => {
  clients?.close();
  await upstream?.stop();
  await gateway?.stop(); // last: it throws if aigw crashed during the tests
});

// POST /v1/chat/completions with exactly these headers (no default key).
function chat(body, headers = {}, base = gateway.httpUrl) {
  return fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

const bearer = (key) => ({ Authorization: `Bearer ${key}` });

// Asserts a 401 invalid_api_key that names no key, and no upstream call.
async function assertUnauthorized(response, presented) {
  const callsBefore = upstream.requests.length;
  const error = await assertOpenAIError(response, 401);
  assert.equal(error.code, 'invalid_api_key');
  if (presented) assert.ok(!error.message.includes(presented), `the 401 echoes the key: ${error.message}`);
  assert.equal(upstream.requests.length, callsBefore);
  return error;
}

// Every header value the upstream received, for "the key never got there".
function upstreamHeaderText(requests) {
  return requests.map((r) => Object.values(r.headers).join('\n')).join('\n');
}

const deadline = () => ({ deadline: new Date(Date.now() + 10_000) });

function metadataWith(entries) {
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(entries)) metadata.set(name, value);
  return metadata;
}

function grpcCreate(request, entries = {}) {
  return new Promise((resolve) => {
    clients.chat.Create(request, metadataWith(entries), deadline(), (error, response) => resolve({ error, response }));
  });
}

function grpcStream(request, entries = {}) {
  return new Promise((resolve) => {
    const chunks = [];
    const call = clients.chat.Stream(request, metadataWith(entries), deadline());
    call.on('data', (chunk) => chunks.push(chunk));
    call.on('error', (error) => resolve({ chunks, error }));
    call.on('end', () => resolve({ chunks, error: null }));
  });
}

function grpcListModels(entries = {}) {
  return new Promise((resolve) => {
    clients.chat.ListModels({}, metadataWith(entries), deadline(), (error, response) => resolve({ error, response }));
  });
}

const userMessage = (model, content) => ({ model, messages: [{ role: 'user', content }] });

describe('REST keys', () => {
  test('no key, an unknown key in each header, a non-Bearer Authorization and the sha256 text itself are 401 invalid_api_key; the upstream sees nothing', async () => {
    const body = chatRequest('m-a', 'tokens:2');
    const missing = await assertUnauthorized(await chat(body), null);
    assert.match(missing.message, /provide an API key/);
    for (const headers of [bearer('sk-wrong-key'), { 'api-key': 'sk-wrong-key' }, { 'x-api-key': 'sk-wrong-key' }]) {
      await assertUnauthorized(await chat(body, headers), 'sk-wrong-key');
    }
    // A key one character off, and the configured key with other credentials schemes.
    await assertUnauthorized(await chat(body, bearer(`${KEY_A}x`)), KEY_A);
    await assertUnauthorized(await chat(body, { Authorization: `Basic ${Buffer.from(`u:${KEY_A}`).toString('base64')}` }), null);
    await assertUnauthorized(await chat(body, { Authorization: KEY_A }), KEY_A);
    // The digest as configured is not a key: only what hashes to it is.
    const digestText = `sha256:${sha256(KEY_A_HASHED)}`;
    await assertUnauthorized(await chat(body, bearer(digestText)), digestText);
    await assertUnauthorized(await chat(body, bearer(sha256(KEY_A_HASHED))), null);
  });

  test('a valid key works in each header style (Bearer, api-key, x-api-key, a key configured by its SHA-256); the upstream only ever sees the provider key', async () => {
    upstream.clear();
    const styles = [
      ['Bearer', bearer(KEY_A)],
      ['bearer, lower case', { Authorization: `bearer ${KEY_A}` }],
      ['api-key', { 'api-key': KEY_A }],
      ['x-api-key', { 'x-api-key': KEY_A }],
      ['sha256-configured key', bearer(KEY_A_HASHED)],
      ['sha256-configured key in x-api-key', { 'x-api-key': KEY_A_HASHED }],
      ['second consumer', bearer(KEY_B)],
    ];
    for (const [style, headers] of styles) {
      const response = await chat(chatRequest('m-a', 'tokens:3'), headers);
      const text = await response.text();
      assert.equal(response.status, 200, `${style}: ${text}`);
      assert.equal(JSON.parse(text).choices[0].message.content, WORD.repeat(3), style);
    }
    const streamed = await chat(chatRequest('m-a', 'tokens:4', { stream: true }), { 'x-api-key': KEY_A });
    assert.equal(streamed.status, 200);
    const { done } = await readSse(streamed);
    assert.ok(done, 'the stream ended without [DONE]');

    const calls = upstream.chats();
    assert.equal(calls.length, styles.length + 1);
    for (const call of calls) {
      assert.equal(call.headers.authorization, `Bearer ${PROVIDER_KEY}`);
      assert.equal(call.headers['api-key'], undefined, 'api-key header reached the upstream');
      assert.equal(call.headers['x-api-key'], undefined, 'x-api-key header reached the upstream');
    }
    const seen = upstreamHeaderText(calls) + JSON.stringify(calls.map((c) => c.body));
    for (const key of [KEY_A, KEY_A_HASHED, KEY_B]) assert.ok(!seen.includes(key), `a consumer key reached the upstream`);
  });

  test('a model off the allow-list is 403 model_not_allowed before any upstream call (chat and embeddings); patterns and consumers without a list work', async () => {
    upstream.clear();
    for (const headers of [bearer(KEY_A), { 'api-key': KEY_A_HASHED }]) {
      const error = await assertOpenAIError(await chat(chatRequest('m-b', 'tokens:1'), headers), 403);
      assert.equal(error.code, 'model_not_allowed');
      assert.equal(error.param, 'model');
      assert.match(error.message, /m-b/);
      assert.ok(!error.message.includes(KEY_A) && !error.message.includes(KEY_A_HASHED), error.message);
    }
    const streamed = await chat(chatRequest('m-b', 'tokens:1', { stream: true }), bearer(KEY_A));
    assert.equal((await assertOpenAIError(streamed, 403)).code, 'model_not_allowed');
    assert.equal(upstream.requests.length, 0, 'a refused model reached the upstream');

    // "gpt-4*" admits the prefix; team-b has no list and may call anything.
    for (const [model, key] of [['gpt-4-turbo', KEY_A], ['gpt-4o', KEY_A], ['m-b', KEY_B], ['gpt-4o', KEY_B]]) {
      const response = await chat(chatRequest(model, 'tokens:1'), bearer(key));
      assert.equal(response.status, 200, `${model}: ${await response.text()}`);
    }
    // Embeddings too.
    const embed = (model, headers) => fetch(`${gateway.httpUrl}/v1/embeddings`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ model, input: 'hello' }) });
    const calls = upstream.requests.length;
    assert.equal((await assertOpenAIError(await embed('m-a', {}), 401)).code, 'invalid_api_key');
    assert.equal((await assertOpenAIError(await embed('m-b', bearer(KEY_A)), 403)).code, 'model_not_allowed');
    assert.equal(upstream.requests.length, calls);
    const embedded = await embed('m-a', { 'x-api-key': KEY_A });
    assert.equal(embedded.status, 200, await embedded.text());
    assert.equal(upstream.lastRequest().headers.authorization, `Bearer ${PROVIDER_KEY}`);

    // An unknown key with a disallowed model is still 401 (who first, then what).
    await assertUnauthorized(await chat(chatRequest('m-b', 'tokens:1'), bearer('sk-nobody')), 'sk-nobody');
  });
});

describe('model list', () => {
  test('GET /v1/models needs a key and lists only the consumer\'s models; GET /v1/models/{id} of a disallowed model is 404', async () => {
    const list = (headers) => fetch(`${gateway.httpUrl}/v1/models`, { headers });
    assert.equal((await assertOpenAIError(await list({}), 401)).code, 'invalid_api_key');
    assert.equal((await assertOpenAIError(await list(bearer('sk-nobody')), 401)).code, 'invalid_api_key');

    const ids = async (headers) => {
      const response = await list(headers);
      const text = await response.text();
      assert.equal(response.status, 200, text);
      return JSON.parse(text).data.map((m) => m.id).sort();
    };
    assert.deepEqual(await ids(bearer(KEY_A)), [...TEAM_A_MODELS].sort());
    assert.deepEqual(await ids({ 'x-api-key': KEY_A_HASHED }), [...TEAM_A_MODELS].sort());
    assert.deepEqual(await ids(bearer(KEY_B)), [...MODELS].sort());

    const one = (id, headers) => fetch(`${gateway.httpUrl}/v1/models/${id}`, { headers });
    assert.equal((await one('m-a', bearer(KEY_A))).status, 200);
    await assertOpenAIError(await one('m-b', bearer(KEY_A)), 404);
    assert.equal((await one('m-b', bearer(KEY_B))).status, 200);
    assert.equal((await assertOpenAIError(await one('m-a', {}), 401)).code, 'invalid_api_key');
  });

  test('gRPC ListModels needs a key and lists only the consumer\'s models', async () => {
    const none = await grpcListModels();
    assert.equal(none.error?.code, grpc.status.UNAUTHENTICATED, `got ${none.error?.code}: ${none.error?.details}`);
    const wrong = await grpcListModels({ authorization: 'Bearer sk-nobody' });
    assert.equal(wrong.error?.code, grpc.status.UNAUTHENTICATED);

    const a = await grpcListModels({ authorization: `Bearer ${KEY_A}` });
    assert.equal(a.error, null, a.error?.details);
    assert.deepEqual(a.response.data.map((m) => m.id).sort(), [...TEAM_A_MODELS].sort());
    const b = await grpcListModels({ 'x-api-key': KEY_B });
    assert.equal(b.error, null, b.error?.details);
    assert.deepEqual(b.response.data.map((m) => m.id).sort(), [...MODELS].sort());
  });
});

describe('gRPC keys', () => {
  test('Create and Stream: no key or a wrong key is UNAUTHENTICATED, a disallowed model PERMISSION_DENIED, with x-aigw-error-code; nothing reaches the upstream', async () => {
    upstream.clear();
    for (const entries of [{}, { authorization: 'Bearer sk-nobody' }, { authorization: KEY_A }, { 'x-api-key': 'sk-nobody' }]) {
      const { error } = await grpcCreate(userMessage('m-a', 'tokens:1'), entries);
      assert.equal(error?.code, grpc.status.UNAUTHENTICATED, `${JSON.stringify(entries)}: got ${error?.code} ${error?.details}`);
      assert.equal(error.metadata.get('x-aigw-error-code')[0], 'invalid_api_key');
      assert.ok(!error.details.includes(KEY_A));
      const streamed = await grpcStream(userMessage('m-a', 'tokens:1'), entries);
      assert.equal(streamed.error?.code, grpc.status.UNAUTHENTICATED);
      assert.equal(streamed.chunks.length, 0);
    }
    const denied = await grpcCreate(userMessage('m-b', 'tokens:1'), { authorization: `Bearer ${KEY_A}` });
    assert.equal(denied.error?.code, grpc.status.PERMISSION_DENIED, `got ${denied.error?.code} ${denied.error?.details}`);
    assert.equal(denied.error.metadata.get('x-aigw-error-code')[0], 'model_not_allowed');
    const deniedStream = await grpcStream(userMessage('m-b', 'tokens:1'), { authorization: `Bearer ${KEY_A}` });
    assert.equal(deniedStream.error?.code, grpc.status.PERMISSION_DENIED);
    assert.equal(upstream.requests.length, 0, 'a refused call reached the upstream');
  });

  test('Create and Stream with a valid key (authorization, x-api-key, api-key) answer; the upstream sees the provider key', async () => {
    upstream.clear();
    for (const entries of [{ authorization: `Bearer ${KEY_A}` }, { 'x-api-key': KEY_A_HASHED }, { 'api-key': KEY_B }]) {
      const { error, response } = await grpcCreate(userMessage('m-a', 'tokens:2'), entries);
      assert.equal(error, null, `${JSON.stringify(Object.keys(entries))}: ${error?.details}`);
      assert.equal(response.choices[0].message.content, WORD.repeat(2));
    }
    const streamed = await grpcStream(userMessage('gpt-4o', 'tokens:3'), { authorization: `Bearer ${KEY_A}` });
    assert.equal(streamed.error, null, streamed.error?.details);
    assert.equal(streamed.chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), WORD.repeat(3));

    const calls = upstream.chats();
    assert.equal(calls.length, 4);
    assert.ok(calls.every((c) => c.headers.authorization === `Bearer ${PROVIDER_KEY}`));
    const seen = upstreamHeaderText(calls);
    for (const key of [KEY_A, KEY_A_HASHED, KEY_B]) assert.ok(!seen.includes(key), 'a consumer key reached the upstream');
  });
});

describe('openai SDK', () => {
  const sdk = (apiKey) => new OpenAI({ baseURL: `${gateway.httpUrl}/v1`, apiKey, maxRetries: 0 });

  test('a valid key creates, streams and lists; a wrong key is AuthenticationError, a disallowed model PermissionDeniedError', async () => {
    const client = sdk(KEY_A);
    const completion = await client.chat.completions.create({ model: 'm-a', messages: [{ role: 'user', content: 'tokens:3' }] });
    assert.equal(completion.choices[0].message.content, WORD.repeat(3));
    const chunks = await collect(await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'tokens:5' }], stream: true }));
    assert.equal(textOf(chunks), WORD.repeat(5));
    const listed = [];
    for await (const model of client.models.list()) listed.push(model.id);
    assert.deepEqual(listed.sort(), [...TEAM_A_MODELS].sort());

    await assert.rejects(sdk('sk-nobody').chat.completions.create({ model: 'm-a', messages: [{ role: 'user', content: 'x' }] }), (err) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 401);
      assert.equal(err.code, 'invalid_api_key');
      return true;
    });
    await assert.rejects(sdk('sk-nobody').models.list(), OpenAI.AuthenticationError);
    await assert.rejects(client.chat.completions.create({ model: 'm-b', messages: [{ role: 'user', content: 'x' }], stream: true }), (err) => {
      assert.ok(err instanceof OpenAI.PermissionDeniedError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 403);
      assert.equal(err.code, 'model_not_allowed');
      return true;
    });
    await assert.rejects(client.models.retrieve('m-b'), OpenAI.NotFoundError);
  });
});

describe('browsers and the admin port', () => {
  test('an Origin not in cors.allow_origins is 403 origin_not_allowed even with a valid key, before auth and before any upstream call', async () => {
    upstream.clear();
    const evil = { Origin: 'https://evil.example' };
    for (const headers of [{ ...evil, ...bearer(KEY_A) }, evil, { ...evil, ...bearer('sk-nobody') }]) {
      const error = await assertOpenAIError(await chat(chatRequest('m-a', 'tokens:1'), headers), 403);
      assert.equal(error.code, 'origin_not_allowed');
    }
    const streamed = await chat(chatRequest('m-a', 'tokens:1', { stream: true }), { ...evil, ...bearer(KEY_A) });
    assert.equal((await assertOpenAIError(streamed, 403)).code, 'origin_not_allowed');
    const models = await fetch(`${gateway.httpUrl}/v1/models`, { headers: { ...evil, ...bearer(KEY_A) } });
    assert.equal((await assertOpenAIError(models, 403)).code, 'origin_not_allowed');
    assert.equal(upstream.requests.length, 0, 'a request from a foreign origin reached the upstream');

    // The allowed origin still needs a key, and works with one.
    const allowed = { Origin: ALLOWED_ORIGIN };
    assert.equal((await assertOpenAIError(await chat(chatRequest('m-a', 'tokens:1'), allowed), 401)).code, 'invalid_api_key');
    const ok = await chat(chatRequest('m-a', 'tokens:1'), { ...allowed, ...bearer(KEY_A) });
    assert.equal(ok.status, 200, await ok.text());
    assert.equal(ok.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
  });

  test('admin.token: POST /reload is 401 without or with a wrong token, 200 with it, and 403 with any Origin; a reload drops and adds keys at once', async () => {
    const reload = (headers = {}) => fetch(`${gateway.adminUrl}/reload`, { method: 'POST', headers });
    const reloadsLogged = () => (gateway.stderr().match(/config reloaded \(POST \/reload\)/g) ?? []).length;
    const before = reloadsLogged();
    for (const headers of [{}, bearer('wrong-token'), bearer(`${ADMIN_TOKEN}x`), { Authorization: ADMIN_TOKEN }, bearer(KEY_A)]) {
      const response = await reload(headers);
      const text = await response.text();
      assert.equal(response.status, 401, `${JSON.stringify(headers)}: ${text}`);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer');
      assert.ok(!text.includes(ADMIN_TOKEN), 'the 401 names the token');
    }
    for (const origin of ['https://evil.example', ALLOWED_ORIGIN, 'null']) {
      const response = await reload({ ...bearer(ADMIN_TOKEN), Origin: origin });
      assert.equal(response.status, 403, `Origin ${origin}: ${await response.text()}`);
    }
    assert.equal(reloadsLogged(), before, 'a refused POST /reload reloaded');
    const ok = await reload(bearer(ADMIN_TOKEN));
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { status: 'reloaded' });
    assert.equal(reloadsLogged(), before + 1);
    // Keys still work after the reload, unknown ones still do not.
    assert.equal((await chat(chatRequest('m-a', 'tokens:1'), bearer(KEY_A))).status, 200);
    await assertUnauthorized(await chat(chatRequest('m-a', 'tokens:1'), bearer('sk-nobody')), 'sk-nobody');

    // A reload that drops team-b and gives team-a a second key: both take effect at once.
    const rotated = config(upstream);
    rotated.consumers = [{ ...rotated.consumers[0], api_keys: [...rotated.consumers[0].api_keys, 'sk-team-a-rotated-0001'] }];
    const file = gateway.child.spawnargs.find((arg) => arg.startsWith('--config=')).slice('--config='.length);
    fs.writeFileSync(`${file}.tmp`, YAML.stringify({ retries: { max_attempts: 1 }, ...rotated }, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'QUOTE_DOUBLE' }));
    fs.renameSync(`${file}.tmp`, file);
    const again = await reload(bearer(ADMIN_TOKEN));
    assert.equal(again.status, 200, await again.text());
    await assertUnauthorized(await chat(chatRequest('m-a', 'tokens:1'), bearer(KEY_B)), KEY_B);
    const grpcDropped = await grpcCreate(userMessage('m-a', 'tokens:1'), { authorization: `Bearer ${KEY_B}` });
    assert.equal(grpcDropped.error?.code, grpc.status.UNAUTHENTICATED);
    for (const key of [KEY_A, KEY_A_HASHED, 'sk-team-a-rotated-0001']) {
      const response = await chat(chatRequest('m-a', 'tokens:1'), bearer(key));
      assert.equal(response.status, 200, await response.text());
    }
  });

  test('a gateway with consumers does not call itself open', () => {
    assert.doesNotMatch(gateway.stderr(), /no consumers configured/);
  });
});

describe('open gateway', () => {
  test('without consumers anyone may call, with or without a key, and the log says the gateway is open', async () => {
    const open = await startGateway({ listen: { ...LISTEN_ANY }, providers: [meteredProvider(upstream, { keys: [PROVIDER_KEY], models: MODELS })] });
    try {
      // Printed right after the listening line startGateway waits for.
      await within(2000, (async () => {
        while (!/no consumers configured/.test(open.stderr())) await sleep(10);
      })(), 'the open-gateway warning');
      assert.match(open.stderr(), /no consumers configured: anyone who reaches the port may call/);
      for (const headers of [{}, bearer('anything-at-all'), { 'x-api-key': 'whatever' }]) {
        const response = await chat(chatRequest('m-b', 'tokens:2'), headers, open.httpUrl);
        assert.equal(response.status, 200, `${JSON.stringify(headers)}: ${await response.text()}`);
      }
      const models = await fetch(`${open.httpUrl}/v1/models`);
      assert.equal(models.status, 200);
      assert.deepEqual((await models.json()).data.map((m) => m.id).sort(), [...MODELS].sort());
      // Without admin.token, POST /reload needs no token (still no browsers).
      assert.equal((await fetch(`${open.adminUrl}/reload`, { method: 'POST' })).status, 200);
      assert.equal((await fetch(`${open.adminUrl}/reload`, { method: 'POST', headers: { Origin: 'https://evil.example' } })).status, 403);
      assert.equal(upstream.lastRequest().headers.authorization, `Bearer ${PROVIDER_KEY}`);
    } finally {
      await open.stop();
    }
  });
});
