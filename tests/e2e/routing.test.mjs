// Routing that survives: routes (exact, prefix, regex, first match wins),
// weights, fallback chains, API key rotation (429 cool-down, 401/403 out of
// rotation), retries (max_attempts, budget, never after the first byte),
// the circuit breaker and per-provider timeouts. Every test runs its own
// aigw in front of its own fake upstreams (fake_flaky.mjs), so breaker and
// key state never leak between tests; the official OpenAI SDK and raw fetch
// are the clients.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI from 'openai';
import { flakyConfig, flakyProvider, withFlakyGateway } from './fake_flaky.mjs';
import { deltaText, postChat, readSse, runGatewayExpectingExit, startGateway } from './harness.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const provider = (up, extra = {}) => flakyProvider(up, { api_keys: [`sk-${up.name}-1`], ...extra });
const config = (providers, rest = {}) =>
  flakyConfig(providers, { retries: { max_attempts: 5, budget: '30s' }, circuit_breaker: { failures: 1000, cooldown: '30s' } }, rest);

// withFlakyGateway, with an SDK client for the gateway as well.
function withGateway(names, makeConfig, body) {
  return withFlakyGateway(names, makeConfig, ({ gateway, ups }) => {
    const client = new OpenAI({ baseURL: `${gateway.httpUrl}/v1`, apiKey: 'client-key', maxRetries: 0, timeout: 20_000 });
    return body({ gateway, ups, client });
  });
}

// One chat call with raw fetch. Returns what the client saw: status,
// x-aigw-provider/-attempts, the text, the error (HTTP or in-stream), [DONE].
async function chat(gateway, model, { stream = false, content = 'hello there' } = {}) {
  const started = performance.now();
  const response = await postChat(gateway.httpUrl, { model, stream, messages: [{ role: 'user', content }] });
  const result = {
    status: response.status,
    provider: response.headers.get('x-aigw-provider'),
    attempts: Number(response.headers.get('x-aigw-attempts') ?? 0),
  };
  if (response.status === 200 && stream) {
    const { chunks, done } = await readSse(response);
    result.text = deltaText(chunks.filter((c) => !c.error));
    result.error = chunks.find((c) => c.error)?.error ?? null;
    result.errorIsLast = chunks.at(-1)?.error !== undefined;
    result.done = done;
  } else {
    const body = await response.json();
    result.text = body.choices?.[0]?.message?.content ?? null;
    result.error = body.error ?? null;
  }
  result.ms = performance.now() - started;
  return result;
}

// Calls through the official SDK, streaming or not; returns {text, provider, attempts}.
async function sdkChat(client, model, stream) {
  const params = { model, messages: [{ role: 'user', content: 'hello sdk' }] };
  if (!stream) {
    const { data, response } = await client.chat.completions.create(params).withResponse();
    return { text: data.choices[0].message.content, provider: response.headers.get('x-aigw-provider'), attempts: Number(response.headers.get('x-aigw-attempts')) };
  }
  const { data, response } = await client.chat.completions.create({ ...params, stream: true }).withResponse();
  let text = '';
  for await (const chunk of data) text += chunk.choices[0]?.delta?.content ?? '';
  return { text, provider: response.headers.get('x-aigw-provider'), attempts: Number(response.headers.get('x-aigw-attempts')) };
}

function assertInRange(value, low, high, what) {
  assert.ok(value >= low && value <= high, `${what}: ${Math.round(value)} not in [${low}, ${high}]`);
}

// ---------------------------------------------------------------- routes

test('routes: exact, "prefix*" and "~regex" pick their route, the first matching route wins, "*" catches the rest', async () => {
  await withGateway(['a', 'b', 'c', 'd', 'e'], (u) =>
    config(
      [
        provider(u.a, { model_mapping: { 'exact-one': 'a-upstream-name' } }),
        provider(u.b),
        provider(u.c),
        provider(u.d),
        provider(u.e),
      ],
      {
        routes: [
          { models: ['exact-one'], providers: ['a'] },
          { models: ['pre-*'], providers: ['b'] },
          { models: ['~^rx-[0-9]+$'], providers: ['c'] },
          // Every model here also matches an earlier route: never chosen.
          { models: ['pre-special', 'rx-77', 'exact-one'], providers: ['d'] },
          { models: ['*'], providers: ['e'] },
        ],
      },
    ), async ({ gateway, ups }) => {
    const expectations = [
      ['exact-one', 'a', 'a-upstream-name'], // a's mapping renames it
      ['pre-x', 'b', 'pre-x'], // b's mapping does not list it: the requested name as-is
      ['pre-special', 'b', 'pre-special'],
      ['rx-12', 'c', 'rx-12'],
      ['rx-77', 'c', 'rx-77'],
      ['rx-abc', 'e', 'rx-abc'],
      ['exact-one-more', 'e', 'exact-one-more'],
      ['anything', 'e', 'anything'],
    ];
    for (const stream of [false, true]) {
      for (const [model, name, upstreamModel] of expectations) {
        for (const up of Object.values(ups)) up.clear();
        const result = await chat(gateway, model, { stream });
        assert.equal(result.status, 200, `${model}: ${JSON.stringify(result.error)}`);
        assert.equal(result.provider, name, `${model} (stream=${stream}) answered by ${result.provider}`);
        assert.equal(result.text, `${name}/${upstreamModel} hello there`);
        for (const up of Object.values(ups)) {
          assert.equal(up.requests.length, up.name === name ? 1 : 0, `${model}: upstream ${up.name} got ${up.requests.length} requests`);
        }
        assert.equal(ups[name].requests[0].model, upstreamModel);
        assert.equal(ups[name].requests[0].auth, `Bearer sk-${name}-1`, 'the provider key, never the client key');
      }
    }
    assert.equal(ups.d.requests.length, 0);
  });
});

test('without routes: the first provider whose mapping serves the model, then the top-level fallback (which gets the requested name)', async () => {
  await withGateway(['a', 'b', 'c'], (u) =>
    config(
      [
        provider(u.a, { models: ['m1'], model_mapping: { m1: 'a-m1' } }),
        provider(u.b, { models: ['m1', 'm2'] }),
        provider(u.c, { models: ['only-c'] }),
      ],
      { fallback: ['c'] },
    ), async ({ gateway, ups }) => {
    let result = await chat(gateway, 'm1');
    assert.equal(result.provider, 'a');
    assert.equal(result.text, 'a/a-m1 hello there');
    result = await chat(gateway, 'm2', { stream: true });
    assert.equal(result.provider, 'b');
    assert.equal(result.text, 'b/m2 hello there');
    assert.equal(ups.b.requests.length, 1);

    // a fails: the top-level fallback c answers (b also serves m1 but is not in the chain).
    ups.a.mode = 'http-503';
    result = await chat(gateway, 'm1');
    assert.equal(result.status, 200, JSON.stringify(result.error));
    assert.equal(result.provider, 'c');
    assert.equal(result.attempts, 2);
    assert.equal(result.text, 'c/m1 hello there');
    assert.equal(ups.b.requests.length, 1, 'b is not in the fallback chain');

    const missing = await chat(gateway, 'nobody-serves-this');
    assert.equal(missing.status, 404);
    assert.equal(missing.error.code, 'model_not_found');
  });
});

test('weights 3:1 spread 400 requests about 75% / 25% (±7%)', async () => {
  await withGateway(['heavy', 'light'], (u) =>
    config([provider(u.heavy), provider(u.light)], {
      routes: [{ models: ['spread'], providers: [{ name: 'heavy', weight: 3 }, { name: 'light', weight: 1 }] }],
    }), async ({ gateway, ups }) => {
    const counts = { heavy: 0, light: 0 };
    const total = 400;
    for (let i = 0; i < total; i += 20) {
      const results = await Promise.all(Array.from({ length: 20 }, (_, j) => chat(gateway, 'spread', { stream: (i + j) % 2 === 0 })));
      for (const result of results) {
        assert.equal(result.status, 200);
        counts[result.provider]++;
      }
    }
    assert.equal(counts.heavy + counts.light, total);
    assert.equal(ups.heavy.requests.length, counts.heavy);
    assert.equal(ups.light.requests.length, counts.light);
    assertInRange(counts.heavy / total, 0.68, 0.82, 'share of weight 3');
  });
});

test('the provider chosen by weight, then the fallback chain in order; the other weighted provider is not tried', async () => {
  await withGateway(['w1', 'w2', 'f1', 'f2'], (u) =>
    config([provider(u.w1), provider(u.w2), provider(u.f1), provider(u.f2)], {
      routes: [{ models: ['*'], providers: [{ name: 'w1', weight: 1 }, { name: 'w2', weight: 1 }], fallback: ['f1', 'f2'] }],
    }), async ({ gateway, ups }) => {
    ups.w1.mode = 'http-503';
    ups.w2.mode = 'http-500';
    ups.f1.mode = 'reset';
    for (let i = 0; i < 6; i++) {
      for (const up of Object.values(ups)) up.clear();
      const result = await chat(gateway, 'chain', { stream: i % 2 === 1 });
      assert.equal(result.status, 200, JSON.stringify(result.error));
      assert.equal(result.provider, 'f2');
      assert.equal(result.attempts, 3);
      assert.equal(result.text, 'f2/chain hello there');
      assert.equal(ups.w1.requests.length + ups.w2.requests.length, 1, 'exactly one weighted provider is tried');
      assert.equal(ups.f1.requests.length, 1);
      assert.ok(ups.f1.requests[0].receivedAt < ups.f2.requests[0].receivedAt, 'f1 before f2');
    }
  });
});

test('a route without fallback uses the top-level chain; `fallback: []` disables it', async () => {
  await withGateway(['main', 'backup'], (u) =>
    config([provider(u.main), provider(u.backup)], {
      fallback: ['backup'],
      routes: [
        { models: ['with-default'], providers: ['main'] },
        { models: ['alone'], providers: ['main'], fallback: [] },
      ],
    }), async ({ gateway, ups }) => {
    ups.main.mode = 'http-503';
    const served = await chat(gateway, 'with-default');
    assert.equal(served.status, 200);
    assert.equal(served.provider, 'backup');
    ups.backup.clear();
    const alone = await chat(gateway, 'alone');
    assert.equal(alone.status, 502, 'the upstream 503 surfaces as 502');
    assert.equal(alone.error.type, 'upstream_error');
    assert.equal(ups.backup.requests.length, 0);
  });
});

test('routing config errors name the key (aigw --check)', async () => {
  const providers = [{ name: 'a', type: 'echo' }, { name: 'b', type: 'echo' }];
  const cases = [
    [{ routes: [{ models: ['m'], providers: ['a', 'nope'] }] }, /routes\[0\]\.providers\[1\]: no provider is named 'nope'/],
    [{ routes: [{ models: ['m'], providers: [{ name: 'a', weight: 0 }] }] }, /routes\[0\]\.providers\[0\]\.weight/],
    [{ routes: [{ models: ['m'], providers: ['a'] }, { models: ['~(unclosed'], providers: ['b'] }] }, /routes\[1\]\.models: .*not a valid regex/],
    [{ routes: [{ models: ['m'], providers: ['a'], fallback: ['b', 'ghost'] }] }, /routes\[0\]\.fallback\[1\]: no provider is named 'ghost'/],
    [{ routes: [{ models: ['m'] }] }, /routes\[0\]: name providers or a fallback chain/],
    [{ fallback: ['ghost'] }, /fallback\[0\]: no provider is named 'ghost'/],
    [{ retries: { max_attempts: 0 } }, /retries\.max_attempts/],
    [{ retries: { budget: 'soon' } }, /retries\.budget/],
    [{ circuit_breaker: { failures: 3, cooldwn: '1s' } }, /circuit_breaker/],
    [{ providers: [{ name: 'a', type: 'echo', timeouts: { first_byte: 'x' } }] }, /providers\[0\]\.timeouts\.first_byte/],
  ];
  for (const [rest, message] of cases) {
    const run = await runGatewayExpectingExit(['--check'], { config: { providers, ...rest } });
    assert.equal(run.code, 1, `${JSON.stringify(rest)} was accepted`);
    assert.match(run.stderr, message);
  }
  const ok = await runGatewayExpectingExit(['--check'], {
    config: { providers, routes: [{ models: ['m', 'p*', '~^r[0-9]$', '*'], providers: ['a', { name: 'b', weight: 2 }], fallback: [] }], fallback: ['b'] },
  });
  assert.equal(ok.code, 0, ok.stderr);
});

// ---------------------------------------------------------------- fallback

// main fails in one way, backup answers (its mapping "*" -> "fine").
function fallbackConfig(u, mainExtra = {}) {
  return config(
    [
      provider(u.main, { timeouts: { connect: '1s', first_byte: '300ms', read: '2s' }, ...mainExtra }),
      provider(u.backup, { model_mapping: { '*': 'fine' } }),
    ],
    { routes: [{ models: ['*'], providers: ['main'], fallback: ['backup'] }] },
  );
}

for (const failure of ['http-503', 'reset', 'stall-headers', 'hang', 'http-429']) {
  test(`fallback on ${failure}: the SDK sees success and x-aigw-provider names the fallback (streaming and not)`, async () => {
    await withGateway(['main', 'backup'], (u) => fallbackConfig(u), async ({ gateway, ups, client }) => {
      ups.main.mode = failure === 'http-429' ? { kind: 'http-429', retryAfter: 0 } : failure;
      for (const stream of [true, false]) {
        ups.main.clear();
        ups.backup.clear();
        const started = performance.now();
        const result = await sdkChat(client, 'some-model', stream);
        const ms = performance.now() - started;
        assert.equal(result.provider, 'backup');
        assert.equal(result.attempts, 2);
        assert.equal(result.text, 'backup/fine hello sdk');
        assert.equal(ups.main.requests.length, 1, 'main tried once (one key)');
        assert.equal(ups.backup.requests.length, 1);
        assert.equal(ups.main.requests[0].model, 'some-model');
        if (failure === 'stall-headers' || failure === 'hang') {
          // Streams give up at first_byte (300ms); non-streaming calls at the idle timeout (2s).
          if (stream) assertInRange(ms, 250, 1500, 'stream fallback after first_byte');
          else assertInRange(ms, 1800, 4000, 'non-streaming fallback after the idle timeout');
        }
      }
      assert.match(gateway.stderr(), /some-model via provider 'main' failed: /);
    });
  });
}

test('a first_byte timeout with nothing to fall back to is 504 timeout_error', async () => {
  await withGateway(['main'], (u) =>
    config([provider(u.main, { timeouts: { connect: '1s', first_byte: '300ms', read: '5s' } })], {
      routes: [{ models: ['*'], providers: ['main'], fallback: [] }],
    }), async ({ gateway, ups }) => {
    ups.main.mode = 'stall-headers';
    const result = await chat(gateway, 'm', { stream: true });
    assert.equal(result.status, 504);
    assert.equal(result.error.type, 'timeout_error');
    assertInRange(result.ms, 250, 1500, 'elapsed');
  });
});

// ---------------------------------------------------------------- keys

test('api_keys are used round-robin per provider', async () => {
  await withGateway(['main'], (u) =>
    config([provider(u.main, { api_keys: ['k1', 'k2', 'k3'], models: ['m'] })]), async ({ gateway, ups }) => {
    for (let i = 0; i < 6; i++) assert.equal((await chat(gateway, 'm', { stream: i % 2 === 0 })).status, 200);
    assert.deepEqual(ups.main.keys(), ['k1', 'k2', 'k3', 'k1', 'k2', 'k3']);
  });
});

test('a key answered 429 cools down for Retry-After seconds while the next key serves', async () => {
  await withGateway(['main', 'backup'], (u) =>
    config([provider(u.main, { api_keys: ['k1', 'k2'] }), provider(u.backup)], {
      routes: [{ models: ['*'], providers: ['main'], fallback: ['backup'] }],
    }), async ({ gateway, ups }) => {
    let limited = false;
    ups.main.mode = (r) => {
      if (r.key === 'k1' && !limited) {
        limited = true;
        return { kind: 'http-429', retryAfter: 2 };
      }
      return 'ok';
    };
    const first = await chat(gateway, 'm', { stream: true });
    assert.equal(first.status, 200);
    assert.equal(first.provider, 'main', 'the same provider with its next key');
    assert.equal(first.attempts, 2);
    assert.deepEqual(ups.main.keys(), ['k1', 'k2']);
    const limitedAt = ups.main.requests[0].receivedAt;

    // Requests every 100 ms: k2 serves until k1 is back, 2 s after the 429
    // (a plain backoff would bring it back after 1 s).
    const deadline = performance.now() + 4000;
    while (performance.now() < deadline && !ups.main.requests.slice(2).some((r) => r.key === 'k1')) {
      const result = await chat(gateway, 'm', { stream: ups.main.requests.length % 2 === 0 });
      assert.equal(result.status, 200);
      assert.equal(result.provider, 'main');
      assert.equal(result.attempts, 1);
      await sleep(100);
    }
    const later = ups.main.requests.slice(2);
    const backIndex = later.findIndex((r) => r.key === 'k1');
    assert.ok(backIndex > 0, `k1 never came back: ${ups.main.keys()}`);
    assert.ok(later.slice(0, backIndex).every((r) => r.key === 'k2'), `only k2 while k1 cools: ${ups.main.keys()}`);
    assertInRange(later[backIndex].receivedAt - limitedAt, 1950, 2700, 'k1 back after (ms)');
    assert.equal(ups.backup.requests.length, 0);
  });
});

test('without Retry-After a 429 key backs off 1 s, then 2 s', async () => {
  await withGateway(['main'], (u) =>
    config([provider(u.main, { api_keys: ['k1', 'k2'], models: ['m'] })]), async ({ gateway, ups }) => {
    ups.main.mode = (r) => (r.key === 'k1' ? 'http-429' : 'ok');
    const deadline = performance.now() + 4200;
    while (performance.now() < deadline) {
      const result = await chat(gateway, 'm');
      assert.equal(result.status, 200, JSON.stringify(result.error));
      await sleep(50);
    }
    const k1 = ups.main.requests.filter((r) => r.key === 'k1').map((r) => r.receivedAt);
    assert.ok(k1.length >= 3, `k1 used ${k1.length} times`);
    assertInRange(k1[1] - k1[0], 950, 1400, 'first backoff (ms)');
    assertInRange(k1[2] - k1[1], 1950, 2400, 'second backoff (ms)');
  });
});

test('a key answered 401 (every model) or 403 (that model) leaves the rotation for a back-off, and is never logged', async () => {
  await withGateway(['main'], (u) =>
    config([provider(u.main, { api_keys: ['sk-good-1', 'sk-bad-401', 'sk-bad-403'], models: ['m'] })]), async ({ gateway, ups }) => {
    ups.main.mode = (r) => (r.key === 'sk-bad-401' ? 'http-401' : r.key === 'sk-bad-403' ? 'http-403' : 'ok');
    for (let i = 0; i < 9; i++) {
      const result = await chat(gateway, 'm', { stream: i % 2 === 0 });
      assert.equal(result.status, 200, JSON.stringify(result.error));
      assert.equal(result.provider, 'main');
    }
    const keys = ups.main.keys();
    assert.equal(keys.filter((k) => k === 'sk-bad-401').length, 1, `keys: ${keys}`);
    assert.equal(keys.filter((k) => k === 'sk-bad-403').length, 1, `keys: ${keys}`);
    assert.equal(keys.filter((k) => k === 'sk-good-1').length, 9);
    assert.match(gateway.stderr(), /API key #2 rejected \(401\)/);
    assert.doesNotMatch(gateway.stderr(), /sk-bad|sk-good/);

    // A reload that keeps the provider's keys and base_url keeps their
    // back-offs (upstream_safety tests a changed provider starting afresh).
    const reload = await fetch(`${gateway.adminUrl}/reload`, { method: 'POST' });
    assert.equal(reload.status, 200);
    assert.deepEqual(await reload.json(), { status: 'reloaded' });
    ups.main.clear();
    ups.main.mode = 'ok';
    for (let i = 0; i < 3; i++) assert.equal((await chat(gateway, 'm')).status, 200);
    assert.deepEqual(ups.main.keys(), ['sk-good-1', 'sk-good-1', 'sk-good-1']);
  });
});

test('when every key cools down the provider fails fast and the fallback answers', async () => {
  await withGateway(['main', 'backup'], (u) =>
    config([provider(u.main, { api_keys: ['k1', 'k2'] }), provider(u.backup)], {
      routes: [{ models: ['*'], providers: ['main'], fallback: ['backup'] }],
    }), async ({ gateway, ups, client }) => {
    ups.main.mode = { kind: 'http-429', retryAfter: 30 };
    const first = await chat(gateway, 'm');
    assert.equal(first.status, 200);
    assert.equal(first.provider, 'backup');
    assert.equal(first.attempts, 3);
    assert.deepEqual(ups.main.keys(), ['k1', 'k2']);
    for (const stream of [true, false]) {
      const result = await sdkChat(client, 'm', stream);
      assert.equal(result.provider, 'backup');
      assert.equal(result.text, 'backup/m hello sdk');
    }
    assert.equal(ups.main.requests.length, 2, 'no upstream call while every key cools down');
  });
});

test('a provider skipped because its keys all cool down does not use up retries.max_attempts', async () => {
  // max_attempts counts upstream calls ("upstream calls per request",
  // x-aigw-attempts): a provider that fails fast without calling its
  // upstream must leave the attempts to the rest of the chain.
  await withGateway(['main', 'flaky', 'backup'], (u) =>
    config([provider(u.main), provider(u.flaky), provider(u.backup)], {
      retries: { max_attempts: 2, budget: '30s' },
      routes: [{ models: ['*'], providers: ['main'], fallback: ['flaky', 'backup'] }],
    }), async ({ gateway, ups }) => {
    ups.main.mode = { kind: 'http-429', retryAfter: 30 };
    ups.flaky.mode = 'http-503';
    const first = await chat(gateway, 'm');
    assert.equal(first.status, 502, 'two upstream calls (main 429, flaky 503), then no more');
    assert.equal(ups.backup.requests.length, 0);

    const second = await chat(gateway, 'm');
    assert.equal(ups.main.requests.length, 1, 'main skipped: its only key cools down');
    assert.equal(ups.flaky.requests.length, 2);
    assert.equal(second.status, 200, `expected flaky (1st upstream call) then backup (2nd); got ${second.status} ${JSON.stringify(second.error)} after ${second.attempts} attempts`);
    assert.equal(second.provider, 'backup');
    assert.equal(second.attempts, 2);
  });
});

// ---------------------------------------------------------------- retries

for (const failure of ['stall-mid', 'break-mid']) {
  test(`no retry after the first byte (${failure}): the stream ends with an error event, the fallback is not called`, async () => {
    await withGateway(['main', 'backup'], (u) =>
      fallbackConfig(u, { timeouts: { connect: '1s', first_byte: '2s', idle: '600ms' } }), async ({ gateway, ups, client }) => {
      ups.main.mode = failure;
      const result = await chat(gateway, 'm', { stream: true });
      assert.equal(result.status, 200);
      assert.equal(result.provider, 'main');
      assert.equal(result.attempts, 1);
      assert.equal(result.text, 'main/m hello ');
      assert.ok(result.error, 'an error event');
      assert.ok(result.errorIsLast, 'the error event ends the stream');
      assert.equal(result.done, false, 'no [DONE] after an error');
      assert.equal(result.error.type, failure === 'stall-mid' ? 'timeout_error' : 'upstream_error');
      assert.equal(ups.main.requests.length, 1);
      assert.equal(ups.backup.requests.length, 0, 'the fallback was called after the first byte');

      // The SDK surfaces it as an error while iterating.
      const { data } = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x y' }], stream: true }).withResponse();
      let text = '';
      await assert.rejects(async () => {
        for await (const chunk of data) text += chunk.choices[0]?.delta?.content ?? '';
      }, OpenAI.APIError);
      assert.equal(text, 'main/m x ');
      assert.equal(ups.backup.requests.length, 0);

      // Non-streaming: nothing reached the client yet, so the fallback serves.
      const plain = await chat(gateway, 'm');
      assert.equal(plain.status, 200, JSON.stringify(plain.error));
      assert.equal(plain.provider, 'backup');
    });
  });
}

test('retries.max_attempts caps upstream calls across providers and keys', async () => {
  const chain = (u, maxAttempts) =>
    config([provider(u.p1, { api_keys: ['k1', 'k2', 'k3'] }), provider(u.p2), provider(u.p3), provider(u.p4)], {
      retries: { max_attempts: maxAttempts, budget: '30s' },
      routes: [{ models: ['*'], providers: ['p1'], fallback: ['p2', 'p3', 'p4'] }],
    });
  await withGateway(['p1', 'p2', 'p3', 'p4'], (u) => chain(u, 2), async ({ gateway, ups }) => {
    ups.p1.mode = 'http-503';
    ups.p2.mode = 'http-503';
    ups.p3.mode = 'http-503';
    for (const stream of [false, true]) {
      for (const up of Object.values(ups)) up.clear();
      const result = await chat(gateway, 'm', { stream });
      assert.equal(result.status, 502);
      assert.equal(result.attempts, 2);
      assert.deepEqual(Object.values(ups).map((u) => u.requests.length), [1, 1, 0, 0]);
    }
    // A 429 is retried on the next key of the same provider, still within the cap.
    ups.p1.mode = { kind: 'http-429', retryAfter: 0 };
    for (const up of Object.values(ups)) up.clear();
    const limited = await chat(gateway, 'm');
    assert.equal(limited.status, 429);
    assert.equal(limited.attempts, 2);
    assert.equal(ups.p1.requests.length, 2);
    assert.equal(ups.p2.requests.length, 0);
  });
  await withGateway(['p1', 'p2', 'p3', 'p4'], (u) => chain(u, 4), async ({ gateway, ups }) => {
    ups.p1.mode = 'http-503';
    ups.p2.mode = 'reset';
    ups.p3.mode = 'http-502';
    for (const stream of [false, true]) {
      for (const up of Object.values(ups)) up.clear();
      const result = await chat(gateway, 'm', { stream });
      assert.equal(result.status, 200, JSON.stringify(result.error));
      assert.equal(result.provider, 'p4');
      assert.equal(result.attempts, 4);
      assert.deepEqual(Object.values(ups).map((u) => u.requests.length), [1, 1, 1, 1], '5xx is not key-specific: one call per provider');
    }
  });
});

test('retries.budget: no new attempt once it is spent', async () => {
  const budgeted = (u, budget) =>
    config([provider(u.main, { timeouts: { connect: '1s', read: '5s', total: '800ms' } }), provider(u.backup)], {
      retries: { max_attempts: 5, budget },
      routes: [{ models: ['*'], providers: ['main'], fallback: ['backup'] }],
    });
  await withGateway(['main', 'backup'], (u) => budgeted(u, '500ms'), async ({ gateway, ups }) => {
    ups.main.mode = 'hang';
    const result = await chat(gateway, 'm');
    assert.equal(result.status, 504);
    assert.equal(result.attempts, 1);
    assert.equal(ups.backup.requests.length, 0, 'the budget was spent');
    assertInRange(result.ms, 700, 1600, 'elapsed');
  });
  await withGateway(['main', 'backup'], (u) => budgeted(u, '10s'), async ({ gateway, ups }) => {
    ups.main.mode = 'hang';
    const result = await chat(gateway, 'm');
    assert.equal(result.status, 200);
    assert.equal(result.provider, 'backup');
    assertInRange(result.ms, 700, 1600, 'elapsed');
  });
});

test('a non-retryable 400 is returned as is, neither retried nor sent to the fallback', async () => {
  await withGateway(['main', 'backup'], (u) =>
    fallbackConfig(u, { api_keys: ['k1', 'k2'] }), async ({ gateway, ups }) => {
    ups.main.mode = 'http-400';
    for (const stream of [false, true]) {
      ups.main.clear();
      const result = await chat(gateway, 'm', { stream });
      assert.equal(result.status, 400);
      assert.equal(result.error.message, 'main says HTTP 400');
      assert.equal(result.attempts, 1);
      assert.equal(ups.main.requests.length, 1);
    }
    assert.equal(ups.backup.requests.length, 0);
  });
});

// ---------------------------------------------------------------- timeouts

test('total timeout: no attempt outlives it, streaming or not', async () => {
  await withGateway(['main', 'backup'], (u) =>
    config([provider(u.main, { timeouts: { connect: '1s', read: '5s', total: '1s' } }), provider(u.backup)], {
      routes: [
        { models: ['alone'], providers: ['main'], fallback: [] },
        { models: ['*'], providers: ['main'], fallback: ['backup'] },
      ],
    }), async ({ gateway, ups }) => {
    // A stream that never ends: cut at 1 s with an error event.
    ups.main.mode = 'forever';
    const endless = await chat(gateway, 'alone', { stream: true });
    assert.equal(endless.status, 200);
    assert.match(endless.text, /^tick0 tick1 /);
    assert.equal(endless.error?.type, 'timeout_error');
    assert.equal(endless.done, false);
    assertInRange(endless.ms, 900, 1800, 'endless stream cut after (ms)');

    // No answer at all, non-streaming and streaming: 504 after 1 s.
    ups.main.mode = 'hang';
    for (const stream of [false, true]) {
      const hung = await chat(gateway, 'alone', { stream });
      assert.equal(hung.status, 504);
      assert.equal(hung.error.type, 'timeout_error');
      assertInRange(hung.ms, 900, 1800, `hung (stream=${stream}) answered after (ms)`);
    }
    // With a fallback, the next provider gets the rest of the request.
    const saved = await chat(gateway, 'm', { stream: true });
    assert.equal(saved.status, 200);
    assert.equal(saved.provider, 'backup');
    assertInRange(saved.ms, 900, 1800, 'fallback answered after (ms)');
    assert.equal(ups.backup.requests.length, 1);
  });
});

// ---------------------------------------------------------------- breaker

test('circuit breaker: opens after N failures, skips the provider, probes after cooldown, closes on success', async () => {
  await withGateway(['main', 'backup'], (u) =>
    config([provider(u.main), provider(u.backup)], {
      circuit_breaker: { failures: 3, cooldown: '1s' },
      routes: [{ models: ['*'], providers: ['main'], fallback: ['backup'] }],
    }), async ({ gateway, ups }) => {
    ups.main.mode = 'http-503';
    for (let i = 0; i < 3; i++) {
      const result = await chat(gateway, 'm', { stream: i === 1 });
      assert.equal(result.provider, 'backup');
      assert.equal(result.attempts, 2);
    }
    assert.equal(ups.main.requests.length, 3);
    // Open: main receives nothing.
    for (let i = 0; i < 4; i++) {
      const result = await chat(gateway, 'm', { stream: i % 2 === 0 });
      assert.equal(result.provider, 'backup');
      assert.equal(result.attempts, 1);
    }
    assert.equal(ups.main.requests.length, 3, 'open breaker: no request reaches main');

    // After the cooldown one request probes; it fails: open again at once.
    await sleep(1100);
    assert.equal((await chat(gateway, 'm')).provider, 'backup');
    assert.equal(ups.main.requests.length, 4, 'one probe');
    for (let i = 0; i < 3; i++) assert.equal((await chat(gateway, 'm')).provider, 'backup');
    assert.equal(ups.main.requests.length, 4, 'a failed probe opens the breaker again');

    // main recovers; the next probe succeeds and closes the breaker.
    ups.main.mode = 'ok';
    await sleep(1100);
    for (let i = 0; i < 4; i++) {
      const result = await chat(gateway, 'm', { stream: i % 2 === 1 });
      assert.equal(result.provider, 'main');
      assert.equal(result.attempts, 1);
    }
    assert.equal(ups.main.requests.length, 8);
  });
});

test('circuit breaker: while the half-open probe runs, other requests still skip the provider', async () => {
  await withGateway(['main', 'backup'], (u) =>
    config([provider(u.main), provider(u.backup)], {
      circuit_breaker: { failures: 1, cooldown: '500ms' },
      routes: [{ models: ['*'], providers: ['main'], fallback: ['backup'] }],
    }), async ({ gateway, ups }) => {
    ups.main.mode = 'http-503';
    assert.equal((await chat(gateway, 'm')).provider, 'backup');
    ups.main.mode = { kind: 'ok', wordDelayMs: 150 }; // a probe stream of about 0.5 s
    await sleep(600);
    const probe = chat(gateway, 'm', { stream: true });
    while (ups.main.requests.length < 2) await sleep(5);
    const during = await Promise.all([chat(gateway, 'm'), chat(gateway, 'm', { stream: true })]);
    assert.deepEqual(during.map((r) => r.provider), ['backup', 'backup']);
    const probed = await probe;
    assert.equal(probed.provider, 'main');
    assert.equal(probed.text, 'main/m hello there');
    assert.equal((await chat(gateway, 'm')).provider, 'main', 'closed after the probe succeeded');
    assert.equal(ups.main.requests.length, 3);
  });
});

test('circuit breaker: with nothing else to try an open breaker answers 503 circuit_open', async () => {
  await withGateway(['main'], (u) =>
    config([provider(u.main, { timeouts: { connect: '1s', read: '300ms' } })], {
      circuit_breaker: { failures: 2, cooldown: '30s' },
      routes: [{ models: ['*'], providers: ['main'], fallback: [] }],
    }), async ({ gateway, ups }) => {
    ups.main.mode = 'reset';
    assert.equal((await chat(gateway, 'm')).status, 502);
    ups.main.mode = 'hang'; // a timeout is a provider failure too
    assert.equal((await chat(gateway, 'm')).status, 504);
    for (const stream of [false, true]) {
      const result = await chat(gateway, 'm', { stream });
      assert.equal(result.status, 503);
      assert.equal(result.error.code, 'circuit_open');
    }
    assert.equal(ups.main.requests.length, 2);
  });
});

test('circuit breaker: a half-open probe answered 400 does not leave the provider skipped forever', async () => {
  await withGateway(['main', 'backup'], (u) =>
    config([provider(u.main), provider(u.backup, { model_mapping: { '*': 'fine' } })], {
      circuit_breaker: { failures: 2, cooldown: '500ms' },
      routes: [{ models: ['*'], providers: ['main'], fallback: ['backup'] }],
    }), async ({ gateway, ups }) => {
    ups.main.mode = 'http-503';
    for (let i = 0; i < 2; i++) assert.equal((await chat(gateway, 'm')).provider, 'backup');
    ups.main.mode = 'ok';
    await sleep(600);
    // The probe: main answers, with a client error ("x-http-400" makes the fake say 400).
    const probe = await chat(gateway, 'x-http-400');
    assert.equal(probe.status, 400);
    assert.equal(ups.main.requests.length, 3, 'the probe reached main');
    // main is healthy: once the probe is over (and at worst another cooldown
    // later), requests must reach it again.
    await sleep(600);
    const result = await chat(gateway, 'm');
    assert.equal(result.provider, 'main', `main is still skipped after its probe answered 400 (served by ${result.provider}, main got ${ups.main.requests.length} requests)`);
  });
});
