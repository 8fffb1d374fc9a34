import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLoopbackHost } from './auth/auth-mode.js';
import { hostPolicy } from './auth/host-policy.js';
import { securityFromEnv } from './auth/security.js';
import { readApiEnv } from './env.js';

const TLS = {
  API_TLS_CERT: '/x/server.crt',
  API_TLS_KEY: '/x/server.key',
  API_TLS_CA: '/x/ca.crt',
};

describe('API security configuration', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await makeTempDir('api-env-');
  });
  afterAll(() => tmp.cleanup());

  it('defaults to plain HTTP on loopback with API_AUTH=token; none only when asked for', () => {
    const env = readApiEnv({});
    expect(env).toMatchObject({
      API_HOST: '127.0.0.1',
      API_AUTH: 'token',
      API_TLS_REQUIRED: false,
    });
    expect(securityFromEnv(env)).toMatchObject({
      mode: 'token',
      tls: undefined,
      hosts: { loopback: true, names: [] },
      rateLimit: { requests: 300, windowS: 10 },
      streams: { max: 200, perClient: 8 },
    });
    expect(readApiEnv({ API_AUTH: 'none' }).API_AUTH).toBe('none');
    // Off loopback without TLS the default (token) would travel in clear text: refused.
    expect(() => readApiEnv({ API_HOST: '0.0.0.0' })).toThrow(/clear text/);
  });

  it('serves loopback Host names on loopback, API_ALLOWED_HOSTS elsewhere (empty: any)', () => {
    const hosts = (env: NodeJS.ProcessEnv) => securityFromEnv(readApiEnv(env)).hosts;
    expect(hosts({ API_ALLOWED_HOSTS: ' Farm.Example.com, [fd00::5] ,10.0.0.5' })).toEqual({
      loopback: true,
      names: ['farm.example.com', 'fd00::5', '10.0.0.5'],
    });
    expect(hostPolicy('0.0.0.0')).toEqual({ loopback: false, names: [] });
    expect(() => readApiEnv({ API_ALLOWED_HOSTS: 'https://farm.example.com' })).toThrow(
      /API_ALLOWED_HOSTS\.0: a host name or IP address without port or scheme/,
    );
    expect(() => readApiEnv({ API_ALLOWED_HOSTS: 'farm.example.com:7070' })).toThrow(
      /API_ALLOWED_HOSTS/,
    );
  });

  it('refuses to start with API_AUTH=none on a non-loopback address, saying what to do', () => {
    expect(() => readApiEnv({ API_HOST: '0.0.0.0', API_AUTH: 'none' })).toThrow(
      /API_AUTH: "none" makes every request an admin and is only allowed when API_HOST is a loopback address .* not "0\.0\.0\.0": set API_TLS_CERT, API_TLS_KEY and API_TLS_CA/,
    );
    expect(() => readApiEnv({ API_HOST: '10.0.0.5', API_AUTH: 'none', ...TLS })).toThrow(/"none"/);
  });

  it('refuses tokens over plain HTTP off loopback, and mtls without its files', () => {
    expect(() => readApiEnv({ API_HOST: '0.0.0.0', API_AUTH: 'token' })).toThrow(/clear text/);
    expect(readApiEnv({ API_AUTH: 'token' }).API_AUTH).toBe('token'); // loopback: allowed
    expect(() => readApiEnv({ API_AUTH: 'mtls' })).toThrow(
      /"mtls" needs API_TLS_CERT, API_TLS_KEY and API_TLS_CA/,
    );
    expect(() => readApiEnv({ API_TLS_CERT: '/x/a.crt' })).toThrow(
      /API_TLS_CERT and API_TLS_KEY go together/,
    );
    expect(() => readApiEnv({ API_TLS_REQUIRED: 'yes' })).toThrow(/API_TLS_REQUIRED/);
  });

  it('with a certificate: mtls by default, client certificates required unless tokens are accepted', () => {
    expect(readApiEnv({ API_HOST: '0.0.0.0', ...TLS })).toMatchObject({
      API_AUTH: 'mtls',
      API_TLS_REQUIRED: true,
    });
    expect(readApiEnv({ API_HOST: '0.0.0.0', API_AUTH: 'mtls+token', ...TLS })).toMatchObject({
      API_TLS_REQUIRED: false,
    });
    expect(
      readApiEnv({ API_HOST: '0.0.0.0', API_AUTH: 'mtls+token', API_TLS_REQUIRED: 'true', ...TLS }),
    ).toMatchObject({ API_TLS_REQUIRED: true });
  });

  it('names the variable whose file cannot be read', () => {
    const cert = join(tmp.path, 'server.crt');
    writeFileSync(cert, 'pem');
    const env = readApiEnv({ ...TLS, API_TLS_CERT: cert, API_TLS_KEY: join(tmp.path, 'nope.key') });
    expect(() => securityFromEnv(env)).toThrow(/^API_TLS_KEY: cannot read .*nope\.key: ENOENT/);
  });

  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.1', false],
    ['farm.example.com', false],
    ['127.example.com', false],
  ])('isLoopbackHost(%s) is %s', (host, want) => {
    expect(isLoopbackHost(host)).toBe(want);
  });
});
