// Observability end to end: the GenAI metric families after a known mix of
// requests (token sums equal what the fake upstream reported), the access
// log line of every request parsed field by field, x-request-id round
// trips (REST, gRPC, upstream), traceparent propagation and the OTLP/HTTP
// spans a loopback collector receives.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FakeHttpServer, LISTEN_ANY, readJsonBody, sleep, sseEvent } from './fake_common.mjs';
import { chatRequest, grpcClients, postChat, readSse, startGateway } from './harness.mjs';

const USAGE = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };

// An OpenAI-compatible upstream that answers with fixed usage and records
// the headers of every request.
class MeteredUpstream extends FakeHttpServer {
  constructor() {
    super(async (req, res) => {
      const { body } = await readJsonBody(req);
      this.requests.push({ headers: req.headers, body });
      if (req.url.endsWith('/embeddings')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', model: body.model, data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], usage: { prompt_tokens: 5, total_tokens: 5 } }));
        return;
      }
      if (body.model === 'broken') {
        res.writeHead(503, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'overloaded', type: 'server_error' } }));
        return;
      }
      const id = 'chatcmpl-1';
      if (body.stream) {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        for (const word of ['Hello', ' there', ' friend']) {
          res.write(sseEvent({ id, object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta: { content: word }, finish_reason: null }] }));
          await sleep(15);
        }
        res.write(sseEvent({ id, object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
        res.write(sseEvent({ id, object: 'chat.completion.chunk', model: body.model, choices: [], usage: USAGE }));
        res.end(sseEvent('[DONE]'));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ id, object: 'chat.completion', created: 1, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }], usage: USAGE }));
    });
    this.requests = [];
  }
}

// An OTLP/HTTP collector: the JSON bodies POSTed to /v1/traces.
class Collector extends FakeHttpServer {
  constructor() {
    super(async (req, res) => {
      const { body } = await readJsonBody(req);
      this.posts.push({ url: req.url, headers: req.headers, body });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
    this.posts = [];
  }
  spans() {
    return this.posts.flatMap((p) => p.body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
  }
}

let upstream;
let collector;
let gateway;
let logDir;
let logFile;

before(async () => {
  upstream = await new MeteredUpstream().start();
  collector = await new Collector().start();
  logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aigw-access-'));
  logFile = path.join(logDir, 'access.log');
  gateway = await startGateway({
    listen: { ...LISTEN_ANY },
    providers: [
      { name: 'dash"scope', type: 'deepseek', base_url: `${upstream.origin}/v1`, api_keys: ['sk-obs'], model_mapping: { 'gpt-4o': 'qwen-max', broken: 'broken', 'text-embedding-3-small': 'text-embedding-v3' } },
    ],
    consumers: [{ name: 'team-a', api_keys: ['key-a'] }],
    retries: { max_attempts: 1 },
    observability: { access_log: { format: 'json', path: logFile }, otlp: { endpoint: collector.origin, headers: { 'x-collector-token': 'tok' }, sample_ratio: 1.0 } },
  });
});

after(async () => {
  await gateway?.stop();
  await upstream?.stop();
  await collector?.stop();
  if (logDir) fs.rmSync(logDir, { recursive: true, force: true });
});

const AUTH = { Authorization: 'Bearer key-a' };

async function accessLines(count) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const text = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
    const lines = text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
    if (lines.length >= count || Date.now() > deadline) return lines;
    await sleep(50);
  }
}

function metricValue(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const GENAI = 'gen_ai_operation_name="chat",gen_ai_provider_name="deepseek",gen_ai_request_model="gpt-4o",gen_ai_response_model="qwen-max",aigw_provider="dash\\"scope",aigw_consumer="team-a"';

test('a known mix of requests gives exact GenAI metrics, one access-log line each, and spans', async () => {
  // 1: a stream with the client's request id and trace context.
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const streamed = await postChat(gateway.httpUrl, chatRequest('gpt-4o', 'hi', { stream: true, stream_options: { include_usage: true } }), {
    headers: { ...AUTH, 'x-request-id': 'req-stream-1', traceparent: `00-${traceId}-00f067aa0ba902b7-01`, tracestate: 'vendor=1' },
  });
  assert.equal(streamed.status, 200);
  assert.equal(streamed.headers.get('x-request-id'), 'req-stream-1');
  await readSse(streamed);
  // 2: non-streamed, no id: one is made.
  const whole = await postChat(gateway.httpUrl, chatRequest('gpt-4o', 'hi'), { headers: AUTH });
  assert.equal(whole.status, 200);
  const madeId = whole.headers.get('x-request-id');
  assert.match(madeId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  await whole.json();
  // 3: embeddings.
  const embedded = await fetch(`${gateway.httpUrl}/v1/embeddings`, { method: 'POST', headers: { ...AUTH, 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'text-embedding-3-small', input: 'x' }) });
  assert.equal(embedded.status, 200);
  await embedded.json();
  // 4: an upstream failure; 5: an unknown key (no provider); 6: an id that is not sane is replaced.
  const failed = await postChat(gateway.httpUrl, chatRequest('broken', 'hi'), { headers: AUTH });
  assert.equal(failed.status, 502);
  await failed.text();
  const denied = await postChat(gateway.httpUrl, chatRequest('gpt-4o', 'hi'), { headers: { Authorization: 'Bearer wrong' } });
  assert.equal(denied.status, 401);
  assert.ok(denied.headers.get('x-request-id'));
  await denied.text();
  const hostile = await postChat(gateway.httpUrl, chatRequest('made-up-model-xyz', 'hi'), { headers: { ...AUTH, 'x-request-id': 'bad id "with" spaces' } });
  assert.equal(hostile.status, 404);
  assert.notEqual(hostile.headers.get('x-request-id'), 'bad id "with" spaces');
  await hostile.text();

  // The upstream saw the request ids and the trace, with aigw's span as parent.
  const first = upstream.requests[0].headers;
  assert.equal(first['x-request-id'], 'req-stream-1');
  const parts = first.traceparent.split('-');
  assert.equal(parts[1], traceId);
  assert.notEqual(parts[2], '00f067aa0ba902b7');
  assert.equal(parts[3], '01');
  assert.equal(first.tracestate, 'vendor=1');
  assert.equal(upstream.requests[1].headers['x-request-id'], madeId);
  assert.equal(first.authorization, 'Bearer sk-obs');

  const text = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
  assert.equal(metricValue(text, `gen_ai_client_token_usage_sum{${GENAI},gen_ai_token_type="input"}`), 22);
  assert.equal(metricValue(text, `gen_ai_client_token_usage_sum{${GENAI},gen_ai_token_type="output"}`), 14);
  assert.equal(metricValue(text, `gen_ai_client_token_usage_count{${GENAI},gen_ai_token_type="input"}`), 2);
  assert.equal(metricValue(text, `gen_ai_client_operation_duration_seconds_count{${GENAI}}`), 2);
  assert.equal(metricValue(text, `gen_ai_server_time_to_first_token_seconds_count{${GENAI}}`), 1);
  assert.equal(metricValue(text, `gen_ai_server_time_per_output_token_seconds_count{${GENAI}}`), 1);
  const ttftSum = metricValue(text, `gen_ai_server_time_to_first_token_seconds_sum{${GENAI}}`);
  assert.ok(ttftSum > 0 && ttftSum < 1, `ttft ${ttftSum}`);
  assert.equal(metricValue(text, 'gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat",gen_ai_provider_name="deepseek",gen_ai_request_model="broken",gen_ai_response_model="none",aigw_provider="dash\\"scope",aigw_consumer="team-a",error_type="unavailable"}'), 1);
  assert.equal(metricValue(text, 'aigw_requests_total{protocol="http",gen_ai_operation_name="chat",stream="false",aigw_provider="none",aigw_consumer="unknown",gen_ai_request_model="gpt-4o",code="401"}'), 1);
  assert.equal(metricValue(text, 'aigw_requests_total{protocol="http",gen_ai_operation_name="chat",stream="false",aigw_provider="none",aigw_consumer="team-a",gen_ai_request_model="other",code="404"}'), 1);
  assert.equal(metricValue(text, 'aigw_tokens_total{aigw_provider="dash\\"scope",aigw_consumer="team-a",gen_ai_request_model="text-embedding-3-small",kind="input"}'), 5);
  assert.match(text, /^gen_ai_client_operation_duration_seconds_count\{gen_ai_operation_name="embeddings",/m);
  assert.match(text, /^aigw_gateway_overhead_seconds_count\{gen_ai_operation_name="chat",stream="true"\} 1$/m);
  assert.match(text, /^aigw_build_info\{version="[^"]+",revision="[^"]+"\} 1$/m);
  assert.match(text, /^process_resident_memory_bytes \d+/m);
  assert.match(text, /^aigw_config_last_reload_success_timestamp_seconds \d+/m);
  assert.ok(!text.includes('made-up-model-xyz'), 'a client-chosen model name became a label');

  // One access-log line per request, field by field.
  const lines = await accessLines(6);
  assert.equal(lines.length, 6, JSON.stringify(lines));
  const stream = lines.find((l) => l.request_id === 'req-stream-1');
  assert.equal(stream.trace_id, traceId);
  assert.equal(stream.consumer, 'team-a');
  assert.match(stream.client, /^127\.0\.0\.1:\d+$/);
  assert.equal(stream.protocol, 'http');
  assert.equal(stream.method, 'POST');
  assert.equal(stream.path, '/v1/chat/completions');
  assert.equal(stream.operation, 'chat');
  assert.equal(stream.model, 'gpt-4o');
  assert.equal(stream.upstream_model, 'qwen-max');
  assert.equal(stream.provider, 'dash"scope');
  assert.equal(stream.attempts, 1);
  assert.equal(stream.status, 200);
  assert.equal(stream.stream, true);
  assert.equal(stream.input_tokens, 11);
  assert.equal(stream.output_tokens, 7);
  assert.ok(stream.ttft_ms > 0 && stream.ttft_ms <= stream.duration_ms);
  assert.ok(stream.duration_ms >= 30, 'the fake upstream paused 45 ms');
  assert.ok(stream.overhead_us >= 0 && stream.overhead_us < stream.duration_ms * 1000);
  assert.ok(stream.bytes_in > 0 && stream.bytes_out > 0);
  assert.match(stream.ts, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.equal(stream.error_type, undefined);
  const broken = lines.find((l) => l.model === 'broken');
  assert.equal(broken.status, 502);
  assert.equal(broken.error_type, 'unavailable');
  assert.equal(broken.provider, '');
  const deniedLine = lines.find((l) => l.status === 401);
  assert.equal(deniedLine.error_type, 'unauthenticated');
  assert.equal(deniedLine.consumer, undefined);
  assert.ok(!fs.readFileSync(logFile, 'utf8').includes('key-a'), 'a client key in the access log');
  assert.ok(!fs.readFileSync(logFile, 'utf8').includes('sk-obs'), 'a provider key in the access log');

  // The spans: one server span per request, one client span per attempt.
  const deadline = Date.now() + 5000;
  while (collector.spans().length < 11 && Date.now() < deadline) await sleep(100);
  const spans = collector.spans();
  assert.equal(collector.posts[0].url, '/v1/traces');
  assert.equal(collector.posts[0].headers['x-collector-token'], 'tok');
  const server = spans.find((s) => s.traceId === traceId && s.kind === 2);
  assert.ok(server, JSON.stringify(spans));
  assert.equal(server.parentSpanId, '00f067aa0ba902b7');
  assert.equal(server.name, 'chat gpt-4o');
  const attr = (span, key) => span.attributes.find((a) => a.key === key)?.value;
  assert.equal(attr(server, 'gen_ai.provider.name').stringValue, 'deepseek');
  assert.equal(attr(server, 'gen_ai.response.model').stringValue, 'qwen-max');
  assert.equal(attr(server, 'gen_ai.usage.output_tokens').intValue, '7');
  assert.equal(attr(server, 'aigw.request_id').stringValue, 'req-stream-1');
  const client = spans.find((s) => s.traceId === traceId && s.kind === 3);
  assert.equal(client.parentSpanId, server.spanId);
  assert.equal(client.spanId, parts[2], 'the upstream got the attempt span as its parent');
  assert.equal(attr(client, 'server.address').stringValue, '127.0.0.1');
  assert.equal(Number(attr(client, 'server.port').intValue), upstream.port);
  assert.ok(BigInt(client.startTimeUnixNano) >= BigInt(server.startTimeUnixNano));
  const failedSpan = spans.find((s) => s.kind === 2 && attr(s, 'gen_ai.request.model')?.stringValue === 'broken');
  assert.equal(failedSpan.status.code, 2);
  assert.equal(attr(failedSpan, 'error.type').stringValue, 'unavailable');
});

test('gRPC: x-request-id comes back in the initial metadata and reaches the upstream; the access log names the method', async () => {
  const { chat, close } = grpcClients(gateway.grpcAddr);
  try {
    const grpc = await import('@grpc/grpc-js');
    const metadata = new grpc.Metadata();
    metadata.set('authorization', 'Bearer key-a');
    metadata.set('x-request-id', 'grpc-req-7');
    const before = upstream.requests.length;
    const received = await new Promise((resolve, reject) => {
      let headers;
      const call = chat.Stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, metadata);
      call.on('metadata', (m) => (headers = m));
      call.on('data', () => {});
      call.on('error', reject);
      call.on('end', () => resolve(headers));
    });
    assert.equal(received.get('x-request-id')[0], 'grpc-req-7');
    assert.equal(upstream.requests[before].headers['x-request-id'], 'grpc-req-7');
    const lines = await accessLines(7);
    const line = lines.find((l) => l.request_id === 'grpc-req-7');
    assert.equal(line.protocol, 'grpc');
    assert.equal(line.method, '/aigw.v1.ChatCompletions/Stream');
    assert.equal(line.grpc_status, 'OK');
    assert.equal(line.status, 200);
    assert.equal(line.stream, true);
    assert.equal(line.output_tokens, 7);
  } finally {
    close();
  }
});

test('observability.access_log: off writes no line; text format is one key=value line', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aigw-access-'));
  const file = path.join(dir, 'text.log');
  const echo = { name: 'echo', type: 'echo', model_mapping: { '*': '' } };
  const text = await startGateway({ listen: { ...LISTEN_ANY }, providers: [echo], observability: { access_log: { format: 'text', path: file } } });
  const off = await startGateway({ listen: { ...LISTEN_ANY }, providers: [echo], observability: { access_log: 'off' } });
  try {
    for (const g of [text, off]) {
      const response = await postChat(g.httpUrl, chatRequest('echo', 'hello'), { headers: { 'x-request-id': 'text-1' } });
      await response.text();
    }
    await sleep(300);
    const line = fs.readFileSync(file, 'utf8').trim();
    assert.match(line, /^\d{4}-\d{2}-\d{2}T\S+Z request_id=text-1 trace_id=[0-9a-f]{32} client=127\.0\.0\.1:\d+ protocol=http method=POST path=\/v1\/chat\/completions operation=chat model=echo upstream_model=echo provider=echo attempts=1 status=200 stream=false /);
  } finally {
    await text.stop();
    await off.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM: the spans of the last requests reach the collector before aigw exits', async () => {
  const last = await new Collector().start();
  const echo = { name: 'echo', type: 'echo', model_mapping: { '*': '' } };
  // flush_interval is 1 s: without a flush at exit the span would be lost.
  const g = await startGateway({ listen: { ...LISTEN_ANY }, providers: [echo], observability: { access_log: 'off', otlp: { endpoint: last.origin, sample_ratio: 1.0 } } });
  try {
    const response = await postChat(g.httpUrl, chatRequest('echo', 'bye'), { headers: { 'x-request-id': 'last-1' } });
    assert.equal(response.status, 200);
    await response.text();
  } finally {
    await g.stop();
  }
  const ids = last.spans().map((span) => span.attributes.find((a) => a.key === 'aigw.request_id')?.value.stringValue);
  assert.ok(ids.includes('last-1'), JSON.stringify(last.posts));
  await last.stop();
});

test('a request refused by a rate cap after it was read keeps its x-request-id and is recorded', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aigw-access-'));
  const file = path.join(dir, 'access.log');
  const echo = { name: 'echo', type: 'echo', model_mapping: { '*': '' } };
  const g = await startGateway({
    listen: { ...LISTEN_ANY },
    providers: [echo],
    protection: { requests_per_ip_per_second: 1, requests_per_ip_burst: 1, exempt_loopback: false },
    observability: { access_log: { format: 'json', path: file } },
  });
  try {
    const first = await postChat(g.httpUrl, chatRequest('echo', 'hi'), { headers: { 'x-request-id': 'rate-ok-1' } });
    assert.equal(first.status, 200);
    await first.text();
    const limited = await postChat(g.httpUrl, chatRequest('echo', 'hi'), { headers: { 'x-request-id': 'rate-limited-1' } });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('x-request-id'), 'rate-limited-1');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal((await limited.json()).error.code, 'rate_limit_exceeded');
    const models = await fetch(`${g.httpUrl}/v1/models`, { headers: { 'x-request-id': 'rate-limited-2' } });
    assert.equal(models.status, 429);
    assert.equal(models.headers.get('x-request-id'), 'rate-limited-2');
    await models.text();

    const deadline = Date.now() + 5000;
    let lines = [];
    while (Date.now() < deadline) {
      const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      lines = text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
      if (lines.length >= 3) break;
      await sleep(50);
    }
    const chat = lines.find((l) => l.request_id === 'rate-limited-1');
    assert.ok(chat, JSON.stringify(lines));
    assert.equal(chat.status, 429);
    assert.equal(chat.error_type, 'resource_exhausted');
    assert.equal(chat.operation, 'chat');
    assert.equal(chat.path, '/v1/chat/completions');
    const listed = lines.find((l) => l.request_id === 'rate-limited-2');
    assert.equal(listed.status, 429);
    assert.equal(listed.operation, 'models');

    const text = await (await fetch(`${g.adminUrl}/metrics`)).text();
    assert.equal(metricValue(text, 'aigw_requests_total{protocol="http",gen_ai_operation_name="chat",stream="false",aigw_provider="none",aigw_consumer="anonymous",gen_ai_request_model="other",code="429"}'), 1);
  } finally {
    await g.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
