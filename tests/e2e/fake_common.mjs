// What the fake upstreams and the test files share: seeded randomness, the
// small-irregular-writes writer, request reading, OpenAI error/chunk/SSE
// builders, a listening server that tracks its sockets, and the client-side
// helpers the test files repeat. It imports no project module, so every
// fake (and harness.mjs, through fake_upstream.mjs) can import it.
import http from 'node:http';

// ------------------------------------------------------------ fakes

// Deterministic pseudo-random numbers (mulberry32), so a failing split is reproducible.
export function makeRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const nextTick = () => new Promise((resolve) => setImmediate(resolve));

export function readAll(stream) {
  return new Promise((resolve, reject) => {
    const parts = [];
    stream.on('data', (part) => parts.push(part));
    stream.on('end', () => resolve(Buffer.concat(parts)));
    stream.on('error', reject);
  });
}

// The request's body as text and as JSON (null when it is not JSON).
export async function readJsonBody(req) {
  const raw = (await readAll(req)).toString('utf8');
  let body = null;
  try {
    body = JSON.parse(raw);
  } catch {
    body = null;
  }
  return { raw, body };
}

// Writes `text` in pieces of 1..40 bytes, yielding to the event loop between
// them (now and then for 1 ms), so the gateway sees SSE events, JSON
// documents and UTF-8 sequences split at arbitrary bytes.
export async function writeInPieces(res, text, random) {
  const bytes = Buffer.from(text, 'utf8');
  for (let offset = 0; offset < bytes.length && !res.destroyed; ) {
    const size = 1 + Math.floor(random() * 40);
    res.write(bytes.subarray(offset, offset + size));
    offset += size;
    if (random() < 0.1) await sleep(1);
    else await nextTick();
  }
}

// A whole answer: status and headers, `body` in pieces, end.
export async function sendInPieces(res, random, status, headers, body) {
  res.writeHead(status, headers);
  await writeInPieces(res, body, random);
  res.end();
}

export function openaiError(message, type, code) {
  return JSON.stringify({ error: { message, type, param: null, code } });
}

// One OpenAI chat.completion.chunk.
export function chatChunk(id, model, delta, finishReason = null) {
  return {
    id,
    object: 'chat.completion.chunk',
    created: 1755137933,
    model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
}

// One SSE data event: an object as JSON, a string (e.g. "[DONE]") as is.
export const sseEvent = (event) => `data: ${typeof event === 'string' ? event : JSON.stringify(event)}\n\n`;
export const sse = (events) => events.map(sseEvent).join('');

// An HTTP server on an ephemeral 127.0.0.1 port whose stop() also drops the
// connections still open.
export class FakeHttpServer {
  constructor(handler) {
    this.sockets = new Set();
    this.server = http.createServer(handler);
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    this.origin = `http://127.0.0.1:${this.port}`;
    return this;
  }

  async stop() {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  lastRequest() {
    return this.requests.at(-1);
  }
}

// ------------------------------------------------------------ configs

export const LISTEN_ANY = Object.freeze({ http: '127.0.0.1:0', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' });

// ------------------------------------------------------------ SDK streams

// Collects an SDK stream into an array of chunks.
export async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

export const textOf = (chunks) => chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
export const finishReasons = (chunks) => chunks.flatMap((c) => c.choices).map((choice) => choice.finish_reason).filter(Boolean);
