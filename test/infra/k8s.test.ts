/**
 * infra/k8s: every manifest parses and names its kind; containers set only variables their app
 * reads; references between objects resolve; KEDA scales each pool on its own arch's numbers.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { PoolView } from '@joblet/spec';
import { REPO, appEnvKeys, filesUnder, type App } from './repo.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}
interface Probe {
  httpGet?: { path: string; port: string | number; scheme?: string };
  exec?: { command: string[] };
}
interface Container {
  name: string;
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: { privileged?: boolean };
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // Manifests are checked field by field below; their spec shapes vary by kind.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

const files = filesUnder('infra/k8s', /\.ya?ml$/).filter((f) => !f.endsWith('/values.yaml'));
const docs: { file: string; m: Manifest }[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    expect(d.errors, file).toEqual([]);
    return { file: relative(REPO, file), m: d.toJS() as Manifest };
  }),
);
/** The default set: what `kubectl apply -f infra/k8s/` applies (not the directories below it). */
const defaults = docs.filter(
  (d) => !d.file.includes('/keda-prometheus/') && !d.file.includes('/keda-operator/'),
);
/** KEDA's own installation: Helm values and the farm CA in KEDA's namespace. */
const kedaOperator = docs.filter((d) => d.file.includes('/keda-operator/'));
const byKind = (kind: string, set = defaults) =>
  set.filter((d) => d.m.kind === kind).map((d) => d.m);
const workloads = () => [...byKind('Deployment'), ...byKind('DaemonSet')];
const containers = (m: Manifest): Container[] => m.spec.template.spec.containers as Container[];
const envValue = (c: Container, name: string) => c.env?.find((e) => e.name === name)?.value;

describe('infra/k8s manifests', () => {
  it('parse, and each has apiVersion, kind, metadata.name and the farm namespace', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const { file, m } of docs) {
      expect(m.apiVersion, file).toMatch(/^[a-z0-9.]+(\/v[0-9a-z]+)?$|^v1$/);
      expect(m.kind, file).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(m.metadata?.name, file).toMatch(/^[a-z0-9][a-z0-9.-]*$/);
      if (m.kind !== 'Namespace')
        expect(m.metadata.namespace, file).toBe(
          file.includes('/keda-operator/') ? 'keda' : 'joblet-farm',
        );
    }
    // No two objects of one kind share a name within the default set.
    const ids = defaults.map((d) => `${d.m.kind}/${d.m.metadata.name}`);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('set in each container only variables its app reads', () => {
    const seen = new Set<string>();
    for (const w of workloads()) {
      const app = w.metadata.labels?.['app.kubernetes.io/component'] as App;
      expect(['api', 'worker', 'agent'], w.metadata.name).toContain(app);
      seen.add(app);
      const reads = new Set(appEnvKeys(app));
      for (const c of containers(w)) {
        const unknown = (c.env ?? []).map((e) => e.name).filter((n) => !reads.has(n));
        expect(unknown, `${w.metadata.name}/${c.name}`).toEqual([]);
        for (const required of ['REDIS_URL', 'QUEUE_PREFIX', 'STORAGE_URL']) {
          expect(
            c.env?.map((e) => e.name),
            `${w.metadata.name}: ${required}`,
          ).toContain(required);
        }
      }
    }
    expect([...seen].sort()).toEqual(['agent', 'api', 'worker']);
  });

  it('probe liveness on the process alone (never Redis) and readiness on Redis and the store', () => {
    for (const w of workloads()) {
      const app = w.metadata.labels?.['app.kubernetes.io/component'] as App;
      for (const c of containers(w)) {
        const where = `${w.metadata.name}/${c.name}`;
        // The API's /healthz and the worker's and agent's /livez answer without asking anything.
        expect(c.livenessProbe?.httpGet?.path, where).toBe(app === 'api' ? '/healthz' : '/livez');
        expect(c.livenessProbe?.exec, where).toBeUndefined();
        expect(c.readinessProbe?.httpGet?.path, where).toBe('/readyz');
        expect(c.readinessProbe?.httpGet?.port, where).toBe(c.livenessProbe?.httpGet?.port);
        if (app === 'api') continue;
        // The named port is the one the app serves its probes on, on the pod's address.
        const port = c.ports?.find((p) => p.name === c.livenessProbe?.httpGet?.port);
        expect(port, where).toBeDefined();
        const prefix = app.toUpperCase();
        expect(envValue(c, `${prefix}_HEALTH_PORT`), where).toBe(String(port?.containerPort));
        expect(envValue(c, `${prefix}_HEALTH_HOST`), where).toBe('0.0.0.0');
      }
    }
  });

  it('reference only Secret and ConfigMap keys the manifests define', () => {
    const defined = new Set<string>();
    for (const s of byKind('Secret')) {
      for (const k of Object.keys({ ...s.data, ...s.stringData }))
        defined.add(`${s.metadata.name}/${k}`);
    }
    for (const s of byKind('ConfigMap')) {
      for (const k of Object.keys(s.data ?? {})) defined.add(`${s.metadata.name}/${k}`);
    }
    for (const w of workloads()) {
      for (const e of containers(w).flatMap((c) => c.env ?? [])) {
        const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
        if (ref)
          expect(defined, `${w.metadata.name} ${e.name}`).toContain(`${ref.name}/${ref.key}`);
      }
    }
  });

  it('gives each app its own Redis user and the agents a read-only store key', () => {
    const secretOf = (w: Manifest, name: string) =>
      containers(w)[0]!.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef?.name;
    const users = new Map<string, string>();
    for (const w of workloads()) {
      const component = w.metadata.labels?.['app.kubernetes.io/component'];
      const user = secretOf(w, 'REDIS_USERNAME');
      expect(user, w.metadata.name).toBe(`joblet-farm-redis-${component}`);
      expect(secretOf(w, 'REDIS_PASSWORD'), w.metadata.name).toBe(user);
      users.set(component!, user!);
      // No password in the shared URL: it names where Redis is, not who connects.
      const url = byKind('Secret').find((s) => s.metadata.name === 'joblet-farm-redis')!;
      expect(url.stringData?.REDIS_URL).not.toMatch(/@/);
    }
    expect([...users.keys()].sort()).toEqual(['agent', 'api', 'worker']);
    const agent = workloads().find(
      (w) => w.metadata.labels?.['app.kubernetes.io/component'] === 'agent',
    )!;
    expect(secretOf(agent, 'STORAGE_ACCESS_KEY')).toBe('joblet-farm-store-reader');
    // As in compose: the API has a key of its own (read, delete, pins), the workers the writer's.
    const api = workloads().find(
      (w) => w.metadata.labels?.['app.kubernetes.io/component'] === 'api',
    )!;
    expect(secretOf(api, 'STORAGE_ACCESS_KEY')).toBe('joblet-farm-store-api');
    expect(secretOf(api, 'STORAGE_SECRET_KEY')).toBe('joblet-farm-store-api');
    for (const w of workloads().filter(
      (x) => x.metadata.labels?.['app.kubernetes.io/component'] === 'worker',
    ))
      expect(secretOf(w, 'STORAGE_ACCESS_KEY')).toBe('joblet-farm-store-writer');
  });

  it('runs the API as 2+ stateless replicas, unprivileged, behind a Service', () => {
    const api = byKind('Deployment').find((d) => d.metadata.name === 'joblet-api')!;
    expect(api.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(api.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(containers(api)[0]!.securityContext?.privileged).toBeUndefined();
    const svc = byKind('Service').find((s) => s.metadata.name === 'joblet-api')!;
    expect(svc.spec.selector).toEqual(api.spec.selector.matchLabels);
  });

  it('pins each worker pool to nodes of its arch, privileged, with time to drain', () => {
    const workers = byKind('Deployment').filter(
      (d) => d.metadata.labels?.['app.kubernetes.io/component'] === 'worker',
    );
    expect(workers.map((w) => w.metadata.name).sort()).toEqual([
      'joblet-worker-amd64',
      'joblet-worker-arm64',
    ]);
    for (const w of workers) {
      const c = containers(w)[0]!;
      const arch = envValue(c, 'WORKER_ARCH');
      expect(w.spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/arch': arch });
      expect(w.metadata.name).toBe(`joblet-worker-${arch}`);
      expect(c.securityContext?.privileged).toBe(true);
      const drain = Number(envValue(c, 'WORKER_SHUTDOWN_TIMEOUT_S'));
      expect(w.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(drain + 90);
    }
  });

  it('mounts the signing key into publishing workers only, and trusted public keys into agents', () => {
    interface Volume {
      name: string;
      secret?: { secretName: string };
      configMap?: { name: string };
    }
    interface Mount {
      name: string;
      mountPath: string;
      readOnly?: boolean;
    }
    /** The Secret or ConfigMap a file path in the container comes from, if any. */
    const sourceOf = (w: Manifest, c: Container, file: string) => {
      const mounts = (c as { volumeMounts?: Mount[] }).volumeMounts ?? [];
      const m = mounts.find((v) => file.startsWith(`${v.mountPath}/`));
      const v = (w.spec.template.spec.volumes as Volume[]).find((x) => x.name === m?.name);
      expect(m?.readOnly, file).toBe(true);
      return v?.secret ? `Secret/${v.secret.secretName}` : `ConfigMap/${v?.configMap?.name}`;
    };
    const defined = (ref: string, file: string) => {
      const [kind, name] = ref.split('/');
      const obj = byKind(kind!).find((o) => o.metadata.name === name);
      expect(obj, ref).toBeDefined();
      expect(Object.keys({ ...obj!.data, ...obj!.stringData })).toContain(file.split('/').at(-1));
    };
    for (const w of workloads()) {
      const c = containers(w)[0]!;
      const component = w.metadata.labels?.['app.kubernetes.io/component'];
      const key = envValue(c, 'WORKER_SIGNING_KEY_FILE');
      if (component === 'worker' && envValue(c, 'WORKER_PUBLISH') !== 'false') {
        expect(key, w.metadata.name).toBeDefined();
        const ref = sourceOf(w, c, key!);
        expect(ref).toBe('Secret/joblet-farm-signing-key');
        defined(ref, key!);
      } else if (component === 'agent') {
        const files = envValue(c, 'AGENT_TRUSTED_KEYS')!.split(',');
        for (const f of files) {
          const ref = sourceOf(w, c, f);
          expect(ref).toBe('ConfigMap/joblet-farm-trusted-keys');
          defined(ref, f);
        }
      }
      if (component !== 'worker') {
        const secrets = (w.spec.template.spec.volumes as Volume[]).map((v) => v.secret?.secretName);
        expect(secrets, w.metadata.name).not.toContain('joblet-farm-signing-key');
      }
    }
  });

  it('runs one agent per execution node with the runtimes on the host', () => {
    const [ds] = byKind('DaemonSet');
    const spec = ds!.spec.template.spec;
    const runtimes = (spec.volumes as { hostPath?: { path: string } }[]).find(
      (v) => v.hostPath?.path === '/opt/joblet/runtimes',
    );
    expect(runtimes).toBeDefined();
    const c = containers(ds!)[0]!;
    expect(c.securityContext?.privileged).toBe(true);
    expect(c.env?.find((e) => e.name === 'AGENT_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe(
      'spec.nodeName',
    );
  });

  it.each([
    ['metrics-api (default)', defaults],
    ['prometheus (alternative)', docs.filter((d) => d.file.includes('/keda-prometheus/'))],
  ])('scales each worker pool with KEDA on its own arch: %s', (_label, set) => {
    const scaled = byKind('ScaledObject', set);
    expect(scaled).toHaveLength(2);
    const deployments = byKind('Deployment').map((d) => d.metadata.name);
    const poolFields = Object.keys(PoolView.shape);
    for (const so of scaled) {
      const target = so.spec.scaleTargetRef.name as string;
      expect(deployments).toContain(target);
      const arch = target.replace('joblet-worker-', '');
      for (const t of so.spec.triggers as { type: string; metadata: Record<string, string> }[]) {
        if (t.type === 'metrics-api') {
          expect(t.metadata.url).toMatch(
            /^https:\/\/joblet-api\.joblet-farm\.svc:7070\/v1\/pools$/,
          );
          // GJSON: select the pool by arch (independent of order), then a field /v1/pools has.
          const m = /^pools\.#\(arch=="([a-z0-9]+)"\)\.([A-Za-z]+)$/.exec(
            t.metadata.valueLocation!,
          );
          expect(m, t.metadata.valueLocation).not.toBeNull();
          expect(m![1]).toBe(arch);
          expect(poolFields).toContain(m![2]);
          expect(t.metadata.authMode).toBe('bearer');
        } else {
          expect(t.type).toBe('prometheus');
          const archs = [...t.metadata.query!.matchAll(/arch="([a-z0-9]+)"/g)].map((x) => x[1]);
          expect(archs.length).toBeGreaterThan(0);
          expect(new Set(archs)).toEqual(new Set([arch]));
        }
      }
    }
  });

  it('scales out on the oldest waiting build too, and spares busy workers on scale-in', () => {
    for (const so of byKind('ScaledObject')) {
      const arch = (so.spec.scaleTargetRef.name as string).replace('joblet-worker-', '');
      const triggers = so.spec.triggers as {
        metricType?: string;
        metadata: Record<string, string>;
      }[];
      const fields = triggers.map((t) => t.metadata.valueLocation!.split('.').at(-1));
      expect(fields.sort()).toEqual(['backlog', 'oldestWaitingAgeS']);
      const age = triggers.find((t) => t.metadata.valueLocation!.endsWith('oldestWaitingAgeS'))!;
      expect(age.metricType, arch).toBe('Value');
    }
    const rbac = [...byKind('Role'), ...byKind('RoleBinding'), ...byKind('ServiceAccount')];
    const role = rbac.find(
      (m) => m.kind === 'Role' && m.metadata.name === 'joblet-worker-pod-cost',
    );
    expect((role as unknown as { rules: unknown[] }).rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'] },
    ]);
    const binding = rbac.find((m) => m.kind === 'RoleBinding') as unknown as {
      roleRef: { name: string };
      subjects: { name: string }[];
    };
    expect(binding.roleRef.name).toBe('joblet-worker-pod-cost');
    for (const w of byKind('Deployment').filter((d) =>
      d.metadata.name.startsWith('joblet-worker-'),
    )) {
      expect(w.spec.template.spec.serviceAccountName).toBe(binding.subjects[0]!.name);
      const env = containers(w)[0]!.env!;
      const field = (n: string) => env.find((e) => e.name === n)?.valueFrom?.fieldRef?.fieldPath;
      expect(field('WORKER_POD_NAME')).toBe('metadata.name');
      expect(field('WORKER_POD_NAMESPACE')).toBe('metadata.namespace');
    }
  });

  it("has KEDA's operator trust the farm CA (mounted at /custom/ca by its Helm values)", () => {
    const ca = kedaOperator.map((d) => d.m).find((m) => m.kind === 'ConfigMap')!;
    expect(ca.metadata).toMatchObject({ name: 'joblet-farm-ca', namespace: 'keda' });
    expect(Object.keys(ca.data!)).toEqual(['ca.crt']);
    const values = parseAllDocuments(
      readFileSync(`${REPO}/infra/k8s/keda-operator/values.yaml`, 'utf8'),
    )[0]!.toJS() as {
      volumes: {
        keda: {
          extraVolumes: { name: string; configMap: { name: string } }[];
          extraVolumeMounts: { name: string; mountPath: string }[];
        };
      };
    };
    const { extraVolumes, extraVolumeMounts } = values.volumes.keda;
    expect(extraVolumes).toEqual([
      { name: 'joblet-farm-ca', configMap: { name: ca.metadata.name } },
    ]);
    expect(extraVolumeMounts).toEqual([
      { name: 'joblet-farm-ca', mountPath: '/custom/ca', readOnly: true },
    ]);
  });
});
