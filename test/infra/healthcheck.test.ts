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
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { writeTestKeyPair } from '@joblet/testkit';
import { isClientCertDemand, probeHost } from '../../infra/docker/healthcheck.js';
import { REPO, hasCommand } from './repo.js';

/** Nothing listens here: a probe that asked Redis would fail. */
const NO_REDIS = 'redis://127.0.0.1:1';

describe('health check helpers', () => {
  it('probes loopback for a wildcard bind address', () => {
    expect(probeHost('0.0.0.0')).toBe('127.0.0.1');
    expect(probeHost('::')).toBe('127.0.0.1');
    expect(probeHost('10.1.2.3')).toBe('10.1.2.3');
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
  function run(app: string, env: Record<string, string>, kind?: string) {
    return new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [script, app, ...(kind ? [kind] : [])], {
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
      res.statusCode = req.url === '/healthz' ? status : req.url === '/readyz' ? 503 : 404;
      res.end('{}');
    });
    const port = await listen(server);
    try {
      const env = { API_HOST: '127.0.0.1', API_PORT: String(port) };
      expect(await run('api', env)).toMatchObject({ code: 0 });
      // `ready` asks /readyz (Redis and the store), which this server says are down.
      const notReady = await run('api', env, 'ready');
      expect(notReady.code).toBe(1);
      expect(notReady.out).toContain('/readyz answered 503');
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

  it.each([
    ['worker', 'WORKER_HEALTH_PORT'],
    ['agent', 'AGENT_HEALTH_PORT'],
  ] as const)(
    '%s: live asks its /livez, ready its /readyz, neither Redis (%s)',
    async (app, variable) => {
      const { privateKeyFile, publicKeyFile } = writeTestKeyPair(join(dir, `keys-${app}`));
      // Alive, not ready: as during a Redis outage.
      const server = createHttpServer((req, res) => {
        res.statusCode = req.url === '/livez' ? 200 : req.url === '/readyz' ? 503 : 404;
        res.end('{}');
      });
      const port = await listen(server);
      const env = {
        REDIS_URL: NO_REDIS,
        ...(app === 'worker'
          ? { WORKER_ARCH: 'amd64', WORKER_SIGNING_KEY_FILE: privateKeyFile }
          : { AGENT_NAME: 'node-hc', AGENT_ARCH: 'amd64', AGENT_TRUSTED_KEYS: publicKeyFile }),
      };
      try {
        const live = await run(app, { ...env, [variable]: String(port) });
        expect(live, live.out).toMatchObject({ code: 0 });
        expect(live.out).toContain('/livez 200');
        const explicit = await run(app, { ...env, [variable]: String(port) }, 'live');
        expect(explicit.code, explicit.out).toBe(0);
        const ready = await run(app, { ...env, [variable]: String(port) }, 'ready');
        expect(ready.code).toBe(1);
        expect(ready.out).toContain('/readyz answered 503');
      } finally {
        server.close();
      }
      const unset = await run(app, env);
      expect(unset.code).toBe(1);
      expect(unset.out).toContain(`${variable} is not set`);
    },
  );

  it('refuses an unknown app name', async () => {
    const r = await run('cli', {});
    expect(r.code).toBe(1);
    expect(r.out).toContain('usage: healthcheck api|worker|agent');
  });
});
