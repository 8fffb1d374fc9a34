/**
 * The admin token `rnx farm up` makes for the farm's owner, against a real API with
 * `API_AUTH=token` over real Redis: made by the API's own `create-token` (the bundled
 * `apps/api/dist`: `npm run build` first), saved 0600 in the rnx config under the farm's URL,
 * used by the real `rnx` binary without flags, kept when it still works, replaced when revoked.
 */
import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { startTestApi, type TestApi } from '@joblet/api/testing';
import { ensureFarmToken, type FarmCredentialOptions } from './farm-credential.js';
import { runRnx } from '../test-support/rnx-binary.js';

let api: TestApi;
let home: TempDir;
let opts: FarmCredentialOptions;

beforeAll(async () => {
  home = await makeTempDir('rnx-farm-cred-');
  api = await startTestApi(['amd64'], { listen: true, security: { mode: 'token' } });
  opts = {
    configPath: join(home.path, '.rnx', 'rnx-config.yml'),
    apiUrl: api.url!,
    dir: join(home.path, 'farm'),
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefix: api.prefix,
  };
});
afterAll(async () => {
  await api?.close();
  await home?.cleanup();
});

async function rnx(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = await runRnx(args, { HOME: home.path, JOBLET_FARM_DIR: opts.dir, ...env });
  return { code: r.code, out: r.stdout + r.stderr };
}

const savedToken = () =>
  (parse(readFileSync(opts.configPath, 'utf8')) as { servers: Record<string, { token: string }> })
    .servers;

describe('the farm’s admin token in the rnx config', () => {
  it('is made on first use and saved 0600 (in a 0700 ~/.rnx) as the current entry', async () => {
    const saved = await ensureFarmToken(opts);
    expect(saved).toMatchObject({ name: 'local', current: true, reused: false });
    expect(statSync(opts.configPath).mode & 0o777).toBe(0o600);
    expect(statSync(join(home.path, '.rnx')).mode & 0o777).toBe(0o700);
    const config = parse(readFileSync(opts.configPath, 'utf8'));
    expect(config).toMatchObject({ current: 'local', servers: { local: { url: api.url } } });
    expect(config.servers.local.token).toMatch(/^jrf_[0-9a-f]+_\S+$/);
  });

  it('rnx uses it without being told; without it the API answers 401', async () => {
    const ok = await rnx(['token', 'list']);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toContain('rnx-farm-up');
    const anonymous = await rnx(['--server', api.url!, 'runtime', 'list'], {
      RNX_CONFIG: join(home.path, 'nothing.yml'),
    });
    expect(anonymous.code).toBe(1);
    expect(anonymous.out).toMatch(/401: no credentials/);
  });

  it('is kept while it works, and replaced when it was revoked', async () => {
    const first = savedToken().local!.token;
    expect(await ensureFarmToken(opts)).toMatchObject({ reused: true, name: 'local' });
    expect(savedToken().local!.token).toBe(first);

    const id = /^jrf_([^_]+)_/.exec(first)![1]!;
    const revoked = await rnx(['token', 'revoke', id]);
    expect(revoked.code, revoked.out).toBe(0);
    expect(await ensureFarmToken(opts)).toMatchObject({ reused: false, name: 'local' });
    const second = savedToken().local!.token;
    expect(second).not.toBe(first);
    expect((await rnx(['runtime', 'list'])).code).toBe(0);
  });

  it('keeps the rest of an existing config and does not take over its current server', async () => {
    const configPath = join(home.path, 'other', 'rnx-config.yml');
    mkdirSync(join(home.path, 'other'));
    const text = [
      '# my servers',
      'current: prod',
      'servers:',
      '  prod: { url: "https://farm.example.com:7070", token: jrf_prod_x }',
      '  local: { url: "http://127.0.0.1:1" }',
      '',
    ].join('\n');
    writeFileSync(configPath, text, { mode: 0o644 });
    const saved = await ensureFarmToken({ ...opts, configPath });
    const port = new URL(api.url!).port;
    expect(saved).toMatchObject({ name: `local-${port}`, current: false, otherCurrent: 'prod' });
    const after = readFileSync(configPath, 'utf8');
    expect(after).toContain('# my servers');
    expect(parse(after)).toMatchObject({
      current: 'prod',
      servers: { prod: { token: 'jrf_prod_x' }, local: { url: 'http://127.0.0.1:1' } },
    });
    expect(statSync(configPath).mode & 0o777).toBe(0o600);
    // The entry is found by URL: RNX_SERVER (as scripts/quickstart.sh sets it) gets its token.
    const ok = await rnx(['token', 'list'], { RNX_CONFIG: configPath, RNX_SERVER: api.url! });
    expect(ok.code, ok.out).toBe(0);
  });
});
