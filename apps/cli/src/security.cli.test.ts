/**
 * `rnx` through its real binary against real HTTPS APIs with real certificates: the config
 * file's ca/cert/key and token, the CI variables, the errors a user sees (403 with the role, an
 * unknown CA, an expired or foreign certificate, 429), token management, and an SSE stream over
 * mTLS.
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import {
  AuthKeys,
  makeTestPki,
  startTestApi,
  TokenService,
  type TestApi,
  type TestPki,
} from '@joblet/api/testing';
import { runRnx } from './test-support/rnx-binary.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

let tmp: TempDir;
let pki: TestPki;
let mtls: TestApi; // API_AUTH=mtls: a client certificate is required at the handshake
let mixed: TestApi; // API_AUTH=mtls+token: certificates optional, tokens accepted
let limited: TestApi; // API_AUTH=token on loopback HTTP, 3 requests per 10 s per client

function rnx(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runRnx(args, { HOME: tmp.path, ...env });
}

/** No config file: only the environment speaks (the first test writes ~/.rnx/rnx-config.yml). */
const NO_CONFIG = { RNX_CONFIG: '/nonexistent/rnx-config.yml' };

/** CI-style credentials: a role's certificate and the farm's CA. */
const certEnv = (api: TestApi, role: keyof TestPki['clients']) => ({
  ...NO_CONFIG,
  RNX_SERVER: api.url,
  RNX_CA: pki.ca.cert,
  RNX_CERT: pki.clients[role].cert,
  RNX_KEY: pki.clients[role].key,
});

beforeAll(async () => {
  tmp = await makeTempDir('rnx-sec-');
  pki = await makeTestPki();
  mtls = await startTestApi(['amd64'], {
    listen: true,
    security: { mode: 'mtls', tls: pki.tls(true) },
  });
  mixed = await startTestApi(['amd64'], {
    listen: true,
    security: { mode: 'mtls+token', tls: pki.tls(false) },
  });
  limited = await startTestApi(['amd64'], {
    listen: true,
    security: { mode: 'token', rateLimit: { requests: 3, windowS: 10 } },
  });
});
afterAll(async () => {
  await mtls?.close();
  await mixed?.close();
  await limited?.close();
  await pki?.cleanup();
  await tmp?.cleanup();
});

describe('rnx over mTLS', () => {
  it('uses ca/cert/key from rnx-config.yml (paths relative to the file)', async () => {
    const dir = join(tmp.path, '.rnx');
    mkdirSync(dir, { recursive: true });
    const rel = (p: string) => relative(dir, p);
    writeFileSync(
      join(dir, 'rnx-config.yml'),
      [
        'current: farm',
        'servers:',
        '  farm:',
        `    url: ${mtls.url}`,
        `    ca: ${rel(pki.ca.cert)}`,
        `    cert: ${rel(pki.clients.reader.cert)}`,
        `    key: ${rel(pki.clients.reader.key)}`,
        '',
      ].join('\n'),
    );
    const r = await rnx(['runtime', 'list']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^RUNTIME +VERSION +TYPE +SIZE +DESCRIPTION\n/);
    // --server with the same URL still gets that entry's credentials; another URL would not.
    const viaFlag = await rnx(['--server', mtls.url!, 'node', 'list'], { RNX_CONTEXT: 'farm' });
    expect(viaFlag.code).toBe(0);
    const elsewhere = await rnx(['--server', mixed.url!, 'node', 'list']);
    expect(elsewhere.code).toBe(3);
    expect(elsewhere.stderr).toContain('not signed by a CA this machine trusts');
  });

  it('403 with the role when a developer certificate builds a runtime', async () => {
    const r = await rnx(
      ['runtime', 'build', join(EXAMPLES, 'python-3.11')],
      certEnv(mtls, 'developer'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      'Error: 403: role developer cannot build runtimes; maintainer required',
    );
  });

  it('names the CA file when the server’s certificate is not signed by it', async () => {
    const r = await rnx(['runtime', 'list'], {
      ...certEnv(mtls, 'reader'),
      RNX_CA: pki.foreign.ca,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      `Error: the server's certificate is not signed by the CA in ${pki.foreign.ca}`,
    );
    const { RNX_CA: _, ...withoutCa } = certEnv(mtls, 'reader');
    const noCa = await rnx(['runtime', 'list'], withoutCa);
    expect(noCa.code).toBe(3);
    expect(noCa.stderr).toMatch(
      /not signed by a CA this machine trusts .*set ca: in rnx-config\.yml or RNX_CA/,
    );
  });

  it('says the client certificate expired, before connecting', async () => {
    const r = await rnx(['runtime', 'list'], {
      ...certEnv(mtls, 'reader'),
      RNX_CERT: pki.expired.cert,
      RNX_KEY: pki.expired.key,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      new RegExp(
        `Error: the client certificate ${pki.expired.cert} expired on \\d{4}-\\d\\d-\\d\\dT`,
      ),
    );
  });

  it('explains a refused client certificate, and a missing one', async () => {
    const foreign = await rnx(['runtime', 'list'], {
      ...certEnv(mtls, 'reader'),
      RNX_CERT: pki.foreign.cert,
      RNX_KEY: pki.foreign.key,
    });
    expect(foreign.code).toBe(3);
    expect(foreign.stderr).toContain(
      `it most likely rejected the client certificate ${pki.foreign.cert} (it is not signed by the CA in ${pki.ca.cert}`,
    );
    const none = await rnx(['runtime', 'list'], {
      ...NO_CONFIG,
      RNX_SERVER: mtls.url,
      RNX_CA: pki.ca.cert,
    });
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/the server requires a client certificate .*RNX_CERT and RNX_KEY/);
  });

  it('follows a build’s event stream over mTLS', async () => {
    const env = certEnv(mtls, 'maintainer');
    const queued = await rnx(
      ['runtime', 'build', '--no-wait', '--json', join(EXAMPLES, 'python-3.11')],
      env,
    );
    expect(queued.code).toBe(0);
    const id = (JSON.parse(queued.stdout) as { build: { id: string } }).build.id;
    expect((await rnx(['build', 'cancel', id], env)).stdout).toContain('canceled');
    const logs = await rnx(['build', 'logs', id], certEnv(mtls, 'reader'));
    expect(logs.stderr).toBe('');
    expect(logs.stdout).toMatch(/canceled/i);
  });
});

describe('TLS sessions across rnx commands', () => {
  /** Whether each TLS connection `fn` makes to the mTLS API resumed a session. */
  async function handshakes(fn: () => Promise<unknown>): Promise<boolean[]> {
    const seen: boolean[] = [];
    const onConn = (s: TLSSocket) => seen.push(s.isSessionReused());
    mtls.app.server.on('secureConnection', onConn);
    try {
      await fn();
    } finally {
      mtls.app.server.off('secureConnection', onConn);
    }
    return seen;
  }

  it('the next command resumes the last session, keeps its role, and the ticket is private', async () => {
    const dir = join(tmp.path, 'sessions-a');
    const env = { ...certEnv(mtls, 'reader'), RNX_TLS_SESSIONS: dir };
    const first = await handshakes(() => rnx(['node', 'list'], env));
    expect(first).toEqual([false]);
    const [file, ...more] = readdirSync(dir);
    expect(more).toEqual([]);
    expect(statSync(join(dir, file!)).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);

    const second = await handshakes(async () => {
      expect((await rnx(['node', 'list'], env)).code).toBe(0);
      // Still a reader on the resumed session: the certificate's role travels with it.
      const denied = await rnx(['runtime', 'remove', 'python-3.11@1.0.0', '--yes'], env);
      expect(denied.stderr).toMatch(/403: role reader cannot/);
    });
    expect(second).toEqual([true, true]);
  });

  it('a corrupt ticket, another identity or RNX_TLS_SESSIONS=off make a full handshake', async () => {
    const dir = join(tmp.path, 'sessions-b');
    const reader = { ...certEnv(mtls, 'reader'), RNX_TLS_SESSIONS: dir };
    await rnx(['node', 'list'], reader);
    const [file] = readdirSync(dir);
    writeFileSync(join(dir, file!), 'not a TLS session');
    const corrupt = await handshakes(async () => {
      const r = await rnx(['node', 'list'], reader);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });
    expect(corrupt).toEqual([false]);
    // The admin certificate does not pick up the reader's session (and so not its role).
    const admin = await handshakes(() =>
      rnx(['node', 'list'], { ...certEnv(mtls, 'admin'), RNX_TLS_SESSIONS: dir }),
    );
    expect(admin).toEqual([false]);
    const off = await handshakes(async () => {
      await rnx(['node', 'list'], { ...certEnv(mtls, 'reader'), RNX_TLS_SESSIONS: 'off' });
      await rnx(['node', 'list'], { ...certEnv(mtls, 'reader'), RNX_TLS_SESSIONS: 'off' });
    });
    expect(off).toEqual([false, false]);
  });
});

describe('rnx tokens', () => {
  it('creates a token shown once, lists it without the secret, uses it from RNX_TOKEN, revokes it', async () => {
    const admin = certEnv(mixed, 'admin');
    const created = await rnx(
      ['token', 'create', '--role', 'maintainer', '--ttl', '30d', '--name', 'ci'],
      admin,
    );
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^jrf_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain('This is the only time the token is shown');
    const id = token.split('_')[1]!;
    const secret = token.slice(`jrf_${id}_`.length);

    const list = await rnx(['token', 'list'], admin);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${id} +ci +maintainer +active`));
    expect(list.stdout + list.stderr).not.toContain(secret);
    const listJson = await rnx(['token', 'list', '--json'], admin);
    expect(listJson.stdout).not.toContain(secret);

    // CI: server, CA and token from the environment; no client certificate.
    const ci = { ...NO_CONFIG, RNX_SERVER: mixed.url, RNX_CA: pki.ca.cert, RNX_TOKEN: token };
    const validated = await rnx(['runtime', 'validate', join(EXAMPLES, 'python-3.11')], ci);
    expect(validated.stdout).toContain(`(checked by ${mixed.url})`);
    const forbidden = await rnx(['token', 'list'], ci);
    expect(forbidden.stderr.trim()).toBe(
      'Error: 403: role maintainer cannot list API tokens; admin required',
    );

    expect((await rnx(['token', 'revoke', id], admin)).stdout).toMatch(
      new RegExp(`Token ${id} \\(ci\\) revoked at `),
    );
    const revoked = await rnx(['build', 'list'], ci);
    expect(revoked.code).toBe(1);
    expect(revoked.stderr.trim()).toBe('Error: 401: invalid or expired token');
  });

  it('reads a token from rnx-config.yml, and never sends one over plain HTTP off loopback', async () => {
    const created = await rnx(
      ['token', 'create', '--role', 'reader', '-q'],
      certEnv(mixed, 'admin'),
    );
    const token = created.stdout.trim();
    const config = join(tmp.path, 'token-config.yml');
    writeFileSync(
      config,
      `current: ci\nservers:\n  ci: { url: "${mixed.url}", ca: "${pki.ca.cert}", token: "${token}" }\n`,
    );
    const r = await rnx(['node', 'list'], { RNX_CONFIG: config });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^NODE +ARCH +STATE/);
    const clear = await rnx(['node', 'list'], {
      RNX_SERVER: 'http://192.0.2.1:7070',
      RNX_TOKEN: token,
    });
    expect(clear.code).toBe(2);
    expect(clear.stderr).toContain(
      'refusing to send the token from RNX_TOKEN over plain HTTP to 192.0.2.1:7070',
    );
  });

  it('shows 429 with when to retry', async () => {
    // The limited API takes only tokens: make one in its Redis, as `index.js create-token` does.
    const tokens = new TokenService(limited.redis, new AuthKeys(limited.prefix));
    const local = { kind: 'local' as const, subject: 'test', role: 'admin' as const };
    const { token } = await tokens.create({ role: 'reader', ttl: '1h' }, local);
    const env = { ...NO_CONFIG, RNX_SERVER: limited.url, RNX_TOKEN: token };
    const results = [];
    for (let i = 0; i < 8; i++) results.push(await rnx(['runtime', 'list'], env));
    const refused = results.find((r) => r.code !== 0);
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toMatch(
      /^Error: 429: too many requests from token:[a-z0-9]+: the limit is 3 per 10s; retry in \d+s$/m,
    );
  });
});
