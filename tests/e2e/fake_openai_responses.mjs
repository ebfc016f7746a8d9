// A fake OpenAI Responses API (POST /v1/responses) for the passthrough
// tests: answers in OpenAI's wire format (a response object, or the typed
// response.* events with sequence numbers) and adds what aigw does not
// model (an unknown response field, an unknown event type), so a test can
// see that the client got the upstream's own bytes. Records every request.
import { FakeHttpServer, readJsonBody } from './fake_common.mjs';

export const RESPONSES_KEY = 'sk-openai-responses';
export const PASS_TEXT = ['Straight', ' from', ' OpenAI.'];

function response(id, model, status, output, usage) {
  return { id, object: 'response', created_at: 1700000000, status, model, output, usage, error: null, incomplete_details: null, x_future_field: { kept: true } };
}

export class FakeOpenAiResponses extends FakeHttpServer {
  constructor() {
    super((req, res) => this.#handle(req, res));
    this.requests = [];
  }

  async #handle(req, res) {
    const { body } = await readJsonBody(req);
    this.requests.push({ path: req.url, headers: req.headers, body });
    if (req.url !== '/v1/responses' || req.headers.authorization !== `Bearer ${RESPONSES_KEY}`) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify({ error: { message: 'bad route or key', type: 'invalid_request_error', code: 'invalid_api_key' } }));
    }
    const tools = body.model === 'gpt-5-tools' && !(body.input ?? []).some?.((item) => item.type === 'function_call_output');
    const usage = { input_tokens: 9, input_tokens_details: { cached_tokens: 2 }, output_tokens: 4, output_tokens_details: { reasoning_tokens: 1 }, total_tokens: 13 };
    const id = `resp_up_${this.requests.length}`;
    const text = PASS_TEXT.join('');
    const message = { type: 'message', id: `msg_up_${this.requests.length}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] };
    const call = { type: 'function_call', id: `fc_up_${this.requests.length}`, call_id: 'call_up_1', name: 'get_weather', arguments: '{"city":"Oslo"}', status: 'completed' };
    const output = tools ? [call] : [message];
    if (!body.stream) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(response(id, body.model, 'completed', output, usage)));
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    let seq = 0;
    const send = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`);
    send('response.created', { response: response(id, body.model, 'in_progress', [], null) });
    send('response.in_progress', { response: response(id, body.model, 'in_progress', [], null) });
    if (tools) {
      send('response.output_item.added', { output_index: 0, item: { ...call, arguments: '', status: 'in_progress' } });
      for (const piece of ['{"ci', 'ty":"Oslo"}']) send('response.function_call_arguments.delta', { item_id: call.id, output_index: 0, delta: piece });
      send('response.function_call_arguments.done', { item_id: call.id, output_index: 0, arguments: call.arguments });
      send('response.output_item.done', { output_index: 0, item: call });
    } else {
      send('response.output_item.added', { output_index: 0, item: { ...message, status: 'in_progress', content: [] } });
      send('response.content_part.added', { item_id: message.id, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
      for (const delta of PASS_TEXT) send('response.output_text.delta', { item_id: message.id, output_index: 0, content_index: 0, delta, logprobs: [] });
      send('response.future_event.delta', { item_id: message.id, note: 'a type aigw does not know' });
      send('response.output_text.done', { item_id: message.id, output_index: 0, content_index: 0, text, logprobs: [] });
      send('response.content_part.done', { item_id: message.id, output_index: 0, content_index: 0, part: message.content[0] });
      send('response.output_item.done', { output_index: 0, item: message });
    }
    send('response.completed', { response: response(id, body.model, 'completed', output, usage) });
    res.end();
  }
}

export async function startFakeOpenAiResponses() {
  return new FakeOpenAiResponses().start();
}
