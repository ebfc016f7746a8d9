// Consumer limits end to end: reserve-then-settle token budgets under
// concurrent streams, requests per minute, requests in flight, per-model
// budgets, streams cut when their budget runs out (`on_budget_exhausted:
// cut`, SSE and gRPC) or let finish, 429 with Retry-After and OpenAI's
// x-ratelimit-* headers (gRPC: RESOURCE_EXHAUSTED with them in trailing
// metadata), spent budgets kept across a reload, and a real Redis shared
// by two gateways: one budget for both, Redis down (allow: served
// unlimited, deny: 503), Redis back (limits again).
//
// Nothing here waits for a window to pass: every check is on what the
// gateway admits, refuses and reports in its headers. The upstream is
// fake_metered.mjs: "tokens:N" in the prompt answers N words and reports
// usage total_tokens = N + PROMPT_TOKENS; the gateway reserves
// estimate(prompt) + max_tokens (or limits.default_max_tokens) x n.
//
// Key cool-downs across a reload are not repeated here: upstream_safety
// ("a 429 cools the key down ... both survive a reload that keeps the
// provider") and routing ("an unchanged reload keeps key back-offs") test them.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { after, describe, test } from 'node:test';
import grpc from '@grpc/grpc-js';
import OpenAI from 'openai';
import YAML from 'yaml';
import { LISTEN_ANY, sleep } from './fake_common.mjs';
import { PROMPT_TOKENS, WORD, meteredProvider, startMeteredUpstream, usageFor } from './fake_metered.mjs';
import { assertOpenAIError, chatRequest, closedPort, grpcClients, readSse, startGateway, within } from './harness.mjs';

const REDIS_SERVER = '/usr/bin/redis-server';
const REDIS_CLI = '/usr/bin/redis-cli';

// The gateway's prompt estimate of one user message (estimator.cc): one
// token per 4 ASCII bytes (rounded up), one per other code point, 4 per
// message, 3 per request.
function estimate(content) {
  let ascii = 0;
  let other = 0;
  for (const ch of content) {
    if (ch.codePointAt(0) < 0x80) ascii++;
    else other++;
  }
  return Math.ceil(ascii / 4) + other + 4 + 3;
}

const keyOf = (name) => `sk-consumer-${name}`;
const auth = (name) => ({ Authorization: `Bearer ${keyOf(name)}` });

// One consumer per entry of `consumers` ({name: {limits, on_budget_exhausted, models}}).
function limitsConfig(upstream, consumers, limits = {}) {
  return {
    listen: { ...LISTEN_ANY },
    providers: [meteredProvider(upstream)],
    consumers: Object.entries(consumers).map(([name, spec]) => ({ name, api_keys: [keyOf(name)], ...spec })),
    limits,
  };
}

let sharedUpstream;
async function upstreamOnce() {
  sharedUpstream ??= await startMeteredUpstream();
  return sharedUpstream;
}

const gateways = [];
async function gatewayWith(config) {
  const gateway = await startGateway(config);
  gateways.push(gateway);
  return gateway;
}

let redis = null;
// Even if this process dies before after() runs: no redis-server left behind.
process.on('exit', () => redis?.child?.kill('SIGKILL'));
after(async () => {
  if (redis) await redis.stop();
  await sharedUpstream?.stop();
  // Last: stop() throws if an aigw crashed during the tests.
  for (const gateway of gateways) await gateway.stop();
});

function chat(gateway, body, headers = {}, signal) {
  return fetch(`${gateway.httpUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal,
  });
}

// The x-ratelimit-* headers as numbers (reset as text), undefined if absent.
function rateHeaders(headers) {
  const get = (name) => headers.get(name) ?? undefined;
  const num = (name) => (get(name) === undefined ? undefined : Number(get(name)));
  return {
    limitTokens: num('x-ratelimit-limit-tokens'),
    remainingTokens: num('x-ratelimit-remaining-tokens'),
    resetTokens: get('x-ratelimit-reset-tokens'),
    limitRequests: num('x-ratelimit-limit-requests'),
    remainingRequests: num('x-ratelimit-remaining-requests'),
    resetRequests: get('x-ratelimit-reset-requests'),
  };
}

// OpenAI's reset format: "20ms", "1.5s", "6m0s".
const RESET = /^(\d+ms|\d+(\.\d+)?s|(\d+h)?\d+m\d+s)$/;

// Asserts a 429 rate_limit_exceeded of `type`; returns {error, headers, retryAfter}.
async function assertLimited(response, type, { retryAfter = true } = {}) {
  const error = await assertOpenAIError(response, 429);
  assert.equal(error.code, 'rate_limit_exceeded');
  assert.equal(error.type, type, error.message);
  const header = response.headers.get('retry-after');
  if (retryAfter) {
    assert.match(header ?? '', /^\d+$/, `Retry-After: ${header}`);
    assert.ok(Number(header) >= 1, `Retry-After ${header}`);
  } else {
    assert.equal(header, null, `a request that can never fit got Retry-After ${header}`);
  }
  return { error, headers: rateHeaders(response.headers), retryAfter: Number(header) };
}

async function okJson(response) {
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text);
}

async function metrics(gateway) {
  return (await fetch(`${gateway.adminUrl}/metrics`)).text();
}

function metricValue(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('token budgets', () => {
  test('20 concurrent streams against tokens_per_minute: the admitted ones stay within the limit, the rest get 429 with Retry-After and x-ratelimit-*; the window then counts exactly the real usage', async () => {
    const LIMIT = 1000;
    const MAX_TOKENS = 100;
    const upstream = await upstreamOnce();
    const gateway = await gatewayWith(limitsConfig(upstream, { burst: { limits: { tokens_per_minute: LIMIT } } }));
    upstream.clear();

    // Half answer fewer tokens than max_tokens, half exactly max_tokens:
    // 1740 tokens in all, so some must be refused.
    const asks = Array.from({ length: 20 }, (_, i) => (i % 2 ? MAX_TOKENS : 60));
    // Started 30 ms apart, each streaming for a few hundred ms: early ones settle
    // while later ones reserve.
    const results = await Promise.all(asks.map(async (tokens, i) => {
      await sleep(i * 30);
      const content = `tokens:${tokens} delay:1`;
      const response = await chat(gateway, chatRequest('m', content, { stream: true, max_tokens: MAX_TOKENS }), auth('burst'));
      if (response.status !== 200) return { tokens, content, response, refused: await assertLimited(response, 'tokens') };
      const headers = rateHeaders(response.headers);
      const { chunks, done } = await readSse(response);
      return { tokens, content, headers, chunks, done };
    }));

    const admitted = results.filter((r) => !r.refused);
    const refused = results.filter((r) => r.refused);
    assert.ok(refused.length >= 1, 'nothing was refused');
    assert.ok(admitted.length >= 1, 'nothing was admitted');
    let used = 0;
    let estimateError = 0;
    for (const result of admitted) {
      assert.ok(result.done, 'an admitted stream ended without [DONE]');
      const text = result.chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join('');
      assert.equal(text, WORD.repeat(result.tokens));
      assert.ok(!result.chunks.some((c) => c.error), 'an admitted stream got an error event');
      assert.equal(result.headers.limitTokens, LIMIT);
      assert.ok(result.headers.remainingTokens >= 0 && result.headers.remainingTokens <= LIMIT - estimate(result.content) - MAX_TOKENS);
      assert.match(result.headers.resetTokens, RESET);
      const real = usageFor(result.tokens).total_tokens;
      used += real;
      estimateError = Math.max(estimateError, real - (estimate(result.content) + MAX_TOKENS));
    }
    assert.ok(used <= LIMIT + estimateError, `admitted streams used ${used} tokens, limit ${LIMIT}`);
    for (const { refused: r, content } of refused) {
      assert.equal(r.headers.limitTokens, LIMIT);
      assert.ok(r.headers.remainingTokens < estimate(content) + MAX_TOKENS, `refused with ${r.headers.remainingTokens} remaining`);
      assert.match(r.headers.resetTokens, RESET);
      assert.ok(r.retryAfter <= 60, `Retry-After ${r.retryAfter}`);
      assert.match(r.error.message, /tokens per min/);
    }
    assert.equal(upstream.chats().length, admitted.length, 'a refused request reached the upstream');
    assert.ok(upstream.chats().every((c) => c.body.stream_options?.include_usage === true), 'the gateway did not ask the upstream for usage');

    // Every reservation is settled to its real usage: exactly what is left.
    // The next request asks one token more than that.
    const remaining = LIMIT - used;
    const content = 'tokens:1';
    const next = await chat(gateway, chatRequest('m', content, { max_tokens: Math.max(1, remaining + 1 - estimate(content)) }), auth('burst'));
    const { headers } = await assertLimited(next, 'tokens');
    assert.equal(headers.remainingTokens, remaining, 'the window does not hold exactly the real usage of the admitted streams');
    assert.equal(headers.limitTokens, LIMIT);
    assert.match(headers.resetTokens, RESET);
  });

  test('settle frees what a request reserved but did not use; the reservation is estimate + max_completion_tokens | max_tokens | default_max_tokens, times n; a request larger than the limit gets 429 without Retry-After', async () => {
    const LIMIT = 1000;
    const upstream = await upstreamOnce();
    const config = limitsConfig(upstream, { saver: { limits: { tokens_per_minute: LIMIT } } }, { default_max_tokens: 300 });
    config.providers.unshift({ name: 'dead', type: 'openai', base_url: `http://127.0.0.1:${await closedPort()}/v1`, api_keys: ['sk-dead'], timeouts: { connect: '1s' }, models: ['dead'] });
    const gateway = await gatewayWith(config);
    upstream.clear();

    // A stream reserving 909 that uses 12: the client did not ask for usage
    // and gets none, the gateway asked the upstream for it and settles to it.
    const first = await chat(gateway, chatRequest('m', 'tokens:5', { stream: true, max_tokens: 900 }), auth('saver'));
    assert.equal(first.status, 200);
    assert.equal(rateHeaders(first.headers).remainingTokens, LIMIT - estimate('tokens:5') - 900);
    const { chunks, done } = await readSse(first);
    assert.ok(done);
    assert.ok(chunks.every((c) => !c.usage), 'usage reached a client that did not ask for it');
    assert.equal(upstream.lastRequest().body.stream_options?.include_usage, true);
    let used = usageFor(5).total_tokens;

    // 909 again: fits only because the first one gave back what it did not use.
    const second = await chat(gateway, chatRequest('m', 'tokens:5', { max_tokens: 900 }), auth('saver'));
    await okJson(second);
    assert.equal(rateHeaders(second.headers).remainingTokens, LIMIT - used - estimate('tokens:5') - 900);
    used += usageFor(5).total_tokens;

    const reservations = [
      [{ max_completion_tokens: 50, max_tokens: 400 }, 50],
      [{ max_tokens: 40, n: 3 }, 120],
      [{}, 300], // limits.default_max_tokens
      [{ n: 2, max_completion_tokens: 100 }, 200],
    ];
    for (const [extra, output] of reservations) {
      const response = await chat(gateway, chatRequest('m', 'tokens:2', extra), auth('saver'));
      const headers = rateHeaders(response.headers);
      await okJson(response);
      assert.equal(headers.remainingTokens, LIMIT - used - estimate('tokens:2') - output, JSON.stringify(extra));
      used += usageFor(2).total_tokens;
    }

    // Non-ASCII text: one token per code point (here 3 CJK characters and an emoji).
    const wide = 'tokens:2 日本語 🙂';
    const wideResponse = await chat(gateway, chatRequest('m', wide, { max_tokens: 10 }), auth('saver'));
    assert.equal(estimate(wide), Math.ceil('tokens:2  '.length / 4) + 4 + 7);
    assert.equal(rateHeaders(wideResponse.headers).remainingTokens, LIMIT - used - estimate(wide) - 10);
    await okJson(wideResponse);
    used += usageFor(2).total_tokens;

    // Embeddings reserve their input's estimate (no framing) and settle to the upstream's usage.
    const input = 'embed these words please';
    const embedded = await fetch(`${gateway.httpUrl}/v1/embeddings`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...auth('saver') }, body: JSON.stringify({ model: 'm', input }) });
    assert.equal(rateHeaders(embedded.headers).remainingTokens, LIMIT - used - Math.ceil(input.length / 4));
    await okJson(embedded);
    used += PROMPT_TOKENS;

    // A call that fails before any answer costs nothing.
    for (const stream of [false, true]) {
      const failed = await chat(gateway, chatRequest('dead', 'tokens:1', { max_tokens: 500, stream }), auth('saver'));
      assert.equal(rateHeaders(failed.headers).remainingTokens, LIMIT - used - estimate('tokens:1') - 500);
      await assertOpenAIError(failed, 502);
    }

    // Never fits: no Retry-After, and no upstream call.
    const calls = upstream.chats().length;
    const tooLarge = await chat(gateway, chatRequest('m', 'tokens:1', { max_tokens: LIMIT }), auth('saver'));
    const { error, headers } = await assertLimited(tooLarge, 'tokens', { retryAfter: false });
    assert.match(error.message, /too large/i);
    assert.equal(headers.remainingTokens, LIMIT - used);
    assert.equal(upstream.chats().length, calls);
  });

  test('a stream the client abandons pays for what streamed, not for its whole reservation', async () => {
    const LIMIT = 1000;
    const upstream = await upstreamOnce();
    const gateway = await gatewayWith(limitsConfig(upstream, { leaver: { limits: { tokens_per_minute: LIMIT } } }));
    const content = 'tokens:200 delay:20';
    const reserved = estimate(content) + 800;
    const abort = new AbortController();
    const response = await chat(gateway, chatRequest('m', content, { stream: true, max_tokens: 800 }), auth('leaver'), abort.signal);
    assert.equal(rateHeaders(response.headers).remainingTokens, LIMIT - reserved);
    let words = 0;
    try {
      for await (const bytes of response.body) {
        words += (Buffer.from(bytes).toString('utf8').match(/tok /g) ?? []).length;
        if (words >= 5) break;
      }
    } finally {
      abort.abort();
    }
    // Probe with requests that reserve nothing they do not use until the settle shows.
    const probe = async () => {
      const r = await chat(gateway, chatRequest('m', 'tokens:1', { max_tokens: 1 }), auth('leaver'));
      await okJson(r);
      return rateHeaders(r.headers).remainingTokens;
    };
    let probes = 0;
    let remaining;
    const deadline = performance.now() + 3000;
    do {
      remaining = await probe();
      probes++;
      if (remaining > LIMIT - reserved) break;
      await sleep(50);
    } while (performance.now() < deadline);
    const probeCost = usageFor(1).total_tokens;
    const probeReserve = estimate('tokens:1') + 1;
    // What is spent: the probes before this one, this one's reservation, the stream's prompt and words.
    const spentByStream = LIMIT - remaining - (probes - 1) * probeCost - probeReserve;
    assert.ok(spentByStream < reserved, `the abandoned stream kept its whole reservation (${spentByStream} of ${reserved})`);
    assert.ok(spentByStream >= estimate(content) + words, `the abandoned stream paid ${spentByStream}, less than the ${words} words the client got`);
    assert.ok(spentByStream <= estimate(content) + 200, `the abandoned stream paid ${spentByStream}`);
  });

  test('a per-model budget is separate from the consumer\'s: a pattern shares one budget, its spend counts in the consumer\'s too', async () => {
    const upstream = await upstreamOnce();
    const gateway = await gatewayWith(limitsConfig(upstream, {
      modeled: { limits: { tokens_per_minute: 10000, models: { 'small-*': { tokens_per_minute: 300 } } } },
    }));
    const content = 'tokens:150';
    const first = await chat(gateway, chatRequest('small-1', content, { max_tokens: 200 }), auth('modeled'));
    const firstHeaders = rateHeaders(first.headers);
    await okJson(first);
    // The tightest token window is the model's.
    assert.equal(firstHeaders.limitTokens, 300);
    assert.equal(firstHeaders.remainingTokens, 300 - estimate(content) - 200);
    const spent = usageFor(150).total_tokens;

    // Another model of the same pattern: 143 left, 210 asked.
    const second = await chat(gateway, chatRequest('small-2', content, { max_tokens: 200 }), auth('modeled'));
    const { headers, error } = await assertLimited(second, 'tokens');
    assert.equal(headers.limitTokens, 300);
    assert.equal(headers.remainingTokens, 300 - spent);
    assert.match(error.message, /tokens per min/);

    // A model without its own budget draws on the consumer's alone, which the small model's spend reduced.
    const big = await chat(gateway, chatRequest('large', content, { max_tokens: 200 }), auth('modeled'));
    const bigHeaders = rateHeaders(big.headers);
    await okJson(big);
    assert.equal(bigHeaders.limitTokens, 10000);
    assert.equal(bigHeaders.remainingTokens, 10000 - spent - estimate(content) - 200);
    // No max_tokens and no limits.default_max_tokens: 4096 are reserved.
    const unbounded = await chat(gateway, chatRequest('large', 'tokens:1'), auth('modeled'));
    const unboundedHeaders = rateHeaders(unbounded.headers);
    await okJson(unbounded);
    assert.equal(unboundedHeaders.remainingTokens, 10000 - 2 * spent - estimate('tokens:1') - 4096);
    // The small budget still has room for a small request.
    const small = await chat(gateway, chatRequest('small-3', 'tokens:1', { max_tokens: 10 }), auth('modeled'));
    await okJson(small);
    assert.equal(rateHeaders(small.headers).remainingTokens, 300 - spent - estimate('tokens:1') - 10);
  });

  test('tokens_per_day: the tightest token window shows in the headers; over it, 429 names the daily limit and Retry-After is hours away', async () => {
    const upstream = await upstreamOnce();
    const gateway = await gatewayWith(limitsConfig(upstream, { daily: { limits: { tokens_per_minute: 5000, tokens_per_day: 300 } } }));
    const first = await chat(gateway, chatRequest('m', 'tokens:200', { max_tokens: 200 }), auth('daily'));
    const headers = rateHeaders(first.headers);
    await okJson(first);
    assert.equal(headers.limitTokens, 300);
    assert.equal(headers.remainingTokens, 300 - estimate('tokens:200') - 200);
    const { error, retryAfter, headers: refused } = await assertLimited(await chat(gateway, chatRequest('m', 'tokens:1', { max_tokens: 100 }), auth('daily')), 'tokens');
    assert.match(error.message, /tokens per day/);
    assert.equal(refused.remainingTokens, 300 - usageFor(200).total_tokens);
    assert.ok(retryAfter > 3600 && retryAfter <= 86400, `Retry-After ${retryAfter}`);
  });
});

describe('request limits', () => {
  test('requests_per_minute: the 4th request is 429 type requests with Retry-After (the SDK gets RateLimitError); limits.default applies to consumers without their own, each on its own budget; aigw_rate_limited_total counts', async () => {
    const upstream = await upstreamOnce();
    const gateway = await gatewayWith(limitsConfig(upstream, {
      rpm: { limits: { requests_per_minute: 3 } },
      plain1: {},
      plain2: {},
    }, { default: { requests_per_minute: 2 } }));
    upstream.clear();
    for (const expected of [2, 1, 0]) {
      const response = await chat(gateway, chatRequest('m', 'tokens:1'), auth('rpm'));
      const headers = rateHeaders(response.headers);
      await okJson(response);
      assert.equal(headers.limitRequests, 3);
      assert.equal(headers.remainingRequests, expected);
      assert.match(headers.resetRequests, RESET);
      assert.equal(headers.limitTokens, undefined, 'token headers without a token limit');
    }
    const { headers, error } = await assertLimited(await chat(gateway, chatRequest('m', 'tokens:1', { stream: true }), auth('rpm')), 'requests');
    assert.equal(headers.limitRequests, 3);
    assert.equal(headers.remainingRequests, 0);
    assert.match(error.message, /requests per min/);
    assert.equal(upstream.chats().length, 3);
    // The SDK's view: RateLimitError with the headers.
    const sdk = new OpenAI({ baseURL: `${gateway.httpUrl}/v1`, apiKey: keyOf('rpm'), maxRetries: 0 });
    await assert.rejects(sdk.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'tokens:1' }] }), (err) => {
      assert.ok(err instanceof OpenAI.RateLimitError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.code, 'rate_limit_exceeded');
      assert.match(err.headers.get('retry-after') ?? '', /^\d+$/);
      assert.equal(err.headers.get('x-ratelimit-remaining-requests'), '0');
      return true;
    });

    for (const name of ['plain1', 'plain2']) {
      for (const expected of [1, 0]) {
        const response = await chat(gateway, chatRequest('m', 'tokens:1'), auth(name));
        assert.equal(response.status, 200, name);
        assert.equal(rateHeaders(response.headers).remainingRequests, expected, name);
      }
      const refused = await assertLimited(await chat(gateway, chatRequest('m', 'tokens:1'), auth(name)), 'requests');
      assert.equal(refused.headers.limitRequests, 2);
    }
    const text = await metrics(gateway);
    assert.equal(metricValue(text, 'aigw_rate_limited_total{consumer="rpm",type="requests"}'), 2, text);

    // An open gateway: limits.default is one budget for every caller.
    const open = await gatewayWith({ listen: { ...LISTEN_ANY }, providers: [meteredProvider(upstream)], limits: { default: { requests_per_minute: 2 } } });
    await okJson(await chat(open, chatRequest('m', 'tokens:1'), { Authorization: 'Bearer one' }));
    await okJson(await chat(open, chatRequest('m', 'tokens:1')));
    await assertLimited(await chat(open, chatRequest('m', 'tokens:1'), { Authorization: 'Bearer another' }), 'requests');
    assert.equal(metricValue(await metrics(open), 'aigw_rate_limited_total{consumer="anonymous",type="requests"}'), 1);
    assert.equal(metricValue(text, 'aigw_rate_limited_total{consumer="plain1",type="requests"}'), 1);
  });

  test('max_concurrent: slow streams hold the slots, the next request gets 429 type requests; a finished or abandoned stream frees its slot', async () => {
    const upstream = await upstreamOnce();
    const gateway = await gatewayWith(limitsConfig(upstream, { narrow: { limits: { max_concurrent: 2 } } }));
    upstream.clear();
    const slow = (signal) => chat(gateway, chatRequest('m', 'tokens:25 delay:20', { stream: true }), auth('narrow'), signal);
    const first = await slow();
    const abandon = new AbortController();
    const second = await slow(abandon.signal);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);

    for (const body of [chatRequest('m', 'tokens:1', { stream: true }), chatRequest('m', 'tokens:1')]) {
      const { error, retryAfter } = await assertLimited(await chat(gateway, body, auth('narrow')), 'requests');
      assert.match(error.message, /in flight/);
      assert.ok(retryAfter >= 1);
    }
    assert.equal(upstream.chats().length, 2);

    // The first one ends: its slot is free for the next request.
    const { done } = await readSse(first);
    assert.ok(done);
    const third = await chat(gateway, chatRequest('m', 'tokens:1'), auth('narrow'));
    await okJson(third);

    // The second one's client hangs up: the gateway lets its slot go.
    abandon.abort();
    const deadline = performance.now() + 2000;
    let admitted = [];
    for (;;) {
      const [a, b] = await Promise.all([0, 1].map(() => chat(gateway, chatRequest('m', 'tokens:30 delay:10', { stream: true }), auth('narrow'))));
      admitted = [a, b].filter((r) => r.status === 200);
      for (const r of [a, b]) if (r.status !== 200) await assertLimited(r, 'requests');
      if (admitted.length === 2 || performance.now() > deadline) break;
      await Promise.all(admitted.map((r) => readSse(r)));
      await sleep(50);
    }
    assert.equal(admitted.length, 2, 'the abandoned stream still holds its slot');
    await Promise.all(admitted.map((r) => readSse(r)));
    assert.ok(upstream.maxInFlight <= 2, `${upstream.maxInFlight} requests of a max_concurrent 2 consumer in flight upstream`);
  });
});

describe('running out mid-stream', () => {
  const CONSUMERS = {
    cutter: { limits: { tokens_per_minute: 600 }, on_budget_exhausted: 'cut' },
    'cutter-grpc': { limits: { tokens_per_minute: 600 }, on_budget_exhausted: 'cut' },
    finisher: { limits: { tokens_per_minute: 600 }, on_budget_exhausted: 'finish' },
  };
  // 1000 words, 1 ms apart: a cut comes well before the upstream is done.
  const LONG = 'tokens:1000 delay:1';
  let gateway;
  let upstream;
  let starting;
  const ready = () => (starting ??= (async () => {
    upstream = await upstreamOnce();
    gateway = await gatewayWith(limitsConfig(upstream, CONSUMERS, { default_max_tokens: 50 }));
  })());

  test('cut: a stream without max_tokens that outgrows the budget ends with a rate_limit_exceeded error event, no [DONE]; the upstream call is closed', async () => {
    await ready();
    const response = await chat(gateway, chatRequest('m', LONG, { stream: true }), auth('cutter'));
    assert.equal(response.status, 200);
    assert.equal(rateHeaders(response.headers).remainingTokens, 600 - estimate(LONG) - 50);
    const { chunks, done } = await readSse(response);
    assert.ok(!done, 'a cut stream ended with [DONE]');
    const last = chunks.at(-1);
    assert.ok(last?.error, `the stream did not end with an error event: ${JSON.stringify(last)}`);
    assert.equal(last.error.code, 'rate_limit_exceeded');
    assert.equal(last.error.type, 'tokens');
    const words = chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join('').length / WORD.length;
    // Grown past the first 50 tokens, never past the budget.
    assert.ok(words > 50 && words <= 600 - estimate(LONG), `${words} words before the cut`);
    await within(2000, (async () => {
      while (upstream.inFlight > 0) await sleep(10);
    })(), 'closing the cut upstream call');
    const call = upstream.lastRequest();
    assert.equal(call.outcome, 'closed by the gateway', `the upstream wrote ${call.wordsWritten} words`);

    // What it streamed stays spent: a request for what is left over is refused.
    const spent = estimate(LONG) + words;
    const more = await chat(gateway, chatRequest('m', 'tokens:1', { max_tokens: 600 - spent - estimate('tokens:1') + 1 }), auth('cutter'));
    const { headers } = await assertLimited(more, 'tokens');
    assert.ok(headers.remainingTokens <= 600 - spent, `${headers.remainingTokens} left after streaming ${words} words`);
  });

  test('cut over gRPC: the Stream ends with RESOURCE_EXHAUSTED and x-aigw-error-code rate_limit_exceeded', async () => {
    await ready();
    const clients = grpcClients(gateway.grpcAddr);
    try {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${keyOf('cutter-grpc')}`);
      const { chunks, error } = await new Promise((resolve) => {
        const got = [];
        const call = clients.chat.Stream({ model: 'm', messages: [{ role: 'user', content: LONG }] }, metadata, { deadline: new Date(Date.now() + 10_000) });
        call.on('data', (chunk) => got.push(chunk));
        call.on('error', (err) => resolve({ chunks: got, error: err }));
        call.on('end', () => resolve({ chunks: got, error: null }));
      });
      assert.equal(error?.code, grpc.status.RESOURCE_EXHAUSTED, `got ${error?.code}: ${error?.details}`);
      assert.equal(error.metadata.get('x-aigw-error-code')[0], 'rate_limit_exceeded');
      const words = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('').length / WORD.length;
      assert.ok(words > 50 && words < 600, `${words} words before the cut`);
    } finally {
      clients.close();
    }
  });

  test('finish: the same stream completes; the consumer is refused afterwards', async () => {
    await ready();
    const response = await chat(gateway, chatRequest('m', LONG, { stream: true }), auth('finisher'));
    assert.equal(response.status, 200);
    const { chunks, done } = await readSse(response);
    assert.ok(done, 'a finish stream did not end with [DONE]');
    assert.ok(!chunks.some((c) => c.error), 'a finish stream got an error event');
    assert.equal(chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join(''), WORD.repeat(1000));
    assert.equal(upstream.lastRequest().outcome, 'complete');
    const { headers } = await assertLimited(await chat(gateway, chatRequest('m', 'tokens:1', { max_tokens: 10 }), auth('finisher')), 'tokens');
    assert.equal(headers.remainingTokens, 0);
  });
});

describe('gRPC', () => {
  test('over a limit: RESOURCE_EXHAUSTED with x-ratelimit-*, retry-after and x-aigw-error-code in the trailing metadata; the admitted call carries x-ratelimit-* too', async () => {
    const upstream = await upstreamOnce();
    const gateway = await gatewayWith(limitsConfig(upstream, { 'grpc-rpm': { limits: { requests_per_minute: 1, tokens_per_minute: 10000 } } }));
    const clients = grpcClients(gateway.grpcAddr);
    const metadata = () => {
      const m = new grpc.Metadata();
      m.set('authorization', `Bearer ${keyOf('grpc-rpm')}`);
      return m;
    };
    const request = { model: 'm', messages: [{ role: 'user', content: 'tokens:2' }], max_tokens: 10 };
    const create = () => new Promise((resolve) => {
      let initial = null;
      const call = clients.chat.Create(request, metadata(), { deadline: new Date(Date.now() + 10_000) }, (error, response) => resolve({ error, response, initial }));
      call.on('metadata', (m) => (initial = m));
    });
    try {
      const ok = await create();
      assert.equal(ok.error, null, ok.error?.details);
      assert.equal(ok.response.choices[0].message.content, WORD.repeat(2));
      assert.equal(ok.initial.get('x-ratelimit-limit-requests')[0], '1');
      assert.equal(ok.initial.get('x-ratelimit-remaining-requests')[0], '0');
      assert.equal(ok.initial.get('x-ratelimit-remaining-tokens')[0], String(10000 - estimate('tokens:2') - 10));

      const checkRefusal = (error) => {
        assert.equal(error?.code, grpc.status.RESOURCE_EXHAUSTED, `got ${error?.code}: ${error?.details}`);
        const trailer = (name) => error.metadata.get(name)[0];
        assert.equal(trailer('x-aigw-error-code'), 'rate_limit_exceeded');
        assert.match(trailer('retry-after') ?? '', /^\d+$/);
        assert.ok(Number(trailer('retry-after')) >= 1);
        assert.equal(trailer('x-ratelimit-limit-requests'), '1');
        assert.equal(trailer('x-ratelimit-remaining-requests'), '0');
        assert.match(trailer('x-ratelimit-reset-requests') ?? '', RESET);
        assert.equal(trailer('x-ratelimit-limit-tokens'), '10000');
        assert.equal(trailer('x-ratelimit-remaining-tokens'), String(10000 - usageFor(2).total_tokens));
        assert.match(trailer('x-ratelimit-reset-tokens') ?? '', RESET);
        assert.match(error.details, /requests per min/);
      };
      checkRefusal((await create()).error);
      const streamed = await new Promise((resolve) => {
        const call = clients.chat.Stream({ ...request, stream: true }, metadata(), { deadline: new Date(Date.now() + 10_000) });
        let chunks = 0;
        call.on('data', () => chunks++);
        call.on('error', (error) => resolve({ error, chunks }));
        call.on('end', () => resolve({ error: null, chunks }));
      });
      assert.equal(streamed.chunks, 0);
      checkRefusal(streamed.error);
    } finally {
      clients.close();
    }
  });
});

describe('reload', () => {
  // Rewrites the gateway's config file and reloads it with POST /reload.
  async function reload(gateway, config) {
    const file = gateway.child.spawnargs.find((arg) => arg.startsWith('--config=')).slice('--config='.length);
    fs.writeFileSync(`${file}.tmp`, YAML.stringify({ retries: { max_attempts: 1 }, ...config }, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'QUOTE_DOUBLE' }));
    fs.renameSync(`${file}.tmp`, file);
    const response = await fetch(`${gateway.adminUrl}/reload`, { method: 'POST' });
    assert.equal(response.status, 200, await response.text());
  }

  test('a reload keeps what consumers spent (tokens, requests, streams in flight), also when the limit itself changes', async () => {
    const upstream = await upstreamOnce();
    const consumers = (tpm, extra = {}) => ({ keeper: { limits: { tokens_per_minute: tpm, requests_per_minute: 10, max_concurrent: 1 } }, ...extra });
    const gateway = await gatewayWith(limitsConfig(upstream, consumers(1000)));
    const spend = await chat(gateway, chatRequest('m', 'tokens:793', { max_tokens: 800 }), auth('keeper'));
    await okJson(spend);
    let used = usageFor(793).total_tokens; // 800
    // A slow stream holds the one slot across the reloads.
    const held = await chat(gateway, chatRequest('m', 'tokens:40 delay:25', { stream: true, max_tokens: 50 }), auth('keeper'));
    assert.equal(held.status, 200);
    const heldReserve = estimate('tokens:40 delay:25') + 50;

    // Unchanged limits, another consumer added.
    await reload(gateway, limitsConfig(upstream, consumers(1000, { other: {} })));
    assert.equal((await chat(gateway, chatRequest('m', 'tokens:1'), auth('other'))).status, 200, 'the reload took effect');
    const busy = await assertLimited(await chat(gateway, chatRequest('m', 'tokens:1', { max_tokens: 10 }), auth('keeper')), 'requests');
    assert.match(busy.error.message, /in flight/, 'the stream in flight lost its slot in the reload');
    assert.equal(busy.headers.remainingTokens, 1000 - used - heldReserve, 'the reload forgot the spent tokens');
    assert.equal(busy.headers.remainingRequests, 10 - 2, 'the reload forgot the requests');

    const { done } = await readSse(held);
    assert.ok(done);
    used += usageFor(40).total_tokens;
    const over = await assertLimited(await chat(gateway, chatRequest('m', 'tokens:1', { max_tokens: 1000 - used }), auth('keeper')), 'tokens');
    assert.equal(over.headers.remainingTokens, 1000 - used);

    // A higher limit: the spend is kept, the room is the difference.
    await reload(gateway, limitsConfig(upstream, consumers(1500, { other: {} })));
    const after = await chat(gateway, chatRequest('m', 'tokens:1', { max_tokens: 100 }), auth('keeper'));
    const headers = rateHeaders(after.headers);
    await okJson(after);
    assert.equal(headers.limitTokens, 1500);
    assert.equal(headers.remainingTokens, 1500 - used - estimate('tokens:1') - 100);
    assert.equal(headers.remainingRequests, 10 - 3);
  });
});

// ---------------------------------------------------------------- Redis

class RedisServer {
  constructor(port) {
    this.port = port;
    this.child = null;
  }

  async start() {
    const child = spawn(REDIS_SERVER, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    let output = '';
    await within(10_000, new Promise((resolve, reject) => {
      const onData = (text) => {
        output += text;
        if (/Ready to accept connections/.test(output)) resolve();
      };
      child.stdout.setEncoding('utf8').on('data', onData);
      child.stderr.setEncoding('utf8').on('data', onData);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
    }), 'redis-server start');
    return this;
  }

  async stop() {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  keys(pattern) {
    return execFileSync(REDIS_CLI, ['-p', String(this.port), '--scan', '--pattern', pattern], { encoding: 'utf8' }).split('\n').filter(Boolean);
  }
}

describe('redis store', { skip: fs.existsSync(REDIS_SERVER) ? false : `${REDIS_SERVER} not installed` }, () => {
  test('two gateways share one budget; Redis down: allow serves unlimited, deny is 503 limit_store_unavailable, degraded 1; Redis back: limits again, degraded 0', async () => {
    const upstream = await upstreamOnce();
    const port = await closedPort();
    redis = await new RedisServer(port).start();
    const prefix = `aigw-e2e-${crypto.randomBytes(4).toString('hex')}:`;
    const redisConfig = (keyPrefix) => ({ address: `127.0.0.1:${port}`, key_prefix: keyPrefix, timeout: '50ms' });
    const consumers = {
      shared: { limits: { tokens_per_minute: 1000 } },
      'shared-rpm': { limits: { requests_per_minute: 4 } },
      'shared-slot': { limits: { max_concurrent: 1 } },
    };
    const replica = (policy, keyPrefix) => gatewayWith({
      ...limitsConfig(upstream, consumers, { store: 'redis', on_store_error: policy }),
      redis: redisConfig(keyPrefix),
    });
    const [a, b, denying] = await Promise.all([replica('allow', prefix), replica('allow', prefix), replica('deny', `${prefix}deny:`)]);

    // A spends 400; B's reservation sees it.
    const first = await chat(a, chatRequest('m', 'tokens:393', { max_tokens: 400 }), auth('shared'));
    assert.equal(rateHeaders(first.headers).remainingTokens, 1000 - estimate('tokens:393') - 400);
    await okJson(first);
    let used = usageFor(393).total_tokens;
    const second = await chat(b, chatRequest('m', 'tokens:1', { max_tokens: 100 }), auth('shared'));
    assert.equal(rateHeaders(second.headers).remainingTokens, 1000 - used - estimate('tokens:1') - 100, 'B does not see what A spent');
    await okJson(second);
    used += usageFor(1).total_tokens;
    assert.ok(redis.keys(`${prefix}*`).some((key) => key.includes('shared')), `no counters under ${prefix} in Redis`);

    // A burst split over both: what they admit together fits the one budget.
    upstream.clear();
    const content = 'tokens:100 delay:3';
    const burst = await Promise.all(Array.from({ length: 12 }, async (_, i) => {
      const response = await chat(i % 2 ? a : b, chatRequest('m', content, { stream: true, max_tokens: 100 }), auth('shared'));
      if (response.status !== 200) return { refused: await assertLimited(response, 'tokens') };
      const { done } = await readSse(response);
      return { done };
    }));
    const admitted = burst.filter((r) => !r.refused);
    assert.ok(admitted.every((r) => r.done));
    assert.ok(admitted.length >= 1 && admitted.length < burst.length, `${admitted.length} of ${burst.length} admitted`);
    assert.ok(used + admitted.length * usageFor(100).total_tokens <= 1000, `${admitted.length} admitted: over the shared budget`);
    used += admitted.length * usageFor(100).total_tokens;
    const check = await assertLimited(await chat(b, chatRequest('m', 'tokens:1', { max_tokens: 1000 - estimate('tokens:1') }), auth('shared')), 'tokens');
    assert.equal(check.headers.remainingTokens, 1000 - used);

    // Requests per minute, alternating replicas.
    for (const [gateway, expected] of [[a, 3], [b, 2], [a, 1], [b, 0]]) {
      const response = await chat(gateway, chatRequest('m', 'tokens:1'), auth('shared-rpm'));
      assert.equal(rateHeaders(response.headers).remainingRequests, expected);
      await okJson(response);
    }
    await assertLimited(await chat(a, chatRequest('m', 'tokens:1'), auth('shared-rpm')), 'requests');
    await assertLimited(await chat(b, chatRequest('m', 'tokens:1'), auth('shared-rpm')), 'requests');
    assert.equal((await chat(denying, chatRequest('m', 'tokens:1'), auth('shared-rpm'))).status, 200, 'the deny replica has its own prefix');

    // One slot for both: a stream on A holds it against B until it ends.
    const holding = await chat(a, chatRequest('m', 'tokens:20 delay:20', { stream: true }), auth('shared-slot'));
    assert.equal(holding.status, 200);
    const busy = await assertLimited(await chat(b, chatRequest('m', 'tokens:1'), auth('shared-slot')), 'requests');
    assert.match(busy.error.message, /in flight/);
    assert.ok((await readSse(holding)).done);
    await okJson(await chat(b, chatRequest('m', 'tokens:1'), auth('shared-slot')));
    for (const gateway of [a, b, denying]) assert.equal(metricValue(await metrics(gateway), 'aigw_limit_store_degraded'), 0);

    // Redis dies: allow serves (unlimited, quickly), deny refuses.
    await redis.stop();
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const response = await chat(a, chatRequest('m', 'tokens:1'), auth('shared-rpm'));
      await okJson(response);
      assert.ok(performance.now() - started < 1000, `a request took ${Math.round(performance.now() - started)} ms with Redis down`);
    }
    await okJson(await chat(b, chatRequest('m', 'tokens:1', { max_tokens: 1000 }), auth('shared')));
    for (let i = 0; i < 2; i++) {
      const refused = await chat(denying, chatRequest('m', 'tokens:1'), auth('shared-rpm'));
      const error = await assertOpenAIError(refused, 503);
      assert.equal(error.code, 'limit_store_unavailable');
      assert.match(refused.headers.get('retry-after') ?? '', /^\d+$/);
    }
    for (const gateway of [a, b, denying]) {
      const text = await metrics(gateway);
      assert.equal(metricValue(text, 'aigw_limit_store_degraded'), 1, text);
      assert.ok(metricValue(text, 'aigw_limit_store_errors_total') >= 1);
      assert.match(gateway.stderr(), /limit store unavailable/);
    }

    // Redis is back (empty): within a few seconds limits apply again.
    redis = await new RedisServer(port).start();
    const deadline = performance.now() + 5000;
    let refusedAgain = null;
    let admittedAfter = 0;
    while (!refusedAgain && performance.now() < deadline) {
      const response = await chat(a, chatRequest('m', 'tokens:1'), auth('shared-rpm'));
      if (response.status === 429) refusedAgain = await assertLimited(response, 'requests');
      else {
        await okJson(response);
        if (response.headers.get('x-ratelimit-remaining-requests') !== null) admittedAfter++;
        await sleep(20);
      }
    }
    assert.ok(refusedAgain, 'limits did not apply again within 5 s of Redis coming back');
    assert.equal(admittedAfter, 4, 'the counted requests after Redis came back');
    assert.equal(refusedAgain.headers.remainingRequests, 0);
    const deadlineDeny = performance.now() + 5000;
    let denyStatus = 0;
    while (denyStatus !== 200 && performance.now() < deadlineDeny) {
      const response = await chat(denying, chatRequest('m', 'tokens:1'), auth('shared-rpm'));
      denyStatus = response.status;
      await response.text();
      if (denyStatus !== 200) await sleep(50);
    }
    assert.equal(denyStatus, 200, 'the deny replica still refuses after Redis came back');
    for (const gateway of [a, denying]) {
      assert.equal(metricValue(await metrics(gateway), 'aigw_limit_store_degraded'), 0);
      assert.match(gateway.stderr(), /limit store is back/);
    }
  });
});
