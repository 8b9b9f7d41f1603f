import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { subjects } from '@trellis/contracts';
import { REPO_ROOT } from '@trellis/testing';

/**
 * Validates deploy/k8s without a cluster, a network or kubeconform: every manifest the
 * kustomization reaches is parsed and checked against structural zod schemas of the fields
 * Trellis uses, then against each other and the code. What this does NOT check: the full
 * Kubernetes OpenAPI schemas (unknown fields, every type), kustomize's own build (patches,
 * name prefixes: none are used), admission policies, or that the image runs. Run
 * `kubectl kustomize deploy/k8s | kubeconform -strict -schema-location default
 * -schema-location 'https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json'`
 * where a network is available for that.
 */
const K8S = join(REPO_ROOT, 'deploy/k8s');
const SERVICES = ['gateway', 'planner', 'template-registry', 'verifier', 'executor'] as const;

const name = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).max(63);
const labels = z.record(z.string(), z.string());
const metadata = z.object({ name, namespace: name.optional(), labels: labels.optional() });
const quantity = z.union([z.string().regex(/^\d+(\.\d+)?(m|Mi|Gi|Ki)?$/), z.number()]);
const port = z.union([z.number().int().min(1).max(65535), name]);
const httpProbe = z.object({
  httpGet: z.object({ path: z.string().startsWith('/'), port }),
  periodSeconds: z.number().int().positive().optional(),
  failureThreshold: z.number().int().positive().optional(),
});
const envVar = z.object({
  name: z.string().regex(/^[A-Z_][A-Z0-9_]*$/),
  value: z.string().optional(),
  valueFrom: z
    .object({
      secretKeyRef: z.object({ name, key: z.string(), optional: z.boolean().optional() }).optional(),
      fieldRef: z.object({ fieldPath: z.string() }).optional(),
    })
    .optional(),
});
const container = z.object({
  name,
  image: z.string().min(1),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  ports: z.array(z.object({ name, containerPort: z.number().int().min(1).max(65535) })).min(1),
  env: z.array(envVar).optional(),
  envFrom: z.array(z.object({ configMapRef: z.object({ name }).optional(), secretRef: z.object({ name }).optional() })).optional(),
  startupProbe: httpProbe.optional(),
  livenessProbe: httpProbe,
  readinessProbe: httpProbe,
  lifecycle: z.object({ preStop: z.object({ exec: z.object({ command: z.array(z.string()).min(1) }) }) }).optional(),
  resources: z.object({
    requests: z.object({ cpu: quantity, memory: quantity }),
    limits: z.object({ cpu: quantity.optional(), memory: quantity }).optional(),
  }),
});
const podTemplate = z.object({
  metadata: z.object({ labels }),
  spec: z.object({ terminationGracePeriodSeconds: z.number().int().positive(), containers: z.array(container).min(1) }).passthrough(),
});
const selector = z.object({ matchLabels: labels });

const Deployment = z.object({ apiVersion: z.literal('apps/v1'), kind: z.literal('Deployment'), metadata, spec: z.object({ replicas: z.number().int().positive().optional(), selector, template: podTemplate }).passthrough() });
const StatefulSet = z.object({
  apiVersion: z.literal('apps/v1'),
  kind: z.literal('StatefulSet'),
  metadata,
  spec: z.object({ serviceName: name, replicas: z.number().int().positive(), selector, template: podTemplate, volumeClaimTemplates: z.array(z.unknown()).min(1) }).passthrough(),
});
const Service = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('Service'),
  metadata,
  spec: z.object({ clusterIP: z.string().optional(), selector: labels, ports: z.array(z.object({ name, port: z.number().int(), targetPort: port })).min(1) }).passthrough(),
});
const PodDisruptionBudget = z.object({
  apiVersion: z.literal('policy/v1'),
  kind: z.literal('PodDisruptionBudget'),
  metadata,
  spec: z.union([z.object({ minAvailable: z.number().int().positive(), selector }).strict(), z.object({ maxUnavailable: z.number().int().positive(), selector }).strict()]),
});
const ConfigMap = z.object({ apiVersion: z.literal('v1'), kind: z.literal('ConfigMap'), metadata, data: z.record(z.string(), z.string()) });
const Namespace = z.object({ apiVersion: z.literal('v1'), kind: z.literal('Namespace'), metadata });
const ScaledObject = z.object({
  apiVersion: z.literal('keda.sh/v1alpha1'),
  kind: z.literal('ScaledObject'),
  metadata,
  spec: z.object({
    scaleTargetRef: z.object({ apiVersion: z.literal('apps/v1').optional(), kind: z.literal('Deployment').optional(), name }),
    minReplicaCount: z.number().int().min(0),
    maxReplicaCount: z.number().int().positive(),
    pollingInterval: z.number().int().positive().optional(),
    cooldownPeriod: z.number().int().positive().optional(),
    triggers: z
      .array(
        z.object({
          type: z.literal('nats-jetstream'),
          metadata: z.object({
            natsServerMonitoringEndpoint: z.string().regex(/^[a-z0-9.-]+:\d+$/),
            account: z.string(),
            stream: z.string(),
            consumer: z.string(),
            lagThreshold: z.string().regex(/^\d+$/),
            activationLagThreshold: z.string().regex(/^\d+$/).optional(),
            useHttps: z.enum(['true', 'false']).optional(),
          }),
        }),
      )
      .length(1),
  }),
});
const Kustomization = z.object({ apiVersion: z.literal('kustomize.config.k8s.io/v1beta1'), kind: z.literal('Kustomization'), resources: z.array(z.string()).min(1) }).passthrough();

const schemas = { Deployment, StatefulSet, Service, PodDisruptionBudget, ConfigMap, Namespace, ScaledObject } as const;
type Kind = keyof typeof schemas;
type Manifest = { file: string; doc: Record<string, any> };

/** Every document the kustomization reaches, following `resources` into directories. */
function load(dir: string): Manifest[] {
  const k = Kustomization.parse(parseOne(join(dir, 'kustomization.yaml')));
  return k.resources.flatMap((r) => {
    const path = join(dir, r);
    if (!existsSync(path)) throw new Error(`${relative(REPO_ROOT, dir)}/kustomization.yaml lists ${r}, which does not exist`);
    if (statSync(path).isDirectory()) return load(path);
    return parseAll(path).map((doc) => ({ file: relative(REPO_ROOT, path), doc }));
  });
}
function parseAll(path: string): Record<string, any>[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${path}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS() as Record<string, any>;
  });
}
function parseOne(path: string): unknown {
  return parseAll(path)[0];
}
const matches = (sel: Record<string, string>, l: Record<string, string>) => Object.entries(sel).every(([k, v]) => l[k] === v);

/** Every variable some service parses (its config.ts or the runtime's common env). */
function knownVariables(): Set<string> {
  const files = [
    join(REPO_ROOT, 'libs/runtime/src/env.ts'),
    ...SERVICES.map((s) => join(REPO_ROOT, `apps/${s}/src/config.ts`)),
  ];
  return new Set(files.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/^\s*([A-Z][A-Z0-9_]{2,}):/gm)].map((m) => m[1]!)));
}

describe('deploy/k8s manifests', () => {
  const manifests = load(K8S);
  const of = <K extends Kind>(kind: K) => manifests.filter((m) => m.doc.kind === kind).map((m) => ({ file: m.file, ...(schemas[kind].parse(m.doc) as z.infer<(typeof schemas)[K]>) }));

  it('parses every manifest the kustomization lists, each a known kind fitting its schema', () => {
    expect(manifests.length).toBeGreaterThan(10);
    for (const { file, doc } of manifests) {
      const schema = schemas[doc.kind as Kind];
      expect({ file, kind: doc.kind, known: !!schema }).toEqual({ file, kind: doc.kind, known: true });
      const result = schema.safeParse(doc);
      expect({ file, name: doc.metadata?.name, issues: result.success ? [] : result.error.issues }).toEqual({ file, name: doc.metadata?.name, issues: [] });
    }
    const keys = manifests.map((m) => `${m.doc.kind}/${m.doc.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('runs every service from its built entry point, with probes on the port it listens on', () => {
    const config = of('ConfigMap').find((c) => c.metadata.name === 'trellis-config')!;
    const shutdownGraceMs = Number(config.data.SHUTDOWN_GRACE_MS);
    expect(shutdownGraceMs).toBeGreaterThan(0);
    const deployments = of('Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(SERVICES.map((s) => `trellis-${s}`).sort());
    for (const service of SERVICES) {
      const d = deployments.find((x) => x.metadata.name === `trellis-${service}`)!;
      expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
      const [c] = d.spec.template.spec.containers;
      expect(c!.command).toEqual(['node', `dist/apps/${service}/src/main.js`]);
      expect(existsSync(join(REPO_ROOT, `apps/${service}/src/main.ts`))).toBe(true);
      const http = c!.ports.find((p) => p.name === 'http')!;
      expect(http.containerPort).toBe(Number(config.data.PORT));
      expect(c!.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(c!.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(config.data.HOST).toBe('0.0.0.0');
      // The pod outlives the service's own drain: preStop sleep + SHUTDOWN_GRACE_MS < grace period.
      const preStopSeconds = Number(c!.lifecycle?.preStop.exec.command[0] === 'sleep' ? c!.lifecycle.preStop.exec.command[1] : 0);
      expect(d.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(shutdownGraceMs + preStopSeconds * 1000);
      // Every ConfigMap and Secret reference resolves.
      for (const from of c!.envFrom ?? []) if (from.configMapRef) expect(of('ConfigMap').map((x) => x.metadata.name)).toContain(from.configMapRef.name);
      const secret = parseOne(join(K8S, 'secret.example.yaml')) as { metadata: { name: string }; stringData: Record<string, string> };
      for (const e of c!.env ?? []) {
        if (e.valueFrom?.secretKeyRef) expect(`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`).toBe(`${secret.metadata.name}/${e.valueFrom.secretKeyRef.key}`);
        if (e.valueFrom?.secretKeyRef) expect(Object.keys(secret.stringData)).toContain(e.valueFrom.secretKeyRef.key);
      }
    }
  });

  it('sets only variables the services read', () => {
    const known = knownVariables();
    const config = of('ConfigMap').find((c) => c.metadata.name === 'trellis-config')!;
    const set = [...Object.keys(config.data), ...of('Deployment').flatMap((d) => d.spec.template.spec.containers.flatMap((c) => (c.env ?? []).map((e) => e.name)))];
    expect(set.filter((v) => !known.has(v))).toEqual([]);
  });

  it('guards every workload with a PodDisruptionBudget and every Service with matching pods and ports', () => {
    const workloads = [...of('Deployment'), ...of('StatefulSet')];
    const pdbs = of('PodDisruptionBudget');
    for (const w of workloads) {
      const guarding = pdbs.filter((p) => matches(p.spec.selector.matchLabels, w.spec.template.metadata.labels));
      expect({ workload: w.metadata.name, pdbs: guarding.length }).toEqual({ workload: w.metadata.name, pdbs: 1 });
      const pdb = guarding[0]!;
      // A PDB must leave room for a disruption, or node drains block forever.
      if ('minAvailable' in pdb.spec) expect(pdb.spec.minAvailable).toBeLessThan(w.spec.replicas ?? Infinity);
    }
    for (const svc of of('Service')) {
      const pods = workloads.filter((w) => matches(svc.spec.selector, w.spec.template.metadata.labels));
      expect({ service: svc.metadata.name, workloads: pods.length }).toEqual({ service: svc.metadata.name, workloads: 1 });
      const ports = pods[0]!.spec.template.spec.containers.flatMap((c) => c.ports);
      for (const p of svc.spec.ports) expect(ports.some((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort)).toBe(true);
    }
  });

  it('autoscales executors with KEDA on the backlog of their JetStream consumer', () => {
    const [scaled, ...others] = of('ScaledObject');
    expect(others).toHaveLength(0);
    const executor = of('Deployment').find((d) => d.metadata.name === 'trellis-executor')!;
    expect(scaled!.spec.scaleTargetRef.name).toBe(executor.metadata.name);
    // KEDA owns the replica count: a `replicas` field would make every apply fight it.
    expect(executor.spec.replicas).toBeUndefined();
    expect(scaled!.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(scaled!.spec.maxReplicaCount).toBeGreaterThan(scaled!.spec.minReplicaCount);
    const config = of('ConfigMap').find((c) => c.metadata.name === 'trellis-config')!;
    const trigger = scaled!.spec.triggers[0]!.metadata;
    const s = subjects(config.data.TRELLIS_NAMESPACE!);
    expect(trigger.stream).toBe(s.streams.work);
    expect(trigger.consumer).toBe('executor-default');
    // One replica per EXECUTOR_CONCURRENCY steps waiting.
    const concurrency = executor.spec.template.spec.containers[0]!.env?.find((e) => e.name === 'EXECUTOR_CONCURRENCY')?.value;
    expect(trigger.lagThreshold).toBe(concurrency);
    // On a cluster KEDA asks the consumer's leader at `<server_name>.<endpoint>`: the endpoint
    // is the headless Service of the NATS StatefulSet, whose pods are named as their servers.
    const [host, monitorPort] = trigger.natsServerMonitoringEndpoint.split(':');
    const [serviceName, namespace] = host!.split('.');
    const nats = of('Service').find((x) => x.metadata.name === serviceName)!;
    expect(nats.spec.clusterIP).toBe('None');
    expect(namespace).toBe('trellis');
    expect(nats.spec.ports.find((p) => p.port === Number(monitorPort))?.name).toBe('monitor');
    const [statefulSet] = of('StatefulSet');
    expect(statefulSet!.spec.serviceName).toBe(serviceName);
    expect(statefulSet!.spec.template.spec.containers[0]!.env?.find((e) => e.name === 'NATS_SERVER_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
  });

  it('bundles NATS as a 3-node JetStream cluster running deploy/nats/cluster.conf, and the services know every node', () => {
    const [nats] = of('StatefulSet');
    expect(nats!.spec.replicas).toBe(3);
    const headless = of('Service').find((x) => x.metadata.name === nats!.spec.serviceName)!;
    expect(headless.spec.clusterIP).toBe('None');
    const conf = of('ConfigMap').find((c) => c.metadata.name === 'trellis-nats-config')!;
    expect(conf.data['cluster.conf']).toBe(readFileSync(join(REPO_ROOT, 'deploy/nats/cluster.conf'), 'utf8'));
    const env = Object.fromEntries((nats!.spec.template.spec.containers[0]!.env ?? []).map((e) => [e.name, e.value]));
    const routes = [env.NATS_ROUTE_1, env.NATS_ROUTE_2, env.NATS_ROUTE_3];
    expect(routes).toEqual([0, 1, 2].map((i) => `nats://${nats!.metadata.name}-${i}.${headless.metadata.name}:${env.NATS_CLUSTER_PORT}`));
    const config = of('ConfigMap').find((c) => c.metadata.name === 'trellis-config')!;
    expect(config.data.NATS_URL!.split(',')).toEqual([0, 1, 2].map((i) => `nats://${nats!.metadata.name}-${i}.${headless.metadata.name}:${env.NATS_CLIENT_PORT}`));
    expect(config.data.NATS_STREAM_REPLICAS).toBe('3');
    // Every variable the configuration file reads is set on the pod.
    const wanted = [...readFileSync(join(REPO_ROOT, 'deploy/nats/cluster.conf'), 'utf8').replace(/#.*$/gm, '').matchAll(/\$([A-Z_0-9]+)/g)].map((m) => m[1]!);
    for (const v of wanted) expect(Object.keys(env)).toContain(v);
  });

  it('keeps the example Secret out of the kustomization', () => {
    expect(manifests.some((m) => m.file.endsWith('secret.example.yaml'))).toBe(false);
    expect(dirname(join(K8S, 'secret.example.yaml'))).toBe(K8S);
  });
});
