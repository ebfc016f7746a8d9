// The OpenAI Responses front door with real clients: the openai SDK's
// responses.create / responses.stream and the AI SDK's default
// `openai(model)` (which speaks /v1/responses), with tools over two steps,
// against native Qwen (a fake DashScope).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { QWEN_KEYS, startFakeDashScope } from './fake_qwen.mjs';
import { LISTEN_ANY } from './fake_common.mjs';
import { CLAUDE_SCRIPTS, startFakeClaude } from './fake_claude.mjs';
import { PASS_TEXT, RESPONSES_KEY, startFakeOpenAiResponses } from './fake_openai_responses.mjs';
import { startGateway } from './harness.mjs';

const KEY = 'sk-responses-client';
const OTHER_KEY = 'sk-another-team';
let dashscope;
let claude;
let upstreamOpenAi;
let gateway;
let openai;
let aiSdk;

before(async () => {
  dashscope = await startFakeDashScope();
  claude = await startFakeClaude({ keys: ['sk-ant-provider'] });
  upstreamOpenAi = await startFakeOpenAiResponses();
  gateway = await startGateway({
    listen: LISTEN_ANY,
    consumers: [{ name: 'apps', api_keys: [KEY] }, { name: 'others', api_keys: [OTHER_KEY] }],
    providers: [{
      name: 'openai',
      type: 'openai',
      base_url: `${upstreamOpenAi.origin}/v1`,
      // Behind a base_url of its own, passthrough to /responses is opt-in.
      responses_api: true,
      api_keys: [RESPONSES_KEY],
      model_mapping: { 'gpt-5-pass': 'gpt-5', 'gpt-5-pass-tools': 'gpt-5-tools' },
    }, {
      name: 'anthropic',
      type: 'claude',
      base_url: claude.origin,
      api_keys: ['sk-ant-provider'],
      model_mapping: { 'gpt-claude': 'claude-text', 'gpt-claude-tools': 'claude-tools', 'gpt-claude-think': 'claude-thinking-tools', 'gpt-claude-interleaved': 'claude-interleaved-tools', 'gpt-claude-omitted': 'claude-omitted-thinking' },
    }, {
      name: 'dashscope',
      type: 'qwen',
      base_url: dashscope.origin,
      api_keys: QWEN_KEYS,
      model_mapping: { 'gpt-4o': 'qwen-text', 'gpt-tools': 'qwen-tools', 'gpt-think': 'qwen-think' },
    }],
  });
  openai = new OpenAI({ baseURL: `${gateway.httpUrl}/v1`, apiKey: KEY, maxRetries: 0 });
  aiSdk = createOpenAI({ baseURL: `${gateway.httpUrl}/v1`, apiKey: KEY });
});

after(async () => {
  await gateway?.stop();
  await dashscope?.stop();
  await claude?.stop();
  await upstreamOpenAi?.stop();
});

const toolSchemas = {
  get_weather: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  get_time: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] },
};

describe('OpenAI Responses front door', () => {
  test('openai SDK responses.create: output_text, usage and the instructions upstream', async () => {
    const response = await openai.responses.create({ model: 'gpt-4o', instructions: 'Be kind.', input: 'Hi' });
    assert.equal(response.object, 'response');
    assert.equal(response.status, 'completed');
    assert.equal(response.model, 'gpt-4o');
    assert.equal(response.output_text, 'Hello from 通义千问!');
    assert.equal(response.usage.input_tokens, 12);
    assert.equal(response.usage.output_tokens, 5);
    const sent = dashscope.requests.at(-1).body;
    assert.equal(sent.model, 'qwen-text');
    assert.deepEqual(sent.input.messages[0], { role: 'system', content: 'Be kind.' });
  });

  test('openai SDK responses.stream: typed events in order, final response', async () => {
    const stream = openai.responses.stream({ model: 'gpt-4o', input: [{ role: 'user', content: [{ type: 'input_text', text: 'Hi' }] }] });
    const types = [];
    const deltas = [];
    stream.on('event', (event) => types.push(event.type));
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    assert.equal(deltas.join(''), 'Hello from 通义千问!');
    assert.equal(types[0], 'response.created');
    assert.equal(types.at(-1), 'response.completed');
    for (const type of ['response.output_item.added', 'response.content_part.added', 'response.output_text.done', 'response.output_item.done']) {
      assert.ok(types.includes(type), type);
    }
    const message = final.output.find((item) => item.type === 'message');
    assert.equal(message.content[0].text, 'Hello from 通义千问!');
    assert.equal(final.usage.total_tokens, 17);
  });

  test('openai SDK: function calls stream as function_call items with their argument deltas', async () => {
    const stream = openai.responses.stream({
      model: 'gpt-tools',
      input: 'Weather and time?',
      tools: Object.entries(toolSchemas).map(([name, parameters]) => ({ type: 'function', name, parameters, strict: false })),
    });
    const argumentDeltas = [];
    stream.on('response.function_call_arguments.delta', (event) => argumentDeltas.push(event.delta));
    const final = await stream.finalResponse();
    const calls = final.output.filter((item) => item.type === 'function_call');
    assert.deepEqual(calls.map((c) => [c.call_id, c.name, JSON.parse(c.arguments)]), [
      ['call_a1', 'get_weather', { city: '杭州' }],
      ['call_b2', 'get_time', { tz: 'CST' }],
    ]);
    assert.ok(argumentDeltas.length >= 4, 'arguments arrive in fragments');
  });

  test('an item_reference reads back the caller’s own items only', async () => {
    const first = await openai.responses.create({ model: 'gpt-4o', input: 'Hi' });
    const item = first.output.find((o) => o.type === 'message');
    const input = [{ type: 'item_reference', id: item.id }, { role: 'user', content: 'And then?' }];
    const again = await openai.responses.create({ model: 'gpt-4o', input });
    assert.equal(again.status, 'completed');
    const assistant = dashscope.requests.at(-1).body.input.messages.find((m) => m.role === 'assistant');
    assert.equal(assistant.content, first.output_text);
    const other = new OpenAI({ baseURL: `${gateway.httpUrl}/v1`, apiKey: OTHER_KEY, maxRetries: 0 });
    await assert.rejects(other.responses.create({ model: 'gpt-4o', input }),
      (err) => err.status === 400 && err.param === 'input[0]' && /not known to this gateway/.test(err.message));
  });

  test('what only OpenAI keeps or runs is a clear 400 naming it when Qwen would answer', async () => {
    await assert.rejects(openai.responses.create({ model: 'gpt-4o', input: 'Hi', previous_response_id: 'resp_123' }),
      (err) => err.status === 400 && err.param === 'previous_response_id' && /no conversation state|keeps none/.test(err.message));
    await assert.rejects(openai.responses.create({ model: 'gpt-4o', input: 'News?', tools: [{ type: 'web_search' }] }),
      (err) => err.status === 400 && err.param === 'tools[0].type' && /web_search/.test(err.message));
  });

  test('AI SDK openai(model): generateText and streamText', async () => {
    const generated = await generateText({ model: aiSdk('gpt-4o'), prompt: 'Hi' });
    assert.equal(generated.text, 'Hello from 通义千问!');
    assert.equal(generated.usage.outputTokens, 5);
    const streamed = streamText({ model: aiSdk('gpt-think'), prompt: '6*7?' });
    const parts = [];
    for await (const part of streamed.textStream) parts.push(part);
    assert.equal(parts.join(''), '42');
    assert.equal(await streamed.reasoningText, 'Six times seven.');
  });

  test('AI SDK openai(model) with tools over two steps: results reach Qwen as tool messages', async () => {
    const executed = [];
    const tools = Object.fromEntries(Object.entries(toolSchemas).map(([name, schema]) => [name, tool({
      description: name,
      inputSchema: jsonSchema(schema),
      execute: async (input) => {
        executed.push([name, input]);
        return name === 'get_weather' ? '22°C' : '10:00';
      },
    })]));
    const result = streamText({ model: aiSdk('gpt-tools'), prompt: 'Weather and time in Hangzhou?', tools, stopWhen: stepCountIs(2) });
    for await (const part of result.fullStream) {
      if (part.type === 'error') throw part.error;
    }
    // Step 1's calls ran; step 2 (the fake answers with the same calls) ran them again.
    assert.deepEqual(executed.slice(0, 2), [['get_weather', { city: '杭州' }], ['get_time', { tz: 'CST' }]]);
    const second = dashscope.requests.at(-1).body.input.messages;
    const assistant = second.find((m) => m.role === 'assistant');
    assert.deepEqual(assistant.tool_calls.map((c) => c.id), ['call_a1', 'call_b2']);
    assert.deepEqual(second.filter((m) => m.role === 'tool').map((m) => [m.tool_call_id, m.content]), [['call_a1', '22°C'], ['call_b2', '10:00']]);
  });
});

describe('Responses clients → claude provider', () => {
  test('openai SDK responses.stream with tools: Claude’s tool_use blocks become function_call items', async () => {
    const final = await openai.responses.stream({
      model: 'gpt-claude-tools',
      input: 'Weather?',
      tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: false }, { type: 'function', name: 'get_time', parameters: { type: 'object' }, strict: false }],
    }).finalResponse();
    const script = CLAUDE_SCRIPTS['claude-tools'].content;
    const calls = final.output.filter((item) => item.type === 'function_call');
    assert.deepEqual(calls.map((c) => [c.call_id, c.name, JSON.parse(c.arguments)]), script.filter((b) => b.type === 'tool_use').map((b) => [b.id, b.name, b.input]));
    const message = final.output.find((item) => item.type === 'message');
    assert.equal(message.content[0].text, script[0].text);
    assert.deepEqual(claude.rejected, []);
  });

  test('Claude’s signed thinking leaves as encrypted_content and goes back before its tool_use in the next turn', async () => {
    const tools = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false }];
    const first = await openai.responses.stream({ model: 'gpt-claude-think', input: 'Weather in Paris?', reasoning: { effort: 'low' }, tools }).finalResponse();
    const script = CLAUDE_SCRIPTS['claude-thinking-tools'].content;
    const reasoning = first.output.find((item) => item.type === 'reasoning');
    assert.equal(reasoning.summary[0].text, script[0].thinking);
    assert.equal(reasoning.encrypted_content, `aigw-signature:${script[0].signature}`);
    const call = first.output.find((item) => item.type === 'function_call');
    assert.equal(call.call_id, script[1].id);
    // The client sends the output back with the tool's result (store: false
    // clients keep the items themselves).
    await openai.responses.create({
      model: 'gpt-claude-think', reasoning: { effort: 'low' }, tools, store: false,
      input: [{ role: 'user', content: 'Weather in Paris?' }, ...first.output, { type: 'function_call_output', call_id: call.call_id, output: '18C' }],
    });
    assert.deepEqual(claude.rejected, []);
    const turn = claude.requests.at(-1).body.messages[1];
    assert.deepEqual(turn.content.map((b) => b.type), ['thinking', 'tool_use']);
    assert.equal(turn.content[0].signature, script[0].signature);
    assert.equal(turn.content[0].thinking, script[0].thinking);

    // The same conversation moved to OpenAI (passthrough): Claude's
    // reasoning and the ids only this gateway knows are not sent, and a
    // reference to an item this gateway made arrives as the item.
    const message = first.output.find((item) => item.type === 'message');
    const input = [{ role: 'user', content: 'Weather in Paris?' }, ...first.output.filter((item) => item !== call),
      { type: 'item_reference', id: call.id }, { type: 'function_call_output', call_id: call.call_id, output: '18C' }];
    await openai.responses.create({ model: 'gpt-5-pass', tools, store: false, input });
    const sent = upstreamOpenAi.requests.at(-1).body.input;
    assert.deepEqual(sent.map((item) => item.type ?? 'message'), ['message', ...(message ? ['message'] : []), 'function_call', 'function_call_output']);
    assert.ok(sent.every((item) => !item.id), JSON.stringify(sent));
    assert.equal(sent.at(-2).call_id, call.call_id);
    assert.equal(sent.at(-2).arguments, call.arguments);
    assert.ok(!JSON.stringify(sent).includes('aigw-signature:'));
  });

  test('interleaved thinking: each signed block is its own reasoning item and goes back to Claude with its own signature', async () => {
    const tools = ['get_weather', 'get_time'].map((name) => ({ type: 'function', name, parameters: toolSchemas[name], strict: false }));
    const first = await openai.responses.stream({ model: 'gpt-claude-interleaved', input: 'Weather and time in Paris?', reasoning: { effort: 'low' }, tools }).finalResponse();
    const script = CLAUDE_SCRIPTS['claude-interleaved-tools'].content;
    assert.deepEqual(first.output.map((item) => item.type), ['reasoning', 'function_call', 'reasoning', 'function_call']);
    assert.deepEqual(first.output.filter((item) => item.type === 'reasoning').map((item) => [item.summary[0].text, item.encrypted_content]),
      [[script[0].thinking, `aigw-signature:${script[0].signature}`], [script[2].thinking, `aigw-signature:${script[2].signature}`]]);
    const calls = first.output.filter((item) => item.type === 'function_call');
    await openai.responses.create({
      model: 'gpt-claude-interleaved', reasoning: { effort: 'low' }, tools, store: false,
      input: [{ role: 'user', content: 'Weather and time in Paris?' }, ...first.output,
        ...calls.map((call, i) => ({ type: 'function_call_output', call_id: call.call_id, output: ['18C', '10:00'][i] }))],
    });
    assert.deepEqual(claude.rejected, []);
    // The turn goes back as Claude wrote it: each thinking block between
    // the tool_use blocks where it was, byte-equal.
    const turn = claude.requests.at(-1).body.messages[1];
    assert.deepEqual(turn.content, script);
  });

  test('thinking with its display omitted: each signature alone is a reasoning item, and goes back to Claude as its block', async () => {
    const tools = [{ type: 'function', name: 'get_weather', parameters: toolSchemas.get_weather, strict: false }];
    const first = await openai.responses.stream({ model: 'gpt-claude-omitted', input: 'Weather in Paris?', reasoning: { effort: 'low' }, tools }).finalResponse();
    const script = CLAUDE_SCRIPTS['claude-omitted-thinking'].content;
    assert.deepEqual(first.output.map((item) => item.type), ['reasoning', 'reasoning', 'function_call']);
    assert.deepEqual(first.output.slice(0, 2).map((item) => [item.summary, item.encrypted_content]),
      [[[], `aigw-signature:${script[0].signature}`], [[], `aigw-signature:${script[1].signature}`]]);
    const call = first.output[2];
    await openai.responses.create({
      model: 'gpt-claude-omitted', reasoning: { effort: 'low' }, tools, store: false,
      input: [{ role: 'user', content: 'Weather in Paris?' }, ...first.output, { type: 'function_call_output', call_id: call.call_id, output: '18C' }],
    });
    assert.deepEqual(claude.rejected, []);
    assert.deepEqual(claude.requests.at(-1).body.messages[1].content, script);
  });

  test('AI SDK openai(model) with tools and reasoning over two steps against Claude: the thinking goes back signed', async () => {
    const executed = [];
    const get_weather = tool({
      description: 'Weather of a city',
      inputSchema: jsonSchema({ type: 'object', properties: { city: { type: 'string' } } }),
      execute: async (input) => {
        executed.push(input);
        return '18C';
      },
    });
    const before = claude.requests.length;
    const result = await generateText({
      model: aiSdk('gpt-claude-think'), prompt: 'Weather in Paris?', tools: { get_weather }, stopWhen: stepCountIs(2),
      providerOptions: { openai: { reasoningEffort: 'low', forceReasoning: true } },
    });
    assert.equal(result.steps.length, 2);
    assert.deepEqual(executed[0], { city: 'Paris' });
    assert.equal(claude.requests.length - before, 2);
    assert.deepEqual(claude.rejected, []);
    const turn = claude.requests.at(-1).body.messages[1];
    assert.deepEqual(turn.content.map((b) => b.type), ['thinking', 'tool_use']);
    assert.equal(turn.content[1].id, CLAUDE_SCRIPTS['claude-thinking-tools'].content[1].id);
  });

  test('AI SDK openai(model) generateText against Claude', async () => {
    const generated = await generateText({ model: aiSdk('gpt-claude'), prompt: 'Hi' });
    assert.equal(generated.text, CLAUDE_SCRIPTS['claude-text'].content[0].text);
    assert.equal(generated.usage.outputTokens, 17);
  });
});

describe('Responses clients → openai provider: passthrough', () => {
  test('responses.create: the body goes as sent (model mapped); the answer comes back as OpenAI sent it', async () => {
    const response = await openai.responses.create({ model: 'gpt-5-pass', input: 'Hi', store: false, include: ['reasoning.encrypted_content'], service_tier: 'flex', text: { verbosity: 'low' } });
    const sent = upstreamOpenAi.requests.at(-1);
    assert.equal(sent.body.model, 'gpt-5');
    assert.equal(sent.body.store, false);
    assert.deepEqual(sent.body.include, ['reasoning.encrypted_content']);
    assert.equal(sent.body.service_tier, 'flex');
    assert.deepEqual(sent.body.text, { verbosity: 'low' });
    assert.equal(sent.headers.authorization, `Bearer ${RESPONSES_KEY}`);
    assert.equal(response.model, 'gpt-5-pass');
    assert.equal(response.output_text, PASS_TEXT.join(''));
    assert.deepEqual(response.x_future_field, { kept: true }, 'a field aigw does not model');
    assert.equal(response.usage.total_tokens, 13);
  });

  test('a stream is OpenAI’s own events, unknown types and sequence numbers included', async () => {
    const raw = await fetch(`${gateway.httpUrl}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: 'gpt-5-pass', input: 'Hi', stream: true }),
    });
    const text = await raw.text();
    assert.match(text, /^event: response\.created\n/);
    assert.match(text, /event: response\.future_event\.delta\n/);
    assert.ok(text.includes('"model":"gpt-5-pass"') && !text.includes('"model":"gpt-5"'), 'model renamed');
    const sequence = [...text.matchAll(/"sequence_number":(\d+)/g)].map((m) => Number(m[1]));
    assert.deepEqual(sequence, sequence.map((_, i) => i));
    const final = await openai.responses.stream({ model: 'gpt-5-pass', input: 'Hi' }).finalResponse();
    assert.equal(final.output.find((item) => item.type === 'message').content[0].text, PASS_TEXT.join(''));
  });

  test('built-in tools, files and previous_response_id reach OpenAI, which keeps the state', async () => {
    const body = {
      model: 'gpt-5-pass',
      previous_response_id: 'resp_earlier',
      tools: [{ type: 'web_search' }, { type: 'file_search', vector_store_ids: ['vs_1'] }],
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'Sum up' }, { type: 'input_file', file_id: 'file-1' }] }],
    };
    const response = await openai.responses.create(body);
    assert.equal(response.output_text, PASS_TEXT.join(''));
    const sent = upstreamOpenAi.requests.at(-1).body;
    assert.equal(sent.previous_response_id, 'resp_earlier');
    assert.deepEqual(sent.tools, body.tools);
    assert.deepEqual(sent.input, body.input);
  });

  test('openai SDK responses.stream with a tool, then responses.create with its output, through to OpenAI', async () => {
    const tools = [{ type: 'function', name: 'get_weather', parameters: toolSchemas.get_weather, strict: false }];
    const stream = openai.responses.stream({ model: 'gpt-5-pass-tools', input: 'Weather in Oslo?', tools });
    let argumentDeltas = '';
    stream.on('response.function_call_arguments.delta', (event) => { argumentDeltas += event.delta; });
    const first = await stream.finalResponse();
    const call = first.output.find((item) => item.type === 'function_call');
    assert.equal(call.call_id, 'call_up_1');
    assert.equal(call.arguments, '{"city":"Oslo"}');
    assert.equal(argumentDeltas, call.arguments);
    assert.equal(first.model, 'gpt-5-pass-tools');
    const second = await openai.responses.create({
      model: 'gpt-5-pass-tools', tools, store: false,
      input: [{ role: 'user', content: 'Weather in Oslo?' }, call, { type: 'function_call_output', call_id: call.call_id, output: '5°C' }],
    });
    assert.equal(second.output_text, PASS_TEXT.join(''));
    const sent = upstreamOpenAi.requests.at(-1).body;
    assert.deepEqual(sent.input[1], call, 'OpenAI’s own item goes back as sent, its id included');
    assert.deepEqual(sent.tools, tools);
  });

  test('AI SDK openai(model) with a tool over two steps, through to OpenAI', async () => {
    const executed = [];
    const result = streamText({
      model: aiSdk('gpt-5-pass-tools'),
      prompt: 'Weather in Oslo?',
      tools: { get_weather: tool({ description: 'weather', inputSchema: jsonSchema(toolSchemas.get_weather), execute: async (input) => { executed.push(input); return '5°C'; } }) },
      stopWhen: stepCountIs(2),
    });
    let text = '';
    for await (const part of result.fullStream) {
      if (part.type === 'error') throw part.error;
      if (part.type === 'text-delta') text += part.text;
    }
    assert.deepEqual(executed, [{ city: 'Oslo' }]);
    assert.equal(text, PASS_TEXT.join(''));
    const second = upstreamOpenAi.requests.at(-1).body;
    assert.ok(second.input.some((item) => item.type === 'function_call_output' && item.call_id === 'call_up_1'), JSON.stringify(second.input));
  });
});
