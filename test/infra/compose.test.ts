/**
 * docker-compose.yml: valid for `docker-compose config` (Debian's docker-compose package, v1
 * syntax — images cannot be built here, so this is what can be checked), and consistent with
 * what the apps read and how they shut down.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { APPS, REPO, appEnvKeys, durationS, hasCommand, type App } from './repo.js';

const hasCompose = hasCommand('docker-compose', ['version']);
if (!hasCompose) {
  console.warn(
    'skipping docker-compose checks: `docker-compose` is not installed (apt-get install docker-compose)',
  );
}

interface Service {
  build?: { target?: string; dockerfile?: string };
  environment?: Record<string, string | null>;
  ports?: (string | { published?: string | number; host_ip?: string })[];
  container_name?: string;
  privileged?: boolean;
  platform?: string;
  stop_grace_period?: string;
  stop_signal?: string;
  restart?: string;
  healthcheck?: { test: string[] };
  command?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  hostname?: string;
}

/** `docker-compose config` of the repo's file(s): the fully resolved model, as compose sees it. */
function composeConfig(files: string[], envFile?: string): Record<string, Service> {
  const args = [...(envFile ? ['--env-file', envFile] : [])];
  for (const f of files) args.push('-f', f);
  const r = spawnSync('docker-compose', [...args, 'config'], {
    cwd: REPO,
    encoding: 'utf8',
    // Our own defaults only: variables of the calling shell must not leak into the check.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  expect(r.stderr, `docker-compose config failed:\n${r.stderr}`).not.toMatch(/ERROR|invalid/i);
  expect(r.status).toBe(0);
  return (parse(r.stdout) as { services: Record<string, Service> }).services;
}

/** Which app a service runs, from its build target. */
const appOf = (s: Service): App | undefined =>
  APPS.find((a) => s.build?.target === a && s.build.dockerfile === 'infra/docker/app.Dockerfile');

describe.skipIf(!hasCompose)('docker-compose.yml', () => {
  const services = hasCompose ? composeConfig(['docker-compose.yml']) : {};

  it('passes `docker-compose config`, also with the cgroup v1 override and the example .env', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'agent',
        'agent-arm64',
        'api',
        'minio',
        'minio-init',
        'redis',
        'redis-secrets',
        'worker-amd64',
        'worker-arm64',
      ].sort(),
    );
    const v1 = composeConfig(['docker-compose.yml', 'infra/compose/cgroup-v1.yml']);
    for (const name of ['worker-amd64', 'worker-arm64', 'agent']) {
      expect(v1[name]!.volumes).toContain('/sys/fs/cgroup:/sys/fs/cgroup:rw');
      // The override adds the mount; the service's own volumes stay.
      expect(v1[name]!.volumes!.length).toBeGreaterThan(1);
    }
    const withEnv = composeConfig(['docker-compose.yml'], 'infra/compose/farm.env.example');
    expect(withEnv.minio!.environment!.MINIO_ROOT_PASSWORD).toBe('change-me-minio-root');
  });

  it('sets only variables the apps read', () => {
    for (const [name, s] of Object.entries(services)) {
      const app = appOf(s);
      if (!app) continue;
      const known = new Set(appEnvKeys(app));
      const unknown = Object.keys(s.environment ?? {}).filter((k) => !known.has(k));
      expect(unknown, `${name} sets variables ${app} does not read`).toEqual([]);
    }
  });

  it('gives every farm process the same Redis, prefix and bucket, and the right store key', () => {
    const farm = Object.entries(services).filter(([, s]) => appOf(s));
    expect(farm.length).toBe(5);
    const redisUrls = new Set(farm.map(([, s]) => s.environment!.REDIS_URL));
    expect([...redisUrls]).toEqual(['redis://redis:6379']); // credentials are per app, below
    expect(new Set(farm.map(([, s]) => s.environment!.STORAGE_URL)).size).toBe(1);
    expect(new Set(farm.map(([, s]) => s.environment!.QUEUE_PREFIX)).size).toBe(1);
    const key = (n: string) => services[n]!.environment!.STORAGE_ACCESS_KEY;
    const secret = (n: string) => services[n]!.environment!.STORAGE_SECRET_KEY;
    expect(new Set(['api', 'worker-amd64', 'agent'].map(key)).size).toBe(3);
    expect(key('worker-arm64')).toBe(key('worker-amd64'));
    expect(key('agent-arm64')).toBe(key('agent'));
    const init = services['minio-init']!.environment!;
    for (const [role, service] of [
      ['WRITER', 'worker-amd64'],
      ['READER', 'agent'],
      ['API', 'api'],
    ] as const) {
      expect(init[`${role}_ACCESS_KEY`], role).toBe(key(service));
      expect(init[`${role}_SECRET_KEY`], role).toBe(secret(service));
    }
  });

  it('gives each app its own Redis ACL user through files: no password on a command line or in an environment', () => {
    const redis = services.redis!;
    expect(redis.command).toEqual(expect.arrayContaining(['--aclfile', '/secrets/users.acl']));
    expect(redis.command!.join(' ')).not.toMatch(/--user|--requirepass|>|password/i);
    expect(redis.volumes).toContain('farm-secrets:/secrets:ro');
    expect(services['redis-secrets']!.volumes).toContain('farm-secrets:/secrets:rw');
    const users = new Set<string>();
    for (const [name, x] of Object.entries(services)) {
      for (const [k, v] of Object.entries(x.environment ?? {})) {
        expect(k, `${name} ${k}`).not.toMatch(/^REDIS_PASSWORD$|^REDISCLI_AUTH$/);
        if (k.startsWith('REDIS') && k !== 'REDIS_PASSWORD_FILE')
          expect(String(v), `${name} ${k}`).not.toMatch(/change-me|local-only/);
      }
      const app = appOf(x);
      if (!app) continue;
      const env = x.environment!;
      expect(env.REDIS_USERNAME, name).toBe(app);
      expect(env.REDIS_PASSWORD_FILE, name).toBe(`/run/farm-secrets/redis-${app}.password`);
      expect(x.volumes, name).toContain('farm-secrets:/run/farm-secrets:ro');
      users.add(app);
    }
    expect([...users].sort()).toEqual(['agent', 'api', 'worker']);
  });

  it('persists Redis with AOF (fsync every second) and never evicts BullMQ keys', () => {
    const cmd = services.redis!.command!.join(' ');
    expect(cmd).toContain('--appendonly yes');
    expect(cmd).toContain('--appendfsync everysec');
    expect(cmd).toContain('--maxmemory-policy noeviction');
    expect(services.redis!.volumes!.some((v) => v.endsWith(':/data:rw'))).toBe(true);
    expect(services.redis!.ports).toBeUndefined();
  });

  it('publishes the API on 127.0.0.1 only, by default', () => {
    const ports = services.api!.ports!;
    expect(ports).toHaveLength(1);
    const p = ports[0]!;
    const text = typeof p === 'string' ? p : `${p.host_ip}:${p.published}`;
    expect(text).toMatch(/^127\.0\.0\.1:7070/);
  });

  it('keeps worker pools scalable: no container_name, no host port, an arch each', () => {
    for (const [name, arch] of [
      ['worker-amd64', 'amd64'],
      ['worker-arm64', 'arm64'],
    ] as const) {
      const s = services[name]!;
      expect(s.container_name).toBeUndefined();
      expect(s.ports).toBeUndefined();
      expect(s.environment!.WORKER_ARCH).toBe(arch);
      expect(s.platform).toBe(`linux/${arch}`);
      expect(s.privileged).toBe(true);
      // Per-replica anonymous volumes for the cache and the work dir (real filesystems).
      expect(s.volumes).toEqual(
        expect.arrayContaining(['/var/cache/joblet-farm', '/var/lib/joblet-farm/work']),
      );
    }
  });

  it('gives a stopping worker longer than it can take to drain', () => {
    for (const name of ['worker-amd64', 'worker-arm64']) {
      const s = services[name]!;
      expect(s.stop_signal).toBe('SIGTERM');
      const drain = Number(s.environment!.WORKER_SHUTDOWN_TIMEOUT_S);
      // The worker hands builds back after the timeout and exits within 90 s more (its index.ts).
      expect(durationS(s.stop_grace_period!)).toBeGreaterThan(drain + 90);
      expect(durationS(s.stop_grace_period!)).toBeGreaterThanOrEqual(15 * 60);
    }
    const agent = services.agent!;
    expect(durationS(agent.stop_grace_period!)).toBeGreaterThan(
      Number(agent.environment!.AGENT_SHUTDOWN_TIMEOUT_S) + 30,
    );
  });

  it('has a health check and a restart policy on every long-running service', () => {
    for (const [name, s] of Object.entries(services)) {
      if (name === 'minio-init' || name === 'redis-secrets') {
        expect(s.restart).toBe('no');
        continue;
      }
      expect(s.healthcheck?.test, name).toBeDefined();
      expect(s.restart, name).toBe('unless-stopped');
    }
    for (const name of ['api', 'worker-amd64', 'agent']) {
      expect(services[name]!.depends_on).toMatchObject({
        redis: { condition: 'service_healthy' },
        'minio-init': { condition: 'service_completed_successfully' },
      });
    }
  });

  it("health-checks each app's liveness (the process answering), which never asks Redis", () => {
    const apps = { api: 'api', 'worker-amd64': 'worker', 'worker-arm64': 'worker', agent: 'agent' };
    for (const [name, app] of Object.entries(apps)) {
      const s = services[name]!;
      expect(s.healthcheck?.test, name).toEqual([
        'CMD',
        'node',
        'dist/healthcheck.js',
        app,
        'live',
      ]);
      // The worker and the agent serve /livez on this port (the API its /healthz on API_PORT).
      if (app !== 'api') {
        expect(s.environment?.[`${app.toUpperCase()}_HEALTH_PORT`], name).toMatch(/^\d+$/);
      }
    }
  });

  it('runs the agent privileged with a named runtimes volume and a stable node name', () => {
    const a = services.agent!;
    expect(a.privileged).toBe(true);
    expect(a.volumes).toContain('runtimes:/opt/joblet/runtimes:rw');
    expect(a.hostname).toMatch(/^[a-z0-9][a-z0-9.-]*$/);
    expect(a.environment!.AGENT_NAME).toBeUndefined(); // from the hostname
  });

  it('gives publishing workers the signing key and agents only the public keys they trust', () => {
    const mountOf = (s: Service, file: string) =>
      s.volumes?.find((v) => file.startsWith(`${v.split(':')[1]}/`));
    for (const name of ['worker-amd64', 'worker-arm64']) {
      const s = services[name]!;
      const key = s.environment!.WORKER_SIGNING_KEY_FILE!;
      expect(key, name).toMatch(/^\/.+\.pem$/);
      expect(mountOf(s, key), name).toMatch(
        /\/infra\/compose\/signing:\/etc\/joblet-farm\/signing:ro$/,
      );
    }
    for (const name of ['agent', 'agent-arm64']) {
      const s = services[name]!;
      expect(s.environment!.WORKER_SIGNING_KEY_FILE).toBeUndefined();
      const trusted = s.environment!.AGENT_TRUSTED_KEYS!.split(',');
      expect(trusted.length, name).toBeGreaterThan(0);
      for (const f of trusted) expect(mountOf(s, f), `${name} ${f}`).toMatch(/trusted-keys.*:ro$/);
      // The private key's directory is never mounted into an agent.
      expect(s.volumes!.filter((v) => v.includes('/signing:'))).toEqual([]);
    }
  });
});

describe('compose settings and MinIO set-up files', () => {
  it('documents every ${VARIABLE} of docker-compose.yml in farm.env.example', () => {
    const compose = readFileSync(join(REPO, 'docker-compose.yml'), 'utf8').replace(
      /^\s*#.*$/gm,
      '',
    );
    const used = new Set([...compose.matchAll(/\$\{([A-Z][A-Z0-9_]*)[:}-]/g)].map((m) => m[1]!));
    const example = readFileSync(join(REPO, 'infra/compose/farm.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
    expect([...used].filter((v) => !documented.has(v))).toEqual([]);
    expect([...documented].filter((v) => !used.has(v))).toEqual([]);
  });

  it('gives agents a read-only policy and workers read/write', () => {
    const policy = (f: string) =>
      JSON.parse(readFileSync(join(REPO, 'infra/compose/minio', f), 'utf8')) as {
        Statement: { Action: string[]; Resource: string[] }[];
      };
    const actions = (f: string) => policy(f).Statement.flatMap((s) => s.Action);
    const reader = actions('farm-reader.policy.json');
    const writer = actions('farm-writer.policy.json');
    const api = actions('farm-api.policy.json');
    expect(reader.filter((a) => /Put|Delete|Abort/.test(a))).toEqual([]);
    expect(writer).toEqual(expect.arrayContaining([...reader, 's3:PutObject', 's3:DeleteObject']));
    // The API reads and deletes (runtime removal, garbage collection) and writes retention pins
    // (`rnx runtime pin`), nothing else: no artifact, index or manifest upload.
    expect(api).toEqual(expect.arrayContaining([...reader, 's3:DeleteObject']));
    const puts = policy('farm-api.policy.json').Statement.filter((s) =>
      s.Action.some((a) => /Put|Multipart/.test(a)),
    );
    expect(puts.flatMap((s) => s.Action)).toEqual(['s3:PutObject']);
    expect(puts.flatMap((s) => s.Resource)).toEqual(['arn:aws:s3:::BUCKET/pins/*']);
    for (const f of [
      'farm-reader.policy.json',
      'farm-writer.policy.json',
      'farm-api.policy.json',
    ]) {
      for (const r of policy(f).Statement.flatMap((s) => s.Resource)) {
        expect(r).toMatch(/^arn:aws:s3:::BUCKET(\/(pins\/)?\*)?$/); // the init script substitutes BUCKET
      }
    }
  });

  /** Runs minio-init.sh with a fake `mc` that logs its arguments; returns the log and status. */
  function runInit(attachOutput: string, attachStatus: number) {
    const dir = mkdtempSync(join(tmpdir(), 'minio-init-'));
    try {
      mkdirSync(join(dir, 'bin'));
      const log = join(dir, 'mc.log');
      writeFileSync(
        join(dir, 'bin', 'mc'),
        [
          '#!/bin/sh',
          `echo "$*" >> ${log}`,
          'case "$1 $2 $3" in',
          `  "admin policy attach") echo "${attachOutput}"; exit ${attachStatus} ;;`,
          '  "admin policy create") cat "$6" >> ' + log + ' ;;',
          'esac',
          'exit 0',
        ].join('\n'),
      );
      chmodSync(join(dir, 'bin', 'mc'), 0o755);
      const r = spawnSync('sh', [join(REPO, 'infra/compose/minio/minio-init.sh')], {
        encoding: 'utf8',
        env: {
          PATH: `${join(dir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
          POLICY_DIR: join(REPO, 'infra/compose/minio'),
          MINIO_URL: 'http://minio:9000',
          MINIO_ROOT_USER: 'root',
          MINIO_ROOT_PASSWORD: 'rootpw',
          BUCKET: 'my-bucket',
          WRITER_ACCESS_KEY: 'w',
          WRITER_SECRET_KEY: 'wsecret1',
          READER_ACCESS_KEY: 'r',
          READER_SECRET_KEY: 'rsecret1',
          API_ACCESS_KEY: 'a',
          API_SECRET_KEY: 'asecret1',
        },
      });
      return { status: r.status, stderr: r.stderr, log: readFileSync(log, 'utf8') };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('minio-init.sh creates the bucket, the three users and attaches their policies', () => {
    const r = runInit('Attached Policies: [farm-writer]', 0);
    expect(r.status, r.stderr).toBe(0);
    expect(r.log).toContain('mb --ignore-existing farm/my-bucket');
    expect(r.log).toContain('admin user add farm w wsecret1');
    expect(r.log).toContain('admin user add farm r rsecret1');
    expect(r.log).toMatch(/admin policy attach farm farm-writer --user w/);
    expect(r.log).toMatch(/admin policy attach farm farm-reader --user r/);
    expect(r.log).toContain('admin user add farm a asecret1');
    expect(r.log).toMatch(/admin policy attach farm farm-api --user a/);
    expect(r.log).toContain('arn:aws:s3:::my-bucket/*');
    expect(r.log).not.toContain('arn:aws:s3:::BUCKET');
  });

  it('minio-init.sh is idempotent (policy already attached) but fails on a real error', () => {
    expect(runInit('The specified policy change is already in effect.', 1).status).toBe(0);
    const failed = runInit('Access Denied.', 1);
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toContain('Access Denied');
  });
});
