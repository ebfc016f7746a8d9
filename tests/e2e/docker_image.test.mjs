// deploy/docker/Dockerfile without building the image: the runtime stage's
// apt package list must provide every shared library the freshly built
// binaries need (ldd + dpkg -S on this Debian 12 machine, the same release as
// the image), the image's default config must start the real aigw, and its
// HEALTHCHECK script must tell a healthy admin port from a dead one.
// AIGW_TEST_IMAGE=1 also builds the image (docker, or podman --runtime runc),
// runs it read-only and GETs /healthz; that is opt-in, never part of CI.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { AIGW_BIN, REPO_ROOT, closedPort, startGateway } from './harness.mjs';

const DOCKERFILE = path.join(REPO_ROOT, 'deploy/docker/Dockerfile');
const HEALTHCHECK = path.join(REPO_ROOT, 'deploy/docker/healthcheck.sh');
const CLI_BIN = path.join(path.dirname(path.dirname(AIGW_BIN)), 'client/aigw-cli');

// The Dockerfile as instructions: continuation lines joined, comments dropped.
function instructions(text) {
  const out = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && current === '')) continue;
    current += (current ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) {
      if (current) out.push(current);
      current = '';
    }
  }
  const stages = [];
  for (const instruction of out) {
    const [keyword, ...rest] = instruction.split(/\s+/);
    const entry = { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    if (entry.keyword === 'FROM') stages.push({ from: entry.args, instructions: [] });
    else stages.at(-1).instructions.push(entry);
  }
  return stages;
}

const stages = instructions(fs.readFileSync(DOCKERFILE, 'utf8'));
const runtime = stages.at(-1);
const runs = (stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);

// The packages of the runtime stage's `apt-get install`.
function runtimePackages() {
  const install = runs(runtime).find((run) => /apt-get install/.test(run));
  assert.ok(install, 'the runtime stage installs packages with apt-get');
  const after = install.slice(install.indexOf('apt-get install') + 'apt-get install'.length);
  return after
    .split('&&')[0]
    .trim()
    .split(/\s+/)
    .filter((word) => word && !word.startsWith('-'));
}

// The Debian packages that provide the shared libraries `binary` loads:
// library name -> package. One dpkg -S for all of them (each call reads the
// whole database); with usrmerge a file may be recorded under /lib or /usr/lib.
function libraryPackages(binary) {
  const ldd = execFileSync('ldd', [binary], { encoding: 'utf8' });
  assert.doesNotMatch(ldd, /not found/, `${binary} has an unresolved library`);
  const libraries = [...ldd.matchAll(/^\s*(\S+) => (\/\S+)/gm)].map(([, name, file]) => {
    const real = fs.realpathSync(file);
    const variants = [file, real].flatMap((f) => [f, f.startsWith('/usr/') ? f.slice(4) : `/usr${f}`]);
    return { name, file, variants: [...new Set(variants)] };
  });
  const query = spawnSync('dpkg', ['-S', ...new Set(libraries.flatMap((l) => l.variants))], { encoding: 'utf8' });
  const owners = new Map();
  for (const line of query.stdout.split('\n')) {
    const match = line.match(/^([^:\s]+)(?::\S+)?: (\/.+)$/);
    if (match) owners.set(match[2], match[1]);
  }
  const packages = new Map();
  for (const { name, file, variants } of libraries) {
    const owner = variants.map((v) => owners.get(v)).find(Boolean);
    assert.ok(owner, `no Debian package owns ${name} (${file})`);
    packages.set(name, owner);
  }
  return packages;
}

test('the build stage builds with the project\'s Bazel on Debian 12', () => {
  assert.equal(stages.length, 2, 'two stages: build and runtime');
  assert.match(stages[0].from, /^debian:bookworm AS build$/);
  const build = runs(stages[0]).join('\n');
  assert.match(build, /bash scripts\/install_deps\.sh/);
  assert.match(build, /bazel build -c opt \/\/server:aigw/);
  assert.equal(runtime.from, 'debian:bookworm-slim');
});

test('every shared library of aigw (and aigw-cli) comes from a package of the runtime stage', (t) => {
  const listed = new Set(runtimePackages());
  const dockerfile = fs.readFileSync(DOCKERFILE, 'utf8');
  const binaries = [AIGW_BIN];
  if (/COPY --from=build \/out\/aigw-cli /.test(dockerfile)) {
    if (fs.existsSync(CLI_BIN)) binaries.push(CLI_BIN);
    else t.diagnostic(`the image ships aigw-cli but ${CLI_BIN} is not built: its libraries are not checked`);
  }
  const needed = new Set();
  for (const binary of binaries) {
    for (const [library, pkg] of libraryPackages(binary)) {
      if (pkg === 'libc6') continue; // libc, libm, ld-linux: the base image's
      needed.add(pkg);
      assert.ok(listed.has(pkg), `${path.basename(binary)} needs ${library} from ${pkg}, which the runtime stage does not install`);
    }
  }
  // And nothing else: only runtime libraries (plus the trust store for TLS upstreams).
  const extra = [...listed].filter((pkg) => !needed.has(pkg) && pkg !== 'ca-certificates');
  assert.deepEqual(extra, [], 'packages the binaries do not need');
  assert.ok(listed.has('ca-certificates'), 'the system trust store for https providers');
  assert.equal([...listed].some((pkg) => /-dev$|^curl$|^wget$/.test(pkg)), false);
});

test('runtime stage: non-root, the config at /etc/aigw/aigw.yaml, HEALTHCHECK, ENTRYPOINT', () => {
  const byKeyword = (keyword) => runtime.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
  const [user] = byKeyword('USER');
  assert.match(user, /^\d+(:\d+)?$/, 'a numeric user (runAsNonRoot can verify it)');
  assert.notEqual(Number(user.split(':')[0]), 0);
  assert.deepEqual(JSON.parse(byKeyword('ENTRYPOINT')[0]), ['/usr/local/bin/aigw', '--config=/etc/aigw/aigw.yaml']);
  assert.ok(byKeyword('COPY').includes('deploy/docker/aigw.yaml /etc/aigw/aigw.yaml'));
  assert.ok(byKeyword('COPY').includes('deploy/docker/healthcheck.sh /usr/local/bin/aigw-healthcheck'));
  const [healthcheck] = byKeyword('HEALTHCHECK');
  assert.match(healthcheck, /CMD \["\/usr\/local\/bin\/aigw-healthcheck", "\/healthz"\]$/);
  assert.deepEqual(byKeyword('EXPOSE'), ['8080 9090 9901']);
  // The image check of its own: no unresolved library, a valid config.
  assert.ok(runs(runtime).some((run) => /ldd \/usr\/local\/bin\/aigw/.test(run) && /--check --config=\/etc\/aigw\/aigw\.yaml/.test(run)));
  const ignore = fs.readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
  for (const entry of ['.git', 'bazel-*', '**/node_modules']) assert.ok(ignore.includes(entry), `.dockerignore has ${entry}`);
});

test('the image\'s default config listens on every interface and starts the real aigw', async () => {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'deploy/docker/aigw.yaml'), 'utf8');
  const config = YAML.parse(text);
  assert.deepEqual(config.listen, { http: '0.0.0.0:8080', grpc: '0.0.0.0:9090', admin: '0.0.0.0:9901' });
  assert.equal(config.providers[0].type, 'echo');
  const doc = YAML.parseDocument(text);
  for (const name of ['http', 'grpc', 'admin']) doc.setIn(['listen', name], '127.0.0.1:0');
  const gw = await startGateway(String(doc));
  try {
    const response = await fetch(`${gw.httpUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello image' }] }),
    });
    assert.equal(response.status, 200);
    assert.equal((await response.json()).choices[0].message.content, 'hello image');
  } finally {
    await gw.stop();
  }
});

test('HEALTHCHECK script: 0 for a healthy admin port, 1 for another status or nothing listening', async () => {
  const check = (port, ...args) => spawnSync('bash', [HEALTHCHECK, ...args], { env: { PATH: process.env.PATH, AIGW_HEALTH_PORT: String(port) }, encoding: 'utf8', timeout: 10_000 }).status;
  const gw = await startGateway({ listen: { http: '127.0.0.1:0', grpc: '127.0.0.1:0', admin: '127.0.0.1:0' }, providers: [{ name: 'echo', type: 'echo' }] });
  try {
    const port = new URL(gw.adminUrl).port;
    assert.equal(check(port), 0, '/healthz');
    assert.equal(check(port, '/readyz'), 0, '/readyz');
    assert.equal(check(port, '/no-such-path'), 1, 'a 404 is not healthy');
  } finally {
    await gw.stop();
  }
  assert.equal(check(await closedPort()), 1, 'nothing listening');
});

// Opt-in: AIGW_TEST_IMAGE=1 builds and runs the image (minutes; needs docker or podman and the base images).
test('the built image runs read-only and answers /healthz', { skip: process.env.AIGW_TEST_IMAGE !== '1' && 'set AIGW_TEST_IMAGE=1 to build and run the image' }, async () => {
  const engines = [
    ['docker', []],
    ['podman', ['--runtime', 'runc']],
  ];
  const found = engines.find(([name]) => spawnSync(name, ['info'], { stdio: 'ignore' }).status === 0);
  assert.ok(found, 'AIGW_TEST_IMAGE=1 needs a working docker or podman');
  const [engine, global] = found;
  const tag = `aigw-test:${process.pid}`;
  const build = spawnSync(engine, [...global, 'build', ...(engine === 'podman' ? ['--format', 'docker'] : []), '-f', DOCKERFILE, '-t', tag, REPO_ROOT], { stdio: 'inherit', timeout: 60 * 60_000 });
  assert.equal(build.status, 0, `${engine} build failed`);
  const port = await closedPort();
  const name = `aigw-test-${process.pid}`;
  const run = spawnSync(engine, [...global, 'run', '-d', '--rm', '--name', name, '--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '-p', `127.0.0.1:${port}:9901`, tag], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  try {
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(status, 200);
    const user = spawnSync(engine, [...global, 'exec', name, 'id', '-u'], { encoding: 'utf8' });
    assert.equal(user.stdout.trim(), '65532');
    assert.equal(spawnSync(engine, [...global, 'exec', name, '/usr/local/bin/aigw-healthcheck'], { stdio: 'ignore' }).status, 0);
  } finally {
    spawnSync(engine, [...global, 'rm', '-f', name], { stdio: 'ignore' });
    spawnSync(engine, [...global, 'rmi', '-f', tag], { stdio: 'ignore' });
  }
});
