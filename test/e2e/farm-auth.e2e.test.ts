/**
 * Who may use the single-machine farm, through the real `rnx farm up`: the user who started it,
 * with the admin token it saved in that user's rnx config (0600), and nobody else — another Unix
 * user (`nobody`, via setpriv) cannot read the token and gets 401, as does any process that asks
 * without it. Running `farm up` again keeps the token; after `farm down` no file another user
 * can read holds it.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RNX, startFarm, type Farm } from './farm-fixture.js';

const exec = promisify(execFile);
const NOBODY = ['--reuid', '65534', '--regid', '65534', '--clear-groups'];
const asRoot = process.getuid?.() === 0;

/** Runs `cmd` as the user nobody; its exit code and output. */
async function asNobody(cmd: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const r = await exec('setpriv', [...NOBODY, ...cmd], {
      env: { PATH: process.env.PATH, HOME: '/nonexistent', NO_COLOR: '1', ...env },
      timeout: 60_000,
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

/** Every regular file under `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

describe.skipIf(!asRoot)('rnx farm up: the farm answers its owner only', () => {
  let farm: Farm;
  let token = '';
  beforeAll(async () => {
    farm = await startFarm();
    const config = parse(readFileSync(farm.configPath, 'utf8')) as {
      current?: string;
      servers: Record<string, { url: string; token?: string }>;
    };
    token = config.servers[config.current ?? '']?.token ?? '';
  }, 240_000);
  afterAll(() => farm?.down(), 180_000);

  it('saves an admin token for the farm’s URL in the owner’s rnx config, mode 0600', () => {
    expect(token).toMatch(/^jrf_[0-9a-f]+_\S+$/);
    const config = parse(readFileSync(farm.configPath, 'utf8'));
    expect(config.servers[config.current].url).toBe(farm.url);
    expect(statSync(farm.configPath).mode & 0o777).toBe(0o600);
    expect(statSync(join(farm.tmp.path, '.rnx')).mode & 0o077).toBe(0);
  });

  it('rnx works without flags or settings: the farm and its token come from the config', async () => {
    const r = await farm.rnx(['token', 'list'], { env: { RNX_SERVER: undefined } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('rnx-farm-up');
    expect(r.stdout).toContain('admin');
  });

  it('a request without the token gets 401; a foreign Host name 403', async () => {
    const anonymous = await fetch(`${farm.url}/v1/runtimes`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    const stop = await fetch(`${farm.url}/v1/jobs/00000000-0000-4000-8000-000000000000/stop`, {
      method: 'POST',
    });
    expect(stop.status).toBe(401);
    const rebound = await exec('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-H',
      `Host: farm.attacker.example:${new URL(farm.url).port}`,
      '-H',
      `Authorization: Bearer ${token}`,
      `${farm.url}/v1/runtimes`,
    ]);
    expect(rebound.stdout).toBe('403');
  });

  it('another Unix user cannot read the token and gets 401 from curl and from rnx', async () => {
    const read = await asNobody(['cat', farm.configPath]);
    expect(read.code).not.toBe(0);
    expect(read.out).toMatch(/Permission denied/);
    expect(read.out).not.toContain(token);

    const curl = await asNobody([
      'curl',
      '-s',
      '-w',
      ' %{http_code}',
      '-H',
      'X-Joblet-Request: 1',
      '-X',
      'POST',
      `${farm.url}/v1/jobs/00000000-0000-4000-8000-000000000000/cancel`,
    ]);
    expect(curl.out).toMatch(/ 401$/);
    // rnx as nobody finds the farm (its state file is public) but has no token for it.
    const rnx = await asNobody([process.execPath, RNX, 'runtime', 'list'], {
      JOBLET_FARM_DIR: farm.dir,
    });
    expect(rnx.code, rnx.out).toBe(1);
    expect(rnx.out).toMatch(/401: no credentials/);
  });

  it('farm up again keeps the token; after farm down no file others can read holds it', async () => {
    const again = await farm.rnx(['farm', 'up', '--dir', farm.dir], {
      env: { RNX_SERVER: undefined },
    });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Farm already running/);
    expect(again.stdout).toMatch(/your admin token is in .*rnx-config\.yml/);
    expect(readFileSync(farm.configPath, 'utf8')).toContain(token);

    const down = await farm.rnx(['farm', 'down', '--dir', farm.dir]);
    expect(down.code, down.stderr).toBe(0);
    const holding = filesUnder(farm.tmp.path).filter((f) => {
      try {
        return readFileSync(f).includes(token);
      } catch {
        return false;
      }
    });
    expect(holding).toEqual([farm.configPath]);
    const stillSecret = await asNobody(['cat', farm.configPath]);
    expect(stillSecret.code).not.toBe(0);
  });
});
