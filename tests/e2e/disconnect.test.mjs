// A client that leaves mid-stream must free the upstream connection at once,
// whether the upstream is still talking or silent, over REST and gRPC.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { startFakeUpstream } from './fake_upstream.mjs';
import { chatRequest, grpcClients, postChat, sseData, standardConfig, startGateway } from './harness.mjs';

const CLOSE_WITHIN_MS = 100;

let upstream;
let gateway;
let clients;

before(async () => {
  upstream = await startFakeUpstream();
  // A long read timeout, so that only the client's departure can close the upstream connection.
  gateway = await startGateway(await standardConfig(upstream, { readTimeout: '30s' }));
  clients = grpcClients(gateway.grpcAddr);
});

after(async () => {
  clients?.close();
  await upstream?.stop();
  await gateway?.stop(); // last: it throws if aigw crashed during the tests
});

beforeEach(() => upstream.clear());

// Streams `model` over REST, aborts after `events` SSE events (and `pauseMs`),
// and returns the time of the abort.
async function abortRestStreamAfter(model, events, pauseMs = 0) {
  const controller = new AbortController();
  const response = await postChat(gateway.httpUrl, chatRequest(model, 'hi', { stream: true }), { signal: controller.signal });
  assert.equal(response.status, 200);
  let seen = 0;
  const reader = sseData(response);
  while (seen < events) {
    const { done } = await reader.next();
    assert.ok(!done, `stream ended after ${seen} events`);
    seen++;
  }
  await new Promise((resolve) => setTimeout(resolve, pauseMs));
  const abortedAt = performance.now();
  controller.abort();
  await reader.return().catch(() => {});
  return abortedAt;
}

// Asserts the upstream connection for `model` closed within CLOSE_WITHIN_MS of `abortedAt`.
async function assertUpstreamClosedSoonAfter(model, abortedAt) {
  assert.equal(upstream.requestsFor(model).length, 1, 'exactly one upstream request');
  const { closedAt } = await upstream.waitForClose(model, 5_000);
  const delay = closedAt - abortedAt;
  assert.ok(delay < CLOSE_WITHIN_MS, `upstream connection closed ${Math.round(delay)} ms after the client left`);
}

async function assertGatewayStillServes() {
  const response = await postChat(gateway.httpUrl, chatRequest('gpt-4o', 'Hello!'));
  assert.equal(response.status, 200, await response.clone().text());
  assert.equal((await response.json()).model, 'gpt-4o');
}

test('REST client leaving a streaming upstream closes the upstream connection', async () => {
  const abortedAt = await abortRestStreamAfter('slow-forever', 2);
  await assertUpstreamClosedSoonAfter('slow-forever', abortedAt);
  await assertGatewayStillServes();
});

test('REST client leaving while the upstream is silent closes the upstream connection', async () => {
  const abortedAt = await abortRestStreamAfter('stall-after-first', 1, 300);
  await assertUpstreamClosedSoonAfter('stall-after-first', abortedAt);
  await assertGatewayStillServes();
});

test('REST client leaving before the upstream answers closes the upstream connection', async () => {
  const controller = new AbortController();
  const pending = postChat(gateway.httpUrl, chatRequest('hang', 'hi'), { signal: controller.signal });
  while (upstream.requestsFor('hang').length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  const abortedAt = performance.now();
  controller.abort();
  await assert.rejects(pending, { name: 'AbortError' });
  await assertUpstreamClosedSoonAfter('hang', abortedAt);
  await assertGatewayStillServes();
});

// Starts a gRPC stream of `model`, cancels it after `chunks` messages (and `pauseMs`), returns the time of the cancel.
function cancelGrpcStreamAfter(model, chunks, pauseMs = 0) {
  return new Promise((resolve, reject) => {
    const call = clients.chat.Stream(chatRequest(model, 'hi'), { deadline: new Date(Date.now() + 10_000) });
    let seen = 0;
    call.on('data', () => {
      if (++seen !== chunks) return;
      setTimeout(() => {
        const cancelledAt = performance.now();
        call.cancel();
        resolve(cancelledAt);
      }, pauseMs);
    });
    call.on('error', (err) => {
      if (err.code !== 1 /* CANCELLED */) reject(err);
    });
    call.on('end', () => reject(new Error(`stream ended after ${seen} chunks`)));
  });
}

test('gRPC client cancelling a streaming upstream closes the upstream connection', async () => {
  const cancelledAt = await cancelGrpcStreamAfter('slow-forever', 2);
  await assertUpstreamClosedSoonAfter('slow-forever', cancelledAt);
  await assertGatewayStillServes();
});

test('gRPC client cancelling while the upstream is silent closes the upstream connection', async () => {
  const cancelledAt = await cancelGrpcStreamAfter('stall-after-first', 1, 300);
  await assertUpstreamClosedSoonAfter('stall-after-first', cancelledAt);
  await assertGatewayStillServes();
});
