/** Which credentials go to which server. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { resolveServer, resolveServerOrLocal } from './config.js';
import { readCliEnv } from './env.js';

let tmp: TempDir;
let config: string;
beforeAll(async () => {
  tmp = await makeTempDir('rnx-config-');
  mkdirSync(join(tmp.path, 'pki'));
  for (const f of ['ca.crt', 'dev.crt', 'dev.key', 'ci-ca.crt'])
    writeFileSync(join(tmp.path, 'pki', f), `PEM ${f}`);
  config = join(tmp.path, 'rnx-config.yml');
  writeFileSync(
    config,
    [
      'current: prod',
      'servers:',
      '  prod:',
      '    url: https://farm.example.com:7070',
      '    ca: pki/ca.crt',
      '    cert: pki/dev.crt',
      '    key: pki/dev.key',
      '  ci: { url: "https://ci.example.com", token: jrf_file }',
      '',
    ].join('\n'),
  );
});
afterAll(() => tmp.cleanup());

const env = (vars: NodeJS.ProcessEnv = {}) => readCliEnv({ RNX_CONFIG: config, ...vars });

describe('server credentials', () => {
  it('reads the current entry’s files, relative to the config file', () => {
    const s = resolveServer(env())!;
    expect(s.url).toBe('https://farm.example.com:7070');
    expect(s.ca?.path).toBe(join(tmp.path, 'pki', 'ca.crt'));
    expect(s.cert?.pem.toString()).toBe('PEM dev.crt');
    expect(s.key?.pem.toString()).toBe('PEM dev.key');
    expect(s.token).toBeUndefined();
  });

  it('gives an entry’s credentials only to its own URL', () => {
    const same = resolveServer(env(), 'https://farm.example.com:7070/')!;
    expect(same.cert?.path).toBe(join(tmp.path, 'pki', 'dev.crt'));
    const other = resolveServer(env(), 'https://evil.example.com')!;
    expect(other).toEqual({
      url: 'https://evil.example.com',
      source: '--server',
      tlsSessionDir: join(homedir(), '.rnx', 'tls-sessions'),
    });
    const noSessions = resolveServer(env({ RNX_TLS_SESSIONS: 'off' }), 'https://evil.example.com');
    expect(noSessions?.tlsSessionDir).toBeUndefined();
    const ci = resolveServer(env({ RNX_SERVER: 'https://ci.example.com' }))!;
    expect(ci.token).toEqual({ value: 'jrf_file', source: `${config} (ci).token` });
  });

  it('lets the environment override each field', () => {
    const s = resolveServer(
      env({ RNX_TOKEN: 'jrf_env', RNX_CA: join(tmp.path, 'pki', 'ci-ca.crt') }),
    )!;
    expect(s.token).toEqual({ value: 'jrf_env', source: 'RNX_TOKEN' });
    expect(s.ca?.pem.toString()).toBe('PEM ci-ca.crt');
    expect(s.cert?.path).toBe(join(tmp.path, 'pki', 'dev.crt'));
    const local = resolveServerOrLocal(
      readCliEnv({ RNX_CONFIG: join(tmp.path, 'none.yml'), RNX_TOKEN: 'jrf_env' }),
    );
    expect(local).toMatchObject({ url: 'http://127.0.0.1:7070', token: { value: 'jrf_env' } });
  });

  it('gives the local farm the token its config entry holds, even when no entry is current', () => {
    const file = join(tmp.path, 'farm-only.yml');
    writeFileSync(
      file,
      'servers:\n  local-7071: { url: "http://127.0.0.1:7071", token: jrf_farm }\n',
    );
    const farm = resolveServerOrLocal(
      readCliEnv({ RNX_CONFIG: file }),
      undefined,
      'http://127.0.0.1:7071',
    );
    expect(farm).toMatchObject({ url: 'http://127.0.0.1:7071', token: { value: 'jrf_farm' } });
    // Another port is another server: its token does not go there.
    const other = resolveServerOrLocal(
      readCliEnv({ RNX_CONFIG: file }),
      undefined,
      'http://127.0.0.1:7072',
    );
    expect(other.token).toBeUndefined();
  });

  it('says which file it cannot read, and wants a key with a certificate', () => {
    expect(() => resolveServer(env({ RNX_CA: join(tmp.path, 'nope.crt') }))).toThrow(
      /^RNX_CA: cannot read .*nope\.crt: ENOENT/,
    );
    expect(() =>
      resolveServer(
        env({ RNX_SERVER: 'https://x.example.com', RNX_CERT: join(tmp.path, 'pki', 'dev.crt') }),
      ),
    ).toThrow(/a client certificate needs its key/);
  });
});

describe('RNX_SERVER and --server as Joblet takes them', () => {
  it('accepts host:port: the config entry for it (scheme and credentials) when there is one', () => {
    const s = resolveServer(env({ RNX_SERVER: 'farm.example.com:7070' }))!;
    expect(s.url).toBe('https://farm.example.com:7070');
    expect(s.cert?.path).toBe(join(tmp.path, 'pki', 'dev.crt'));
    const ci = resolveServer(env(), 'ci.example.com:443')!;
    expect(ci).toMatchObject({ url: 'https://ci.example.com', token: { value: 'jrf_file' } });
  });

  it('else http://, or https:// when the environment gives TLS material; port 7070 by default', () => {
    expect(resolveServer(env({ RNX_SERVER: '127.0.0.1:7071' }))?.url).toBe('http://127.0.0.1:7071');
    expect(resolveServer(env({ RNX_SERVER: 'farm-2' }))?.url).toBe('http://farm-2:7070');
    const tls = env({ RNX_SERVER: 'farm-2:9443', RNX_CA: join(tmp.path, 'pki', 'ci-ca.crt') });
    expect(resolveServer(tls)?.url).toBe('https://farm-2:9443');
    expect(resolveServer(env({ RNX_SERVER: '[::1]:7070' }))?.url).toBe('http://[::1]:7070');
  });

  it('takes an empty RNX_SERVER as unset (the config file’s current server applies)', () => {
    expect(resolveServer(env({ RNX_SERVER: '' }))?.url).toBe('https://farm.example.com:7070');
  });

  it('takes every empty variable as unset, as a fork’s pull request gets its CI secrets', () => {
    // `RNX_TOKEN: ${{ secrets.RNX_TOKEN }}` is "" where the secret is withheld: no usage error,
    // and no empty token sent; the config file's credentials apply.
    const s = resolveServer(
      env({
        RNX_SERVER: '',
        RNX_TOKEN: '',
        RNX_CA: '',
        RNX_CERT: '',
        RNX_KEY: '',
        RNX_CONTEXT: '',
      }),
    )!;
    expect(s.url).toBe('https://farm.example.com:7070');
    expect(s.token).toBeUndefined();
    expect(s.cert?.pem.toString()).toBe('PEM dev.crt');
  });

  it('names the variable and both accepted forms for anything else', () => {
    expect(() => resolveServer(env({ RNX_SERVER: 'farm:99999' }))).toThrow(
      /^RNX_SERVER: "farm:99999" is not a server address; use host:port .* or a URL/,
    );
    expect(() => resolveServer(env(), 'ftp://farm:21')).toThrow(/^--server: .*use http:\/\//);
    expect(() => resolveServer(env(), 'a b')).toThrow(/^--server: "a b" is not a server address/);
  });
});
