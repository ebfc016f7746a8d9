// The Anthropic Messages front door with the real @anthropic-ai/sdk: an
// Anthropic client asks for claude-* and Qwen (native DashScope, faked)
// answers — text, streaming, tool use with a tool-result turn, thinking,
// count_tokens, the model list and errors in Anthropic's shape.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { QWEN_KEYS, REJECTING_KEYS, MIDSTREAM_MESSAGE, startFakeDashScope } from './fake_qwen.mjs';
import { LISTEN_ANY } from './fake_common.mjs';
import { CLAUDE_SCRIPTS, countTokens, startFakeClaude } from './fake_claude.mjs';
import { GEMINI_TEXT, GEMINI_THOUGHT, MODELS as GEMINI_MODELS, WEATHER_CALLS, countGeminiTokens, startFakeGemini } from './fake_gemini.mjs';
import { startGateway } from './harness.mjs';

const KEY = 'sk-anthropic-client';
let dashscope;
let claude;
let gemini;
let gateway;
let client;
let contextDir;
const CONTEXT = 'Answer as the Paris office assistant.';

before(async () => {
  dashscope = await startFakeDashScope();
  // Passthrough sends the client's anthropic-version (the SDK's own).
  claude = await startFakeClaude({ keys: ['sk-ant-provider'], version: ['2023-06-01', '2026-10-21'] });
  gemini = await startFakeGemini({ keys: ['AIza-gemini-key'] });
  contextDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aigw-anthropic-ctx-'));
  fs.writeFileSync(path.join(contextDir, 'context.txt'), CONTEXT);
  gateway = await startGateway({
    listen: LISTEN_ANY,
    consumers: [{ name: 'claude-users', api_keys: [KEY] }],
    providers: [
      { name: 'google', type: 'gemini', base_url: `${gemini.origin}/gw`, api_keys: ['AIza-gemini-key'], model_mapping: { 'claude-gemini': GEMINI_MODELS.text, 'claude-gemini-tools': GEMINI_MODELS.tools } },
      { name: 'anthropic', type: 'claude', base_url: claude.origin, api_keys: ['sk-ant-provider'], model_mapping: { 'claude-pass': 'claude-text', 'claude-pass-thinking': 'claude-thinking', 'claude-either': 'claude-text' } },
      // A standing context: the Anthropic body is translated, not passed through.
      { name: 'anthropic-context', type: 'claude', base_url: claude.origin, api_keys: ['sk-ant-provider'], model_mapping: { 'claude-ctx': 'claude-interleaved-tools' }, context: { file: path.join(contextDir, 'context.txt') } },
      { name: 'dashscope-rejecting', type: 'qwen', base_url: dashscope.origin, api_keys: REJECTING_KEYS, model_mapping: { 'claude-limited': 'qwen-http-429' } },
      {
        name: 'dashscope',
        type: 'qwen',
        base_url: dashscope.origin,
        api_keys: QWEN_KEYS,
        model_mapping: { 'claude-either': 'qwen-text', 'claude-sonnet-4': 'qwen-text', 'claude-tools': 'qwen-tools', 'claude-think': 'qwen-think', 'claude-broken': 'qwen-error-midstream' },
      },
    ],
    // Qwen first, Claude when Qwen cannot take the request.
    routes: [{ models: ['claude-either'], providers: ['dashscope'], fallback: ['anthropic'] }],
  });
  client = new Anthropic({ baseURL: gateway.httpUrl, apiKey: KEY, maxRetries: 0 });
});

after(async () => {
  await gateway?.stop();
  await dashscope?.stop();
  await claude?.stop();
  await gemini?.stop();
  if (contextDir) fs.rmSync(contextDir, { recursive: true, force: true });
});

const weatherTool = { name: 'get_weather', description: 'Weather of a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

describe('Anthropic Messages front door', () => {
  test('messages.create: Qwen answers a claude-* request in Anthropic’s shape', async () => {
    const message = await client.messages.create({ model: 'claude-sonnet-4', max_tokens: 100, system: 'Be kind.', messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(message.type, 'message');
    assert.equal(message.role, 'assistant');
    assert.equal(message.model, 'claude-sonnet-4');
    assert.deepEqual(message.content, [{ type: 'text', text: 'Hello from 通义千问!' }]);
    assert.equal(message.stop_reason, 'end_turn');
    assert.equal(message.usage.input_tokens, 12);
    assert.equal(message.usage.output_tokens, 5);
    const upstream = dashscope.requests.at(-1).body;
    assert.equal(upstream.model, 'qwen-text');
    assert.deepEqual(upstream.input.messages[0], { role: 'system', content: 'Be kind.' });
    assert.deepEqual(dashscope.violations, []);
  });

  test('messages.stream: text arrives as deltas; the final message has usage', async () => {
    const stream = client.messages.stream({ model: 'claude-sonnet-4', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] });
    const deltas = [];
    const events = [];
    stream.on('text', (text) => deltas.push(text));
    let started;
    stream.on('streamEvent', (event) => {
      events.push(event.type);
      if (event.type === 'message_start') started = event.message.usage;
    });
    const message = await stream.finalMessage();
    assert.equal(deltas.join(''), 'Hello from 通义千问!');
    // message_start estimates the prompt; message_delta has Qwen's count.
    assert.ok(started.input_tokens > 0, 'an input estimate in message_start');
    assert.ok(deltas.length >= 2, 'several text deltas');
    assert.equal(events[0], 'message_start');
    assert.equal(events.at(-1), 'message_stop');
    assert.ok(events.includes('content_block_start') && events.includes('message_delta'));
    assert.equal(message.usage.output_tokens, 5);
    assert.equal(message.stop_reason, 'end_turn');
  });

  test('tool use streams as tool_use blocks; the tool-result turn reaches Qwen as tool messages', async () => {
    const stream = client.messages.stream({ model: 'claude-tools', max_tokens: 200, tools: [weatherTool], messages: [{ role: 'user', content: 'Weather in Hangzhou and the time?' }] });
    const message = await stream.finalMessage();
    assert.equal(message.stop_reason, 'tool_use');
    const uses = message.content.filter((block) => block.type === 'tool_use');
    assert.deepEqual(uses.map((u) => [u.id, u.name, u.input]), [
      ['call_a1', 'get_weather', { city: '杭州' }],
      ['call_b2', 'get_time', { tz: 'CST' }],
    ]);
    const second = await client.messages.create({
      model: 'claude-sonnet-4',
      max_tokens: 100,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Hangzhou and the time?' },
        { role: 'assistant', content: message.content },
        { role: 'user', content: [
          { type: 'tool_result', tool_use_id: 'call_a1', content: '22°C' },
          { type: 'tool_result', tool_use_id: 'call_b2', content: [{ type: 'text', text: '10:00' }] },
        ] },
      ],
    });
    assert.equal(second.content[0].text, 'Hello from 通义千问!');
    const sent = dashscope.requests.at(-1).body.input.messages;
    const assistant = sent.find((m) => m.role === 'assistant');
    assert.deepEqual(assistant.tool_calls.map((c) => [c.id, c.function.name, JSON.parse(c.function.arguments)]), [
      ['call_a1', 'get_weather', { city: '杭州' }],
      ['call_b2', 'get_time', { tz: 'CST' }],
    ]);
    const results = sent.filter((m) => m.role === 'tool');
    assert.deepEqual(results.map((m) => [m.tool_call_id, m.content]), [['call_a1', '22°C'], ['call_b2', '10:00']]);
  });

  test('thinking streams as a thinking block before the text', async () => {
    const message = await client.messages.stream({ model: 'claude-think', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2048 }, messages: [{ role: 'user', content: '6*7?' }] }).finalMessage();
    assert.deepEqual(message.content.map((b) => b.type), ['thinking', 'text']);
    assert.equal(message.content[0].thinking, 'Six times seven.');
    assert.equal(message.content[0].signature, '', 'Qwen signs nothing');
    assert.equal(message.content[1].text, '42');
    // The budget is DashScope's own thinking switch and budget.
    const { parameters } = dashscope.requests.at(-1).body;
    assert.equal(parameters.enable_thinking, true);
    assert.equal(parameters.thinking_budget, 2048);
    // A thinking block sent back (another provider's, unsigned) is accepted.
    const again = await client.messages.create({
      model: 'claude-think', max_tokens: 4000, thinking: { type: 'disabled' },
      messages: [{ role: 'user', content: '6*7?' }, { role: 'assistant', content: message.content }, { role: 'user', content: 'And 6*8?' }],
    });
    assert.equal(again.type, 'message');
    assert.equal(dashscope.requests.at(-1).body.parameters.enable_thinking, false);
    // Passed through to Claude, the unsigned thinking is left out (Claude
    // refuses it); the rest of the turn goes as sent.
    const rejected = claude.rejected.length;
    const passed = await client.messages.create({
      model: 'claude-pass', max_tokens: 100,
      messages: [{ role: 'user', content: '6*7?' }, { role: 'assistant', content: message.content }, { role: 'user', content: 'And 6*8?' }],
    });
    assert.equal(passed.type, 'message');
    assert.equal(claude.rejected.length, rejected, claude.rejected.join('; '));
    assert.deepEqual(claude.requests.at(-1).body.messages[1].content, [{ type: 'text', text: '42' }]);
  });

  test('countTokens and models.list', async () => {
    const before = dashscope.requests.length;
    const counted = await client.messages.countTokens({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'count the tokens of this prompt please' }] });
    assert.ok(counted.input_tokens > 0 && counted.input_tokens < 100, `the gateway's estimate: ${counted.input_tokens}`);
    assert.equal(dashscope.requests.length, before, 'Qwen is not called to count');
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    assert.ok(ids.includes('claude-sonnet-4'), ids.join(','));
    const one = await client.models.retrieve('claude-sonnet-4');
    assert.equal(one.type, 'model');
    assert.equal(one.id, 'claude-sonnet-4');
    await assert.rejects(client.models.retrieve('no-such-model'), (err) => err instanceof Anthropic.NotFoundError && err.error?.type === 'error');
  });

  test('errors come in Anthropic’s shape and classes', async () => {
    const wrong = new Anthropic({ baseURL: gateway.httpUrl, apiKey: 'sk-wrong', maxRetries: 0 });
    await assert.rejects(wrong.messages.create({ model: 'claude-sonnet-4', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      (err) => err instanceof Anthropic.AuthenticationError && err.status === 401 && err.error?.type === 'error');
    await assert.rejects(client.messages.create({ model: 'claude-limited', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      (err) => err instanceof Anthropic.RateLimitError && err.error?.error?.type === 'rate_limit_error');
    await assert.rejects(client.messages.create({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'x' }] }),
      (err) => err instanceof Anthropic.BadRequestError && /max_tokens/.test(err.message));
    const broken = client.messages.stream({ model: 'claude-broken', max_tokens: 50, messages: [{ role: 'user', content: 'story' }] });
    const seen = [];
    broken.on('text', (t) => seen.push(t));
    await assert.rejects(broken.finalMessage(), (err) => err.message.includes(MIDSTREAM_MESSAGE));
    assert.equal(seen.join(''), 'Once upon a time');
  });
});

describe('Anthropic client → claude provider: passthrough', () => {
  test('the client’s body and beta header reach Claude unchanged but for the model; its answer comes back as sent', async () => {
    const message = await client.messages.create({
      model: 'claude-pass',
      max_tokens: 100,
      system: [{ type: 'text', text: 'Cached preamble.', cache_control: { type: 'ephemeral' } }],
      metadata: { user_id: 'user-7' },
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi', cache_control: { type: 'ephemeral' } }] }],
    }, { headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } });
    const sent = claude.requests.at(-1);
    assert.equal(sent.body.model, 'claude-text');
    assert.deepEqual(sent.body.system, [{ type: 'text', text: 'Cached preamble.', cache_control: { type: 'ephemeral' } }]);
    assert.deepEqual(sent.body.messages[0].content[0].cache_control, { type: 'ephemeral' });
    assert.deepEqual(sent.body.metadata, { user_id: 'user-7' });
    assert.equal(sent.headers['anthropic-beta'], 'prompt-caching-2024-07-31');
    assert.equal(sent.headers['x-api-key'], 'sk-ant-provider');
    assert.equal(sent.headers['anthropic-version'], '2026-10-21', 'the client’s API version');
    assert.deepEqual(claude.rejected, []);
    assert.equal(message.model, 'claude-pass');
    assert.equal(message.content[0].text, CLAUDE_SCRIPTS['claude-text'].content[0].text);
    // Fields aigw does not model arrive as Claude sent them.
    assert.equal(message.usage.cache_creation_input_tokens, 0);
    assert.equal(message.usage.cache_read_input_tokens, 4);
  });

  test('countTokens: Claude counts the body as sent (model mapped, beta header on)', async () => {
    const messages = [{ role: 'user', content: [{ type: 'text', text: 'count me', cache_control: { type: 'ephemeral' } }] }];
    const counted = await client.messages.countTokens({ model: 'claude-pass', messages, system: 'Be brief.' }, { headers: { 'anthropic-beta': 'token-counting-2024-11-01' } });
    assert.equal(counted.input_tokens, countTokens({ messages }));
    const sent = claude.requests.at(-1);
    assert.equal(sent.path, '/v1/messages/count_tokens');
    assert.equal(sent.body.model, 'claude-text');
    assert.equal(sent.body.system, 'Be brief.');
    assert.deepEqual(sent.body.messages, messages);
    assert.equal(sent.headers['anthropic-beta'], 'token-counting-2024-11-01');
    assert.equal(sent.headers['x-api-key'], 'sk-ant-provider');
    assert.deepEqual(claude.rejected, []);
  });

  test('documents and server tools reach Claude as sent; elsewhere they are a 400 naming the block', async () => {
    const document = { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Aigw is a gateway.' }, citations: { enabled: true } };
    const tools = [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }];
    const messages = [{ role: 'user', content: [document, { type: 'text', text: 'Sum up' }] }];
    const message = await client.messages.create({ model: 'claude-pass', max_tokens: 100, tools, messages });
    assert.equal(message.content[0].text, CLAUDE_SCRIPTS['claude-text'].content[0].text);
    const sent = claude.requests.at(-1).body;
    assert.deepEqual(sent.messages, messages);
    assert.deepEqual(sent.tools, tools);
    await assert.rejects(client.messages.create({ model: 'claude-sonnet-4', max_tokens: 100, messages }),
      (err) => err instanceof Anthropic.BadRequestError && /messages\[0\]\.content\[0\]\.type/.test(err.message) && /document/.test(err.message));
    // A candidate that cannot translate it passes the request on to one
    // that takes the body as sent, without spending an attempt on it.
    const qwenCalls = dashscope.requests.length;
    const { data, response } = await client.messages.create({ model: 'claude-either', max_tokens: 100, tools, messages }).withResponse();
    assert.equal(data.content[0].text, CLAUDE_SCRIPTS['claude-text'].content[0].text);
    assert.equal(response.headers.get('x-aigw-provider'), 'anthropic');
    assert.equal(dashscope.requests.length, qwenCalls, 'Qwen is not called');
    assert.deepEqual(claude.requests.at(-1).body.messages, messages);
  });

  test('a tool-result turn for a tool_use turn another provider served (unsigned thinking) reaches Claude with thinking off, reported', async () => {
    const rejected = claude.rejected.length;
    const { data, response } = await client.messages.create({
      model: 'claude-pass', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 1024 }, tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'Qwen thought.', signature: '' }, { type: 'tool_use', id: 'call_qwen_1', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_qwen_1', content: '18C' }] },
      ],
    }).withResponse();
    assert.equal(data.type, 'message');
    assert.equal(claude.rejected.length, rejected, claude.rejected.join('; '));
    const sent = claude.requests.at(-1).body;
    assert.equal(sent.thinking, undefined);
    assert.deepEqual(sent.messages[1].content, [{ type: 'tool_use', id: 'call_qwen_1', name: 'get_weather', input: { city: 'Paris' } }]);
    assert.equal(response.headers.get('x-aigw-dropped-params'), 'thinking');
  });

  test('a stream keeps Claude’s events: thinking with its signature, the thinking parameter sent on', async () => {
    const stream = client.messages.stream({
      model: 'claude-pass-thinking',
      max_tokens: 2000,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [{ role: 'user', content: '27 * 453?' }],
    });
    const types = [];
    stream.on('streamEvent', (event) => types.push(event.type));
    const message = await stream.finalMessage();
    const script = CLAUDE_SCRIPTS['claude-thinking'].content;
    assert.equal(message.model, 'claude-pass-thinking');
    assert.equal(message.content[0].type, 'thinking');
    assert.equal(message.content[0].thinking, script[0].thinking);
    assert.equal(message.content[0].signature, script[0].signature);
    assert.equal(message.content[1].text, script[1].text);
    assert.ok(types.includes('content_block_stop') && types.at(-1) === 'message_stop');
    assert.deepEqual(claude.requests.at(-1).body.thinking, { type: 'enabled', budget_tokens: 1024 });
    assert.equal(claude.requests.at(-1).body.stream, true);
  });

  test('translated to Claude (a standing context): adaptive thinking as itself, interleaved thinking back in its places', async () => {
    const tools = [weatherTool, { name: 'get_time', description: 'Time in a zone', input_schema: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] } }];
    const script = CLAUDE_SCRIPTS['claude-interleaved-tools'].content;
    const question = { role: 'user', content: 'Weather and time in Paris?' };
    const first = await client.messages.stream({ model: 'claude-ctx', max_tokens: 4000, thinking: { type: 'adaptive' }, tools, messages: [question] }).finalMessage();
    assert.deepEqual(first.content.map((b) => b.type), ['thinking', 'tool_use', 'thinking', 'tool_use']);
    assert.deepEqual(first.content.map((b) => b.signature ?? b.id), script.map((b) => b.signature ?? b.id));
    assert.equal(first.stop_reason, 'tool_use');
    let sent = claude.requests.at(-1).body;
    assert.deepEqual(sent.thinking, { type: 'adaptive' });
    assert.ok(JSON.stringify(sent.system).includes(CONTEXT), 'the context reached Claude');
    const rejected = claude.rejected.length;
    await client.messages.create({
      model: 'claude-ctx', max_tokens: 4000, thinking: { type: 'adaptive' }, tools,
      messages: [question, { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: script[1].id, content: '18C' }, { type: 'tool_result', tool_use_id: script[3].id, content: '10:00' }] }],
    });
    assert.equal(claude.rejected.length, rejected, claude.rejected.join('; '));
    sent = claude.requests.at(-1).body;
    assert.deepEqual(sent.messages[1].content, script);
    assert.deepEqual(sent.thinking, { type: 'adaptive' });
  });

  test('the raw stream is Claude’s, ping included, with the client’s model name', async () => {
    const response = await fetch(`${gateway.httpUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-pass', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(text, /^event: message_start\ndata: /);
    assert.match(text, /event: ping\ndata: /);
    assert.ok(text.includes('"model":"claude-pass"') && !text.includes('"model":"claude-text"'), 'model renamed');
    assert.match(text, /event: message_stop\ndata: \{"type":"message_stop"\}\n\n$/);
    assert.equal((text.match(/event: message_stop/g) ?? []).length, 1, 'one message_stop');
  });
});

describe('Anthropic client → gemini provider', () => {
  test('thinking and text stream as Anthropic blocks', async () => {
    const message = await client.messages.stream({ model: 'claude-gemini', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 3000 }, messages: [{ role: 'user', content: 'Bonjour' }] }).finalMessage();
    assert.deepEqual(gemini.requests.at(-1).body.generationConfig.thinkingConfig, { thinkingBudget: 3000, includeThoughts: true });
    assert.deepEqual(message.content.map((b) => b.type), ['thinking', 'text']);
    assert.equal(message.content[0].thinking, GEMINI_THOUGHT);
    assert.equal(message.content[1].text, GEMINI_TEXT.join(''));
    assert.equal(message.model, 'claude-gemini');
  });

  test('tool use and a tool-result turn: Gemini gets function responses paired with its calls', async () => {
    const tools = [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } } } }];
    const first = await client.messages.stream({ model: 'claude-gemini-tools', max_tokens: 100, tools, messages: [{ role: 'user', content: 'Weather in Paris and Tokyo?' }] }).finalMessage();
    assert.equal(first.stop_reason, 'tool_use');
    const uses = first.content.filter((b) => b.type === 'tool_use');
    assert.deepEqual(uses.map((u) => u.input), WEATHER_CALLS.map((c) => c.args));
    assert.ok(uses.every((u) => typeof u.id === 'string' && u.id.length > 0));
    const second = await client.messages.create({
      model: 'claude-gemini-tools', max_tokens: 100, tools,
      messages: [
        { role: 'user', content: 'Weather in Paris and Tokyo?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: uses.map((u, i) => ({ type: 'tool_result', tool_use_id: u.id, content: i === 0 ? '18C' : '22C' })) },
      ],
    });
    assert.equal(second.content[0].type, 'text');
    assert.match(second.content[0].text, /18C/);
    assert.deepEqual(gemini.violations ?? [], []);
  });

  test('countTokens: Gemini counts the translated request (system and tools included) with its countTokens', async () => {
    const tools = [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];
    const counted = await client.messages.countTokens({ model: 'claude-gemini', system: 'Be brief.', tools, messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    const sent = gemini.requests.at(-1);
    assert.equal(sent.method_name, 'countTokens');
    assert.equal(sent.body.generateContentRequest.model, `models/${GEMINI_MODELS.text}`);
    assert.ok(JSON.stringify(sent.body.generateContentRequest.systemInstruction).includes('Be brief.'));
    assert.equal(sent.body.generateContentRequest.tools[0].functionDeclarations[0].name, 'get_weather');
    assert.deepEqual(counted, { input_tokens: countGeminiTokens(sent.body.generateContentRequest) });
  });
});
