// What gRPC tools see before they call anything: server reflection v1 (what
// grpcurl, Postman and current reflection clients ask for first) beside
// v1alpha, and the health service per service name. A client built only
// from what reflection v1 returns can call the gateway.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { grpcClients, startGateway } from './harness.mjs';

const deadline = () => new Date(Date.now() + 10_000);

let gateway;
let clients;

before(async () => {
  gateway = await startGateway({
    listen: { http: '127.0.0.1:0', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' },
    providers: [{ name: 'echo', type: 'echo', models: ['echo'], model_mapping: { '*': '' } }],
  });
  clients = grpcClients(gateway.grpcAddr);
});

after(async () => {
  clients?.close();
  await gateway?.stop();
});

// Sends `requests` on one reflection stream; resolves with the responses.
function reflect(client, requests) {
  return new Promise((resolve, reject) => {
    const responses = [];
    const call = client.ServerReflectionInfo({ deadline: deadline() });
    call.on('data', (response) => {
      responses.push(response);
      if (responses.length === requests.length) call.end();
    });
    call.on('error', reject);
    call.on('end', () => resolve(responses));
    for (const request of requests) call.write(request);
  });
}

// A FileDescriptorSet (field 1: repeated FileDescriptorProto) from the files.
function descriptorSet(files) {
  const parts = [];
  for (const file of files) {
    const bytes = Buffer.from(file);
    const length = [];
    let n = bytes.length;
    do {
      length.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>>= 7;
    } while (n > 0);
    parts.push(Buffer.from([0x0a, ...length]), bytes);
  }
  return Buffer.concat(parts);
}

function health(service) {
  return new Promise((resolve, reject) => {
    clients.health.Check({ service }, { deadline: deadline() }, (err, response) => (err ? reject(err) : resolve(response)));
  });
}

test('reflection v1 lists the services, both reflection versions included', async () => {
  const [response] = await reflect(clients.reflectionV1, [{ host: 'h', list_services: '' }]);
  const names = response.list_services_response.service.map((s) => s.name).sort();
  assert.deepEqual(names, [
    'aigw.v1.ChatCompletions',
    'grpc.health.v1.Health',
    'grpc.reflection.v1.ServerReflection',
    'grpc.reflection.v1alpha.ServerReflection',
  ]);
  assert.equal(response.valid_host, 'h');
  assert.equal(response.original_request.list_services, '');
});

test('reflection v1alpha still answers', async () => {
  const [response] = await reflect(clients.reflection, [{ list_services: '' }]);
  const names = response.list_services_response.service.map((s) => s.name);
  assert.ok(names.includes('aigw.v1.ChatCompletions'), `services: ${names}`);
});

test('a client built only from reflection v1 calls ListModels', async () => {
  const [response] = await reflect(clients.reflectionV1, [{ file_containing_symbol: 'aigw.v1.ChatCompletions' }]);
  const files = response.file_descriptor_response?.file_descriptor_proto ?? [];
  assert.ok(files.length > 0, `no descriptor: ${JSON.stringify(response.error_response)}`);
  // The file and its imports (google/protobuf/struct.proto) in one answer.
  const definition = protoLoader.loadFileDescriptorSetFromBuffer(descriptorSet(files), { keepCase: true });
  const Chat = grpc.loadPackageDefinition(definition).aigw.v1.ChatCompletions;
  const chat = new Chat(gateway.grpcAddr, grpc.credentials.createInsecure());
  try {
    const models = await new Promise((resolve, reject) => {
      chat.ListModels({}, { deadline: deadline() }, (err, reply) => (err ? reject(err) : resolve(reply)));
    });
    assert.deepEqual(models.data.map((m) => m.id), ['echo']);
  } finally {
    chat.close();
  }
});

test('reflection v1 answers unknown symbols and files with NOT_FOUND in the stream, which goes on', async () => {
  const responses = await reflect(clients.reflectionV1, [
    { file_containing_symbol: 'no.such.Service' },
    { file_by_filename: 'no/such/file.proto' },
    { file_by_filename: 'google/protobuf/struct.proto' },
  ]);
  assert.equal(responses.length, 3);
  assert.equal(responses[0].error_response.error_code, grpc.status.NOT_FOUND);
  assert.equal(responses[1].error_response.error_code, grpc.status.NOT_FOUND);
  assert.equal(responses[2].file_descriptor_response.file_descriptor_proto.length, 1);
});

test('health answers SERVING for "" and for aigw.v1.ChatCompletions, NOT_FOUND for other names', async () => {
  assert.equal((await health('')).status, 'SERVING');
  assert.equal((await health('aigw.v1.ChatCompletions')).status, 'SERVING');
  await assert.rejects(health('no.such.Service'), (err) => err.code === grpc.status.NOT_FOUND);
});
