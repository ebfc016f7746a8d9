// The Anthropic Messages front door with the real @anthropic-ai/sdk: an
// Anthropic client asks for claude-* and Qwen (native DashScope, faked)
// answers — text, streaming, tool use with a tool-result turn, thinking,
// count_tokens, the model list and errors in Anthropic's shape.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { QWEN_KEYS, REJECTING_KEYS, MIDSTREAM_MESSAGE, startFakeDashScope } from './fake_qwen.mjs';
import { LISTEN_ANY } from './fake_common.mjs';
import { startGateway } from './harness.mjs';

const KEY = 'sk-anthropic-client';
let dashscope;
let gateway;
let client;

before(async () => {
  dashscope = await startFakeDashScope();
  gateway = await startGateway({
    listen: LISTEN_ANY,
    consumers: [{ name: 'claude-users', api_keys: [KEY] }],
    providers: [
      { name: 'dashscope-rejecting', type: 'qwen', base_url: dashscope.origin, api_keys: REJECTING_KEYS, model_mapping: { 'claude-limited': 'qwen-http-429' } },
      {
        name: 'dashscope',
        type: 'qwen',
        base_url: dashscope.origin,
        api_keys: QWEN_KEYS,
        model_mapping: { 'claude-sonnet-4': 'qwen-text', 'claude-tools': 'qwen-tools', 'claude-think': 'qwen-think', 'claude-broken': 'qwen-error-midstream' },
      },
    ],
  });
  client = new Anthropic({ baseURL: gateway.httpUrl, apiKey: KEY, maxRetries: 0 });
});

after(async () => {
  await gateway?.stop();
  await dashscope?.stop();
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
    stream.on('streamEvent', (event) => events.push(event.type));
    const message = await stream.finalMessage();
    assert.equal(deltas.join(''), 'Hello from 通义千问!');
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
    const message = await client.messages.stream({ model: 'claude-think', max_tokens: 100, messages: [{ role: 'user', content: '6*7?' }] }).finalMessage();
    assert.deepEqual(message.content.map((b) => b.type), ['thinking', 'text']);
    assert.equal(message.content[0].thinking, 'Six times seven.');
    assert.equal(message.content[1].text, '42');
  });

  test('countTokens and models.list', async () => {
    const counted = await client.messages.countTokens({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'count the tokens of this prompt please' }] });
    assert.ok(counted.input_tokens > 0);
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    assert.ok(ids.includes('claude-sonnet-4'), ids.join(','));
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
