// aigw-cli end to end: the real binary against a real aigw (its echo
// provider spaces its words, so streaming is visible) and a fake
// OpenAI-compatible upstream that records what reached it. Output goes to
// a pipe and to a pseudo-terminal (util-linux `script`); errors must be one
// clear line and the exit code of their class.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FakeHttpServer, LISTEN_ANY, readJsonBody, sse, chatChunk, openaiError } from './fake_common.mjs';
import { REPO_ROOT, closedPort, startGateway } from './harness.mjs';

const CLI = process.env.AIGW_CLI || path.join(REPO_ROOT, 'bazel-bin/client/aigw-cli');
const KEY = 'cli-test-key';
const WORD_DELAY_MS = 150;

// Runs aigw-cli; resolves with its exit code, output, and when each stdout piece arrived.
function runCli(args, { stdin = null, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(CLI, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const pieces = [];
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (text) => {
      pieces.push({ at: Date.now() - started, text });
      stdout += text;
    });
    child.stderr.on('data', (text) => (stderr += text));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr, pieces, elapsed: Date.now() - started }));
    if (stdin !== null) child.stdin.end(stdin);
    else child.stdin.end();
  });
}

class RecordingUpstream extends FakeHttpServer {
  constructor() {
    super((req, res) => this.#handle(req, res));
    this.requests = [];
  }

  async #handle(req, res) {
    const { body } = await readJsonBody(req);
    this.requests.push({ path: req.url, headers: req.headers, body });
    const json = (status, value) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (req.url === '/v1/embeddings') {
      return json(200, { object: 'list', model: body.model, data: body.input.map((_, i) => ({ object: 'embedding', index: i, embedding: [i, 0.25] })), usage: { prompt_tokens: 2, total_tokens: 2 } });
    }
    if (body.model === 'broken') return json(503, openaiError('The upstream is overloaded.', 'server_error', null));
    if (body.model === 'bad-request') return json(400, openaiError('Invalid value for temperature.', 'invalid_request_error', 'invalid_value'));
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.end(sse([
      chatChunk('rec-1', body.model, { role: 'assistant', content: '' }),
      chatChunk('rec-1', body.model, { content: 'recorded' }),
      chatChunk('rec-1', body.model, {}, 'stop'),
      { id: 'rec-1', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } },
      '[DONE]',
    ]));
  }
}

let upstream;
let gateway;

before(async () => {
  upstream = await new RecordingUpstream().start();
  gateway = await startGateway({
    listen: LISTEN_ANY,
    consumers: [
      { name: 'cli', api_keys: [KEY] },
      { name: 'limited', api_keys: ['limited-key'], limits: { requests_per_minute: 1 } },
    ],
    providers: [
      { name: 'upstream', type: 'deepseek', base_url: `${upstream.origin}/v1`, api_keys: ['sk-upstream'], models: ['broken', 'bad-request', 'recorder', 'text-embedding-3-small'] },
      { name: 'echo', type: 'echo', delay_ms: WORD_DELAY_MS, models: ['gpt-4o', 'echo-fast'] },
    ],
  });
});

after(async () => {
  await gateway?.stop();
  await upstream?.stop();
});

const rest = () => [`--target=${gateway.httpUrl}`, `--api-key=${KEY}`];
const grpcArgs = () => ['--grpc', `--target=${gateway.grpcAddr}`, `--api-key=${KEY}`];

// The answer arrived in several pieces, the first well before the end.
function assertStreamed(result, words) {
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `${words.join(' ')}\n`);
  assert.ok(result.pieces.length >= 3, `streamed in ${result.pieces.length} pieces`);
  const first = result.pieces[0].at;
  const last = result.pieces.at(-1).at;
  assert.ok(last - first >= (words.length - 2) * WORD_DELAY_MS * 0.8, `pieces spread over ${last - first} ms`);
}

describe('aigw-cli chat', () => {
  const words = ['one', 'two', 'three', 'four', 'five'];

  test('REST: the answer streams to a pipe token by token', async () => {
    assertStreamed(await runCli([...rest(), 'chat', '-m', 'gpt-4o', ...words]), words);
  });

  test('gRPC: the answer streams to a pipe token by token', async () => {
    assertStreamed(await runCli([...grpcArgs(), 'chat', '-m', 'gpt-4o', ...words]), words);
  });

  test('on a pseudo-terminal the words appear as they arrive', async () => {
    const command = [CLI, ...rest(), 'chat', '-m', 'gpt-4o', ...words].map((a) => `'${a}'`).join(' ');
    const result = await new Promise((resolve, reject) => {
      const started = Date.now();
      const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const pieces = [];
      let stdout = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (text) => {
        pieces.push(Date.now() - started);
        stdout += text;
      });
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, stdout, pieces }));
    });
    assert.equal(result.code, 0);
    assert.equal(result.stdout.replace(/\r/g, ''), `${words.join(' ')}\n`);
    assert.ok(result.pieces.length >= 3, `pty got ${result.pieces.length} pieces`);
  });

  test('the prompt is read from stdin when none is given; the key from AIGW_API_KEY', async () => {
    const result = await runCli([`--target=${gateway.httpUrl}`, 'chat', '-m', 'echo-fast'], { stdin: 'words from stdin\n', env: { AIGW_API_KEY: KEY } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'words from stdin');
  });

  for (const transport of ['REST', 'gRPC']) {
    test(`${transport}: --system and --max-tokens reach the upstream; --json prints raw chunks with usage`, async () => {
      const args = transport === 'REST' ? rest() : grpcArgs();
      const result = await runCli([...args, 'chat', '-m', 'recorder', '--system=Be brief.', '--max-tokens=7', '--json', 'Hi']);
      assert.equal(result.code, 0, result.stderr);
      const request = upstream.requests.at(-1).body;
      assert.deepEqual(request.messages, [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }]);
      assert.equal(request.max_tokens, 7);
      const chunks = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
      assert.equal(chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join(''), 'recorded');
      assert.equal(chunks.at(-1).usage.total_tokens, 4);
      assert.equal(upstream.requests.at(-1).headers.authorization, 'Bearer sk-upstream');
    });
  }

  test('--no-stream prints the whole answer', async () => {
    const result = await runCli([...rest(), 'chat', '--no-stream', '-m', 'echo-fast', 'all', 'at', 'once']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'all at once\n');
  });
});

describe('aigw-cli models and embed', () => {
  for (const transport of ['REST', 'gRPC']) {
    test(`${transport}: models lists every model with its provider`, async () => {
      const result = await runCli([...(transport === 'REST' ? rest() : grpcArgs()), 'models']);
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.trim().split('\n');
      assert.ok(lines.includes('gpt-4o\techo'), result.stdout);
      assert.ok(lines.includes('recorder\tupstream'), result.stdout);
    });

    test(`${transport}: embed prints one vector per text`, async () => {
      const result = await runCli([...(transport === 'REST' ? rest() : grpcArgs()), 'embed', 'first', 'second']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.stdout.trim().split('\n').map((line) => JSON.parse(line)), [[0, 0.25], [1, 0.25]]);
      assert.deepEqual(upstream.requests.at(-1).body.input, ['first', 'second']);
    });
  }
});

test('the example internal service (deploy/examples/grpc-client) streams through the client library', async () => {
  const binary = path.join(REPO_ROOT, 'bazel-bin/deploy/examples/grpc-client/summarizer');
  const result = await new Promise((resolve, reject) => {
    const child = spawn(binary, [], { env: { AIGW_TARGET: gateway.grpcAddr, AIGW_API_KEY: KEY }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (text) => (stdout += text));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout }));
    child.stdin.end('a text to summarize');
  });
  assert.equal(result.code, 0);
  assert.equal(result.stdout, 'a text to summarize\n');
});

describe('aigw-cli errors: one line and an exit code per class', () => {
  const assertOneLine = (result, pattern) => {
    assert.equal(result.stdout, '');
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line, got: ${result.stderr}`);
    assert.match(lines[0], pattern);
  };

  test('an unreachable gateway: exit 3 naming the target (REST and gRPC)', async () => {
    const port = await closedPort();
    const viaRest = await runCli([`--target=http://127.0.0.1:${port}`, 'chat', 'hi']);
    assert.equal(viaRest.code, 3);
    assertOneLine(viaRest, new RegExp(`^aigw-cli: cannot reach the gateway at http://127\\.0\\.0\\.1:${port}`));
    const viaGrpc = await runCli(['--grpc', `--target=127.0.0.1:${port}`, 'chat', 'hi']);
    assert.equal(viaGrpc.code, 3);
    assertOneLine(viaGrpc, new RegExp(`^aigw-cli: cannot reach the gateway at 127\\.0\\.0\\.1:${port}`));
  });

  test('a refused key: exit 4 (REST and gRPC)', async () => {
    for (const args of [[`--target=${gateway.httpUrl}`], ['--grpc', `--target=${gateway.grpcAddr}`]]) {
      const result = await runCli([...args, '--api-key=wrong', 'chat', 'hi']);
      assert.equal(result.code, 4, result.stderr);
      assertOneLine(result, /invalid_api_key/);
    }
  });

  test('a bad request: exit 5; a bad flag: exit 2 with the usage', async () => {
    const bad = await runCli([...rest(), 'chat', '-m', 'bad-request', 'hi']);
    assert.equal(bad.code, 5, bad.stderr);
    assertOneLine(bad, /Invalid value for temperature/);
    const usage = await runCli(['chat', '--max-tokens=lots', 'hi']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--max-tokens wants a positive number/);
    assert.match(usage.stderr, /usage: aigw-cli/);
  });

  test('rate limited: exit 6 (REST and gRPC)', async () => {
    const first = await runCli([`--target=${gateway.httpUrl}`, '--api-key=limited-key', 'chat', '-m', 'echo-fast', 'hi']);
    assert.equal(first.code, 0, first.stderr);
    const viaRest = await runCli([`--target=${gateway.httpUrl}`, '--api-key=limited-key', 'chat', '-m', 'echo-fast', 'hi']);
    assert.equal(viaRest.code, 6, viaRest.stderr);
    assertOneLine(viaRest, /rate_limit_exceeded/);
    const viaGrpc = await runCli(['--grpc', `--target=${gateway.grpcAddr}`, '--api-key=limited-key', 'chat', '-m', 'echo-fast', 'hi']);
    assert.equal(viaGrpc.code, 6, viaGrpc.stderr);
  });

  test('an upstream failure: exit 7 (REST and gRPC)', async () => {
    const viaRest = await runCli([...rest(), 'chat', '-m', 'broken', 'hi']);
    assert.equal(viaRest.code, 7, viaRest.stderr);
    assertOneLine(viaRest, /overloaded/);
    const viaGrpc = await runCli([...grpcArgs(), 'chat', '-m', 'broken', 'hi']);
    assert.equal(viaGrpc.code, 7, viaGrpc.stderr);
  });
});
