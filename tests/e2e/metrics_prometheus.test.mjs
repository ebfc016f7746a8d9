// GET /metrics as Prometheus and Grafana see it: after a known mix of
// requests (a streamed chat, a non-streamed chat, embeddings, a failing
// upstream, a bad key) every family has the contract's type, labels and
// buckets; every metric the Grafana dashboard (deploy/grafana/aigw.json)
// queries is exported; promtool finds nothing to lint; and a real Prometheus
// scraping the admin port answers the dashboard's quantile and token queries.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LISTEN_ANY, sleep } from './fake_common.mjs';
import { startFakeOpenAiFamily } from './fake_openai_family.mjs';
import { REPO_ROOT, chatRequest, closedPort, postChat, readSse, startGateway } from './harness.mjs';

const DASHBOARD = path.join(REPO_ROOT, 'deploy/grafana/aigw.json');
const CONSUMER = 'team-a';
const CONSUMER_KEY = 'sk-metrics-team-a-0123456789';
const IN_CI = Boolean(process.env.CI) && process.env.CI !== 'false';

// ------------------------------------------------------------- the contract

const GEN_AI = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_response_model', 'aigw_provider', 'aigw_consumer'];
const buckets = (...bounds) => bounds;
// Family -> type, labels (le aside), labels only failed requests carry, buckets.
const CONTRACT = {
  gen_ai_client_operation_duration_seconds: {
    type: 'histogram', labels: GEN_AI, failLabels: ['error_type'],
    buckets: buckets(0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92),
  },
  gen_ai_client_token_usage: {
    type: 'histogram', labels: [...GEN_AI, 'gen_ai_token_type'],
    buckets: buckets(1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864),
  },
  gen_ai_server_time_to_first_token_seconds: {
    type: 'histogram', labels: GEN_AI,
    buckets: buckets(0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10),
  },
  gen_ai_server_time_per_output_token_seconds: {
    type: 'histogram', labels: GEN_AI,
    buckets: buckets(0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5),
  },
  aigw_requests_total: {
    type: 'counter', labels: ['protocol', 'gen_ai_operation_name', 'stream', 'aigw_provider', 'aigw_consumer', 'gen_ai_request_model', 'code'],
  },
  aigw_gateway_overhead_seconds: {
    type: 'histogram', labels: ['gen_ai_operation_name', 'stream'],
    buckets: buckets(0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
  },
  aigw_tokens_total: { type: 'counter', labels: ['aigw_provider', 'aigw_consumer', 'gen_ai_request_model', 'kind'] },
  aigw_upstream_attempts_total: { type: 'counter', labels: ['provider', 'result'] },
  aigw_dropped_params_total: { type: 'counter', labels: ['provider', 'param'] },
  aigw_rate_limited_total: { type: 'counter', labels: ['consumer', 'type'] },
  aigw_limit_store_errors_total: { type: 'counter', labels: [] },
  aigw_limit_store_degraded: { type: 'gauge', labels: [] },
  aigw_protection_rejected_total: { type: 'counter', labels: ['reason'] },
  aigw_streams_active: { type: 'gauge', labels: [] },
  aigw_connections_active: { type: 'gauge', labels: [] },
  aigw_config_reloads_total: { type: 'counter', labels: ['result'] },
  aigw_config_last_reload_success_timestamp_seconds: { type: 'gauge', labels: [] },
  aigw_build_info: { type: 'gauge', labels: ['version', 'revision'] },
  process_cpu_seconds_total: { type: 'counter', labels: [] },
  process_resident_memory_bytes: { type: 'gauge', labels: [] },
  process_virtual_memory_bytes: { type: 'gauge', labels: [] },
  process_open_fds: { type: 'gauge', labels: [] },
  process_max_fds: { type: 'gauge', labels: [] },
  process_start_time_seconds: { type: 'gauge', labels: [] },
  process_threads: { type: 'gauge', labels: [] },
};

// ------------------------------------------------- the exposition, parsed

const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;

// A sample value or `le` bound as the format writes it (Go's +Inf, -Inf, NaN).
const parseNumber = (text) => ({ '+Inf': Infinity, '-Inf': -Infinity, NaN })[text] ?? Number(text);

// {types: Map family -> type, samples: [{name, labels, value}]}.
function parseExposition(text) {
  const types = new Map();
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    const type = line.match(/^# TYPE (\S+) (\S+)$/);
    if (type) {
      types.set(type[1], type[2]);
      continue;
    }
    const sample = line.match(SAMPLE);
    assert.ok(sample, `not a sample line: ${line}`);
    const labels = Object.fromEntries([...(sample[2] ?? '').matchAll(LABEL_PAIR)].map((m) => [m[1], m[2]]));
    samples.push({ name: sample[1], labels, value: parseNumber(sample[3]) });
  }
  return { types, samples };
}

// The family a sample line belongs to: histograms add _bucket, _sum, _count.
function familyOf(name, types) {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && types.get(base) === 'histogram' ? base : name;
}

// Samples of `name` whose labels include every pair of `where`.
function select(samples, name, where = {}) {
  return samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v));
}

function sumOf(samples, name, where) {
  return select(samples, name, where).reduce((total, s) => total + s.value, 0);
}

// ------------------------------------------ metric names in PromQL queries

// PromQL words that are not metric names (functions are told apart by the
// '(' that follows them).
const PROMQL_WORDS = new Set([
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'atan2',
  'inf', 'nan',
]);

// The metric families an expression (or a Grafana label_values() query)
// reads: what is left once strings, matchers, ranges, label lists, numbers
// and variables are gone, less functions (a '(' follows) and keywords.
function metricNames(expr) {
  const text = expr
    .replace(/^\s*label_values\((.*),\s*[a-zA-Z_]\w*\s*\)\s*$/s, '$1') // label_values(selector, label)
    .replace(/^\s*label_values\(\s*[a-zA-Z_]\w*\s*\)\s*$/, '') // label_values(label)
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // label values, regexes
    .replace(/\{[^}]*\}/g, '{}') // label matchers
    .replace(/\[[^\]]*\]/g, '[]') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' $1 ') // label lists
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ') // Grafana variables
    .replace(/(?<![\w:.])(?:\d+(?:ms|[smhdwy]))+(?![\w:])/g, ' ') // durations (offset 1h30m)
    .replace(/(?<![\w:.])(?:0x[0-9a-f]+|\d*\.?\d+(?:e[+-]?\d+)?)(?![\w:])/gi, ' '); // numbers
  const names = new Set();
  for (const match of text.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = text.slice(match.index + match[0].length);
    if (/^\s*\(/.test(rest) || PROMQL_WORDS.has(match[0].toLowerCase())) continue;
    names.add(match[0].replace(/_(bucket|sum|count)$/, ''));
  }
  return [...names];
}

// Every PromQL expression of a dashboard: panel targets (rows and nested
// panels included) and templating queries.
function dashboardExprs(dashboard) {
  const exprs = [];
  const walk = (node) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    if (typeof node.expr === 'string') exprs.push(node.expr);
    for (const value of Object.values(node)) walk(value);
  };
  walk(dashboard.panels ?? []);
  walk(dashboard.rows ?? []);
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    if (query) exprs.push(query);
  }
  return exprs;
}

// --------------------------------------------------------------- the mix

const MODEL_MAPPING = { 'chat-stream': 'chat-streaming-detailed-usage', 'gpt-4o': 'chat-basic', embedder: 'embeddings-basic' };

async function gatewayConfig(upstream) {
  return {
    listen: { ...LISTEN_ANY },
    providers: [
      {
        name: 'fake-openai',
        type: 'openai',
        base_url: `${upstream.origin}/oa/v1`,
        api_keys: ['sk-upstream-key'],
        timeouts: { connect: '1s', read: '5s' },
        model_mapping: MODEL_MAPPING,
      },
      {
        name: 'dead-upstream',
        type: 'openai',
        base_url: `http://127.0.0.1:${await closedPort()}/v1`,
        api_keys: ['sk-dead-key'],
        timeouts: { connect: '1s', read: '1s' },
        models: ['unreachable'],
      },
    ],
    consumers: [{ name: CONSUMER, api_keys: [CONSUMER_KEY] }],
  };
}

const AS_CONSUMER = { headers: { Authorization: `Bearer ${CONSUMER_KEY}` } };

// One of each: streamed chat, chat, embeddings, an unreachable upstream, a bad key.
async function driveTraffic(gateway) {
  const streamed = await postChat(gateway.httpUrl, chatRequest('chat-stream', 'Hello!', { stream: true }), AS_CONSUMER);
  assert.equal(streamed.status, 200);
  assert.ok((await readSse(streamed)).done, 'the stream ended without [DONE]');

  const chat = await postChat(gateway.httpUrl, chatRequest('gpt-4o', 'Hello!'), AS_CONSUMER);
  const chatText = await chat.text();
  assert.equal(chat.status, 200, chatText);

  const embeddings = await fetch(`${gateway.httpUrl}/v1/embeddings`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...AS_CONSUMER.headers },
    body: JSON.stringify({ model: 'embedder', input: 'The food was delicious and the waiter...' }),
  });
  const embeddingsText = await embeddings.text();
  assert.equal(embeddings.status, 200, embeddingsText);

  const failing = await postChat(gateway.httpUrl, chatRequest('unreachable', 'Hello!'), AS_CONSUMER);
  assert.ok(failing.status >= 500, `unreachable upstream answered ${failing.status}`);
  await failing.text();

  const badKey = await postChat(gateway.httpUrl, chatRequest('gpt-4o', 'Hello!'), { headers: { Authorization: 'Bearer sk-not-a-consumer' } });
  assert.equal(badKey.status, 401);
  await badKey.text();
}

async function scrape(gateway) {
  const response = await fetch(`${gateway.adminUrl}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return response.text();
}

// An executable on PATH, or null.
function which(name) {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const file = path.join(dir || '.', name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {}
  }
  return null;
}

// The tool's path; without it the test is skipped on a developer's machine and fails in CI.
function requireTool(t, name) {
  const file = which(name);
  if (file) return file;
  const why = `${name} not installed (Debian's prometheus package; scripts/install_deps.sh --test installs it)`;
  if (IN_CI) assert.fail(why);
  t.skip(why);
  return null;
}

let upstream;
let gateway;
let exposition; // after one round of the mix
let parsed;

before(async () => {
  upstream = await startFakeOpenAiFamily();
  gateway = await startGateway(await gatewayConfig(upstream));
  await driveTraffic(gateway);
  exposition = await scrape(gateway);
  parsed = parseExposition(exposition);
});

after(async () => {
  await upstream?.stop();
  await gateway?.stop(); // last: it throws if aigw crashed during the tests
});

// -------------------------------------------------------------- the tests

describe('the exposition follows the contract', () => {
  test('every family has its type and only its labels', () => {
    const { types, samples } = parsed;
    for (const [family, spec] of Object.entries(CONTRACT)) {
      assert.equal(types.get(family), spec.type, `# TYPE ${family}`);
      for (const sample of samples.filter((s) => familyOf(s.name, types) === family)) {
        const names = Object.keys(sample.labels).filter((l) => !(l === 'le' && sample.name.endsWith('_bucket')));
        const expected = [...spec.labels, ...(spec.failLabels ?? []).filter((l) => l in sample.labels)];
        assert.deepEqual(names.sort(), [...expected].sort(), `labels of ${sample.name}{${JSON.stringify(sample.labels)}}`);
      }
    }
  });

  test('histograms have the contract buckets', () => {
    const { samples } = parsed;
    for (const [family, spec] of Object.entries(CONTRACT)) {
      if (spec.type !== 'histogram') continue;
      const bucketLines = select(samples, `${family}_bucket`);
      assert.ok(bucketLines.length > 0, `${family} has no series after the mix`);
      const series = JSON.stringify({ ...bucketLines[0].labels, le: undefined });
      const bounds = bucketLines.filter((s) => JSON.stringify({ ...s.labels, le: undefined }) === series).map((s) => parseNumber(s.labels.le));
      assert.deepEqual(bounds, [...spec.buckets, Infinity], `${family} buckets`);
    }
  });

  test('the mix is counted with the label values the contract names', () => {
    const { samples } = parsed;
    const base = { protocol: 'http', aigw_consumer: CONSUMER };
    const requests = (where) => sumOf(samples, 'aigw_requests_total', { ...base, ...where });
    assert.equal(requests({ gen_ai_operation_name: 'chat', stream: 'true', aigw_provider: 'fake-openai', gen_ai_request_model: 'chat-stream', code: '200' }), 1);
    assert.equal(requests({ gen_ai_operation_name: 'chat', stream: 'false', aigw_provider: 'fake-openai', gen_ai_request_model: 'gpt-4o', code: '200' }), 1);
    assert.equal(requests({ gen_ai_operation_name: 'embeddings', stream: 'false', aigw_provider: 'fake-openai', gen_ai_request_model: 'embedder', code: '200' }), 1);
    assert.equal(requests({ gen_ai_operation_name: 'chat', gen_ai_request_model: 'unreachable' }), 1);
    assert.equal(sumOf(samples, 'aigw_requests_total', { aigw_consumer: 'unknown', code: '401' }), 1);

    const ok = { gen_ai_provider_name: 'openai', aigw_provider: 'fake-openai', aigw_consumer: CONSUMER };
    const duration = (where) => select(samples, 'gen_ai_client_operation_duration_seconds_count', where);
    const streamed = duration({ ...ok, gen_ai_operation_name: 'chat', gen_ai_request_model: 'chat-stream', gen_ai_response_model: 'chat-streaming-detailed-usage' });
    assert.equal(streamed.length, 1, 'operation duration of the streamed chat');
    assert.equal(streamed[0].labels.error_type, undefined, 'a successful request has no error_type');
    assert.equal(duration({ ...ok, gen_ai_operation_name: 'embeddings', gen_ai_request_model: 'embedder', gen_ai_response_model: 'embeddings-basic' }).length, 1);
    assert.equal(sumOf(samples, 'gen_ai_client_operation_duration_seconds_count', { gen_ai_request_model: 'unreachable', error_type: 'unavailable', aigw_consumer: CONSUMER }), 1);
    assert.equal(sumOf(samples, 'gen_ai_client_operation_duration_seconds_count', { aigw_consumer: 'unknown', error_type: 'unauthenticated', aigw_provider: 'none', gen_ai_response_model: 'none' }), 1);

    // Tokens as the recorded answers report them.
    const usage = (model, type) => sumOf(samples, 'gen_ai_client_token_usage_sum', { ...ok, gen_ai_request_model: model, gen_ai_token_type: type });
    assert.equal(usage('chat-stream', 'input'), 12);
    assert.equal(usage('chat-stream', 'output'), 100);
    assert.equal(usage('gpt-4o', 'input'), 8);
    assert.equal(usage('gpt-4o', 'output'), 377);
    assert.equal(usage('embedder', 'input'), 7);
    const tokens = (model, kind) => sumOf(samples, 'aigw_tokens_total', { aigw_provider: 'fake-openai', aigw_consumer: CONSUMER, gen_ai_request_model: model, kind });
    assert.equal(tokens('gpt-4o', 'input'), 8);
    assert.equal(tokens('gpt-4o', 'output'), 377);
    assert.equal(tokens('gpt-4o', 'reasoning'), 320);
    assert.equal(tokens('chat-stream', 'output'), 100);

    // Only the successful stream has a time to first token and per output token.
    const streamOnly = { ...ok, gen_ai_operation_name: 'chat', gen_ai_request_model: 'chat-stream' };
    assert.equal(sumOf(samples, 'gen_ai_server_time_to_first_token_seconds_count', {}), 1);
    assert.equal(sumOf(samples, 'gen_ai_server_time_to_first_token_seconds_count', streamOnly), 1);
    assert.equal(sumOf(samples, 'gen_ai_server_time_per_output_token_seconds_count', {}), 1);
    assert.equal(sumOf(samples, 'gen_ai_server_time_per_output_token_seconds_count', streamOnly), 1);
    assert.equal(sumOf(samples, 'aigw_gateway_overhead_seconds_count', { gen_ai_operation_name: 'chat', stream: 'true' }), 1);

    assert.ok(sumOf(samples, 'aigw_upstream_attempts_total', { provider: 'fake-openai', result: 'ok' }) >= 3);
    assert.equal(sumOf(samples, 'aigw_upstream_attempts_total', { provider: 'dead-upstream', result: 'unavailable' }), 1);
    assert.equal(sumOf(samples, 'aigw_streams_active'), 0);
  });

  test('build info and the process families describe this aigw', () => {
    const { samples } = parsed;
    const [info, ...more] = select(samples, 'aigw_build_info');
    assert.equal(more.length, 0);
    assert.equal(info?.value, 1);
    assert.equal(info.labels.version, '0.10.0');
    assert.match(info.labels.revision, /^([0-9a-f]{40}|unknown)$/);
    const value = (name) => select(samples, name)[0]?.value;
    assert.ok(value('process_resident_memory_bytes') > 1e6);
    assert.ok(value('process_virtual_memory_bytes') >= value('process_resident_memory_bytes'));
    assert.ok(value('process_threads') >= 2);
    assert.ok(value('process_open_fds') > 3 && value('process_open_fds') <= value('process_max_fds'));
    assert.ok(value('process_cpu_seconds_total') >= 0);
    const startedAgo = Date.now() / 1000 - value('process_start_time_seconds');
    assert.ok(startedAgo > -2 && startedAgo < 120, `process_start_time_seconds is ${startedAgo} s ago`);
    assert.ok(Date.now() / 1000 - value('aigw_config_last_reload_success_timestamp_seconds') < 120);
  });
});

test('the metric name extractor reads PromQL as PromQL', () => {
  assert.deepEqual(
    metricNames('histogram_quantile(0.99, sum by (le, gen_ai_operation_name) (rate(a_seconds_bucket{code!~"5..", x=~"(y)"}[$__rate_interval])))'),
    ['a_seconds'],
  );
  assert.deepEqual(metricNames('rate(b_total[5m] offset 1h) / on (instance, job) group_left (version) c_info > 0.5'), ['b_total', 'c_info']);
  assert.deepEqual(metricNames('time() - max(d_timestamp_seconds) and e'), ['d_timestamp_seconds', 'e']);
  assert.deepEqual(metricNames('sum without (le) (f_count{job="x"}) or vector(0)'), ['f']);
  assert.deepEqual(metricNames('label_values(g_total{aigw_consumer!=""}, aigw_consumer)'), ['g_total']);
  assert.deepEqual(metricNames('label_values(g_total{a="x, y", b="z"}, aigw_consumer)'), ['g_total']);
  assert.deepEqual(metricNames('label_values(aigw_consumer)'), []);
  assert.deepEqual(metricNames('h[1h30m:1m] + i[5m] offset 1h30m * 1e-3 + 0x1f'), ['h', 'i']);
});

test('every metric the Grafana dashboard queries is exported', () => {
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
  assert.ok(dashboard.schemaVersion >= 36, `schemaVersion ${dashboard.schemaVersion}`);
  const variables = Object.fromEntries((dashboard.templating?.list ?? []).map((v) => [v.name, v]));
  assert.equal(variables.datasource?.type, 'datasource');
  assert.equal(variables.datasource?.query, 'prometheus');
  for (const label of ['aigw_consumer', 'gen_ai_request_model', 'aigw_provider']) {
    assert.match(variables[label]?.query?.query ?? variables[label]?.query ?? '', new RegExp(`^label_values\\(.*, ${label}\\)$`), `templating variable ${label}`);
  }

  const exprs = dashboardExprs(dashboard);
  assert.ok(exprs.length >= 20, `only ${exprs.length} queries found`);
  const names = new Set(exprs.flatMap(metricNames));
  for (const name of names) assert.ok(name in CONTRACT, `the dashboard queries ${name}, which is not in the metrics contract`);
  assert.ok(names.size >= 20, `the dashboard reads only ${[...names].join(', ')}`);
  const missing = [...names].filter((name) => !parsed.types.has(name));
  assert.deepEqual(missing, [], 'dashboard metrics with no # TYPE line in /metrics');
});

test('promtool check metrics finds nothing to lint', (t) => {
  const promtool = requireTool(t, 'promtool');
  if (!promtool) return;
  const result = spawnSync(promtool, ['check', 'metrics'], { input: exposition, encoding: 'utf8', timeout: 10_000 });
  const output = `${result.stdout}${result.stderr}`.trim();
  assert.equal(result.status, 0, `promtool exited ${result.status}: ${output}`);
  assert.equal(output, '');
});

// ------------------------------------------------- a real Prometheus server

async function startPrometheus(binary, scrapeTarget) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aigw-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(config, [
    'global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}',
    'scrape_configs:',
    '  - job_name: aigw',
    `    static_configs: [{targets: ["${scrapeTarget}"]}]`,
    '',
  ].join('\n'));
  const port = await closedPort();
  const child = spawn(binary, [
    `--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text) => (stderr = (stderr + text).slice(-4000)));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  const server = {
    url,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
    // One instant query; resolves with data.result (a vector).
    async query(expr) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = await response.json();
      assert.equal(body.status, 'success', `${expr}: ${JSON.stringify(body)}`);
      return body.data.result;
    },
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await server.stop();
      throw new Error(`prometheus exited: ${stderr}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) return server;
    } catch {}
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`prometheus not ready within 10 s: ${stderr}`);
    }
    await sleep(100);
  }
}

// Polls `expr` until `accept(result)` holds; returns that result.
async function waitForQuery(prometheus, expr, accept, what, timeoutMs = 8_000) {
  const deadline = Date.now() + timeoutMs;
  let result;
  for (;;) {
    result = await prometheus.query(expr);
    if (accept(result)) return result;
    if (Date.now() > deadline) assert.fail(`${what}: ${expr} gave ${JSON.stringify(result)}\n${prometheus.stderr()}`);
    await sleep(200);
  }
}

const finiteScalar = (result) => result.length === 1 && Number.isFinite(Number(result[0].value[1]));

test('a real Prometheus scrapes aigw and answers the dashboard queries', { timeout: 30_000 }, async (t) => {
  const binary = requireTool(t, 'prometheus');
  if (!binary) return;
  const prometheus = await startPrometheus(binary, new URL(gateway.adminUrl).host);
  t.after(() => prometheus.stop());

  // A scrape that sees the first round's series, then a second round, so
  // that rate() has an increase between two samples.
  await waitForQuery(prometheus, 'up{job="aigw"} == 1 and on () count(gen_ai_client_operation_duration_seconds_count{job="aigw"}) > 0',
    (r) => r.length === 1, 'a first scrape');
  await driveTraffic(gateway);

  const p99 = await waitForQuery(prometheus,
    'histogram_quantile(0.99, sum by (le) (rate(gen_ai_client_operation_duration_seconds_bucket[1m])))', finiteScalar, 'p99 operation duration');
  assert.ok(Number(p99[0].value[1]) > 0 && Number(p99[0].value[1]) <= 81.92, `p99 ${p99[0].value[1]}`);
  const ttft = await waitForQuery(prometheus,
    'histogram_quantile(0.5, sum by (le) (rate(gen_ai_server_time_to_first_token_seconds_bucket[1m])))', finiteScalar, 'p50 time to first token');
  assert.ok(Number(ttft[0].value[1]) > 0 && Number(ttft[0].value[1]) <= 10, `TTFT p50 ${ttft[0].value[1]}`);

  const tokens = await prometheus.query('sum by (aigw_consumer, gen_ai_request_model) (gen_ai_client_token_usage_sum)');
  const byModel = Object.fromEntries(tokens.map((s) => [`${s.metric.aigw_consumer}/${s.metric.gen_ai_request_model}`, Number(s.value[1])]));
  for (const model of ['chat-stream', 'gpt-4o', 'embedder']) {
    const value = byModel[`${CONSUMER}/${model}`];
    assert.ok(Number.isFinite(value) && value > 0, `tokens of ${CONSUMER}/${model}: ${JSON.stringify(tokens)}`);
  }
  for (const sample of tokens) assert.deepEqual(Object.keys(sample.metric).sort(), ['aigw_consumer', 'gen_ai_request_model']);

  // Every dashboard query is valid PromQL for this server, its variables set to "all".
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
  for (const expr of dashboardExprs(dashboard).filter((e) => !e.startsWith('label_values('))) {
    await prometheus.query(expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '5m').replace(/\$\w+/g, '.*'));
  }
});
