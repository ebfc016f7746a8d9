// The operational log on stderr: one JSON object per line (ts, level, msg
// and fields) by default, plain text with --log-format=text, and
// --log-level drops the less severe lines but never the listening line the
// ports are found by.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runGatewayExpectingExit, startGateway } from './harness.mjs';

// No consumers: the gateway warns that it is open.
const CONFIG = {
  listen: { http: '127.0.0.1:0', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' },
  providers: [{ name: 'echo', type: 'echo', model_mapping: { '*': '' } }],
};
const RFC3339_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function lines(text) {
  return text.split('\n').filter((line) => line.length > 0);
}

test('stderr lines are JSON objects with ts, level and msg; the listening line has the ports as fields', async () => {
  const gateway = await startGateway(CONFIG);
  try {
    while (!/no consumers configured/.test(gateway.stderr())) await sleep(10);
    const records = lines(gateway.stderr()).map((line) => JSON.parse(line));
    for (const record of records) {
      assert.match(record.ts, RFC3339_MS);
      assert.ok(['debug', 'info', 'warn', 'error'].includes(record.level), record.level);
      assert.equal(typeof record.msg, 'string');
    }
    const listening = records.find((r) => r.msg.startsWith('aigw listening '));
    assert.equal(listening.level, 'info');
    assert.equal(`http://${listening.http}`, gateway.httpUrl);
    assert.equal(listening.grpc, gateway.grpcAddr);
    assert.equal(`http://${listening.admin}`, gateway.adminUrl);
    const open = records.find((r) => r.msg.startsWith('no consumers configured'));
    assert.equal(open.level, 'warn');
  } finally {
    await gateway.stop();
  }
});

test('--log-level=error drops info and warn lines but keeps the listening line', async () => {
  const gateway = await startGateway(CONFIG, { args: ['--log-level=error'] });
  try {
    const response = await fetch(`${gateway.adminUrl}/healthz`);
    assert.equal(response.status, 200);
    await response.text();
    await sleep(100);
    const records = lines(gateway.stderr()).map((line) => JSON.parse(line));
    assert.equal(records.length, 1, gateway.stderr());
    assert.match(records[0].msg, /^aigw listening /);
    assert.doesNotMatch(gateway.stderr(), /no consumers configured/);
  } finally {
    await gateway.stop();
  }
});

test('--log-format=text writes "ts level msg key=value" lines', async () => {
  const gateway = await startGateway(CONFIG, { args: ['--log-format=text'] });
  try {
    while (!/no consumers configured/.test(gateway.stderr())) await sleep(10);
    const listening = lines(gateway.stderr()).find((line) => line.includes('aigw listening'));
    const [ts, level, ...rest] = listening.split(' ');
    assert.match(ts, RFC3339_MS);
    assert.equal(level, 'info');
    assert.match(rest.join(' '), /^aigw listening http=\S+ grpc=\S+ admin=\S+ http=\S+ grpc=\S+ admin=\S+$/);
    assert.ok(lines(gateway.stderr()).every((line) => !line.startsWith('{')));
  } finally {
    await gateway.stop();
  }
});

test('an unknown --log-level is a usage error', async () => {
  const { code, stderr } = await runGatewayExpectingExit(['--log-level=loud']);
  assert.equal(code, 2);
  assert.match(stderr, /--log-level must be debug, info, warn or error/);
});
