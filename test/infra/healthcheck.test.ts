/**
 * The container health check (infra/docker/healthcheck.ts), bundled the way the image bundles it
 * (esbuild flags read from build-app.sh) and run as the image runs it, against real Redis and
 * real HTTP(S) servers.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from 'bullmq';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import { uniqueName, writeTestKeyPair } from '@joblet/testkit';
import {
  heartbeatProblem,
  isClientCertDemand,
  isOurWorker,
  probeHost,
} from '../../infra/docker/healthcheck.js';
import { REPO, hasCommand } from './repo.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

describe('health check helpers', () => {
  it('probes loopback for a wildcard bind address', () => {
    expect(probeHost('0.0.0.0')).toBe('127.0.0.1');
    expect(probeHost('::')).toBe('127.0.0.1');
    expect(probeHost('10.1.2.3')).toBe('10.1.2.3');
  });

  it('recognises a worker of this container by its BullMQ client name', () => {
    const raw = 'joblet:YnVpbGQtYW1kNjQ=:w:box-1-123';
    expect(isOurWorker(raw, { namePrefix: 'box-1-' })).toBe(true);
    expect(isOurWorker(raw, { namePrefix: 'box-2-' })).toBe(false);
    expect(isOurWorker(raw, { name: 'box-1-123', namePrefix: 'x' })).toBe(true);
    expect(isOurWorker('joblet:YnVpbGQtYW1kNjQ=', { namePrefix: '' })).toBe(false);
  });

  it('judges a heartbeat record', () => {
    const now = Date.parse('2030-01-01T00:00:30Z');
    const rec = (o: object) => JSON.stringify({ name: 'n', ...o });
    expect(heartbeatProblem(rec({ lastHeartbeat: '2030-01-01T00:00:25Z' }), now)).toBeUndefined();
    expect(heartbeatProblem(rec({ lastHeartbeat: '2029-12-31T23:59:00Z' }), now)).toMatch(
      /90 s ago/,
    );
    expect(
      heartbeatProblem(rec({ lastHeartbeat: '2030-01-01T00:00:29Z', stoppedAt: 'x' }), now),
    ).toMatch(/stopped/);
    expect(heartbeatProblem(rec({}), now)).toMatch(/last heartbeat/);
    expect(heartbeatProblem(null, now)).toMatch(/no heartbeat/);
  });

  it('treats only client-certificate demands as "TLS is up"', () => {
    expect(isClientCertDemand({ code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' })).toBe(true);
    expect(isClientCertDemand({ code: 'ECONNREFUSED' })).toBe(false);
  });
});

describe('bundled health check', () => {
  let dir = '';
  let script = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'healthcheck-'));
    // The image resolves external packages from /app/node_modules; here, the repo's.
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
    const sh = readFileSync(join(REPO, 'infra/docker/build-app.sh'), 'utf8');
    const external = [...sh.matchAll(/--external:(\S+)/g)].map((m) => m[1]!);
    expect(external).toContain('bullmq');
    script = join(dir, 'healthcheck.js');
    await build({
      entryPoints: [join(REPO, 'infra/docker/healthcheck.ts')],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      external,
      outfile: script,
      logLevel: 'silent',
    });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the bundle like the image does; resolves with its exit code and output. */
  function run(app: string, env: Record<string, string>) {
    return new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [script, app], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
  }

  const listen = async (server: Server): Promise<number> => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  };

  it('api: healthy on /healthz 200, unhealthy otherwise', async () => {
    let status = 200;
    const server = createHttpServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? status : 404;
      res.end('{}');
    });
    const port = await listen(server);
    try {
      const env = { API_HOST: '127.0.0.1', API_PORT: String(port) };
      expect(await run('api', env)).toMatchObject({ code: 0 });
      status = 503;
      const bad = await run('api', env);
      expect(bad.code).toBe(1);
      expect(bad.out).toContain('answered 503');
    } finally {
      server.close();
    }
    expect((await run('api', { API_HOST: '127.0.0.1', API_PORT: String(port) })).code).toBe(1);
  });

  it.skipIf(!hasCommand('openssl', ['version']))(
    'api over TLS: healthy, also when the server demands a client certificate',
    async () => {
      const r = spawnSync(
        'openssl',
        [
          ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'],
          ...['-subj', '/CN=localhost', '-keyout', join(dir, 'server.key')],
          ...['-out', join(dir, 'server.crt')],
        ],
        { stdio: 'ignore' },
      );
      expect(r.status).toBe(0);
      const cert = readFileSync(join(dir, 'server.crt'));
      const key = readFileSync(join(dir, 'server.key'));
      const tlsEnv = (port: number, auth: string) => ({
        API_HOST: '127.0.0.1',
        API_PORT: String(port),
        API_AUTH: auth,
        API_TLS_CERT: join(dir, 'server.crt'),
        API_TLS_KEY: join(dir, 'server.key'),
        API_TLS_CA: join(dir, 'server.crt'),
      });
      const handler = (_req: unknown, res: { end: (s: string) => void }) => res.end('{}');
      const open = createHttpsServer({ cert, key }, handler);
      const mtls = createHttpsServer(
        { cert, key, ca: cert, requestCert: true, rejectUnauthorized: true },
        handler,
      );
      try {
        const ok = await run('api', tlsEnv(await listen(open), 'token'));
        expect(ok.out).toContain('/healthz 200');
        const demanded = await run('api', tlsEnv(await listen(mtls), 'mtls'));
        expect(demanded).toMatchObject({ code: 0 });
        expect(demanded.out).toContain('client certificate required');
      } finally {
        open.close();
        mtls.close();
      }
    },
  );

  it('worker: healthy while a worker of this container consumes its arch queue', async () => {
    const prefix = uniqueName('hc');
    // A publishing worker's configuration includes its signing key.
    const { privateKeyFile } = writeTestKeyPair(join(dir, 'keys-worker'));
    const env = {
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      WORKER_ARCH: 'arm64',
      WORKER_SIGNING_KEY_FILE: privateKeyFile,
    };
    expect(await run('worker', env)).toMatchObject({ code: 1 });
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const worker = new Worker('build-arm64', () => Promise.resolve(), {
      connection,
      prefix,
      name: `${hostname()}-4242`,
    });
    try {
      await worker.waitUntilReady();
      const ok = await run('worker', env);
      expect(ok, ok.out).toMatchObject({ code: 0 });
      expect(ok.out).toContain('consuming build-arm64');
      // The other pool's queue has no worker of ours; an explicit WORKER_NAME must match exactly.
      expect((await run('worker', { ...env, WORKER_ARCH: 'amd64' })).code).toBe(1);
      expect((await run('worker', { ...env, WORKER_NAME: 'someone-else' })).code).toBe(1);
    } finally {
      await worker.close();
      connection.disconnect();
    }
  });

  it("agent: healthy while this node's heartbeat is fresh", async () => {
    const prefix = uniqueName('hc');
    const env = {
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      AGENT_NAME: 'node-hc',
      AGENT_ARCH: 'amd64',
      AGENT_TRUSTED_KEYS: writeTestKeyPair(join(dir, 'keys-agent')).publicKeyFile,
    };
    const redis = new Redis(REDIS_URL);
    const key = `${prefix}:node:node-hc`;
    try {
      expect(await run('agent', env)).toMatchObject({ code: 1 });
      await redis.set(key, JSON.stringify({ lastHeartbeat: new Date().toISOString() }));
      expect(await run('agent', env)).toMatchObject({ code: 0 });
      const stale = new Date(Date.now() - 120_000).toISOString();
      await redis.set(key, JSON.stringify({ lastHeartbeat: stale }));
      expect(await run('agent', env)).toMatchObject({ code: 1 });
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });

  it('refuses an unknown app name', async () => {
    const r = await run('cli', {});
    expect(r.code).toBe(1);
    expect(r.out).toContain('usage: healthcheck api|worker|agent');
  });
});
