/**
 * README's first command, as a newcomer runs it: from a clean clone, in a fresh state directory.
 * The first run builds and deploys examples/python-3.11 and runs a job that prints the Python
 * version; the second run answers cached and changes nothing. The farm wants a token: every `rnx`
 * of the script uses the admin token `rnx farm up` saved in the rnx config (0600), and a request
 * without it gets 401.
 */
import { execFile } from 'node:child_process';
import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, uniqueName, type TempDir, freePort } from '@joblet/testkit';

const exec = promisify(execFile);
const REPO = fileURLToPath(new URL('../..', import.meta.url));

describe('README quick start from a clean clone', () => {
  let tmp: TempDir;
  let clone: string;
  let env: NodeJS.ProcessEnv;
  const run = async () => {
    try {
      const r = await exec('bash', ['scripts/quickstart.sh'], {
        cwd: clone,
        env,
        timeout: 1_200_000,
        maxBuffer: 64 << 20,
      });
      return { code: 0, out: r.stdout + r.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: `${e.stdout}${e.stderr}` };
    }
  };

  beforeAll(async () => {
    tmp = await makeTempDir('quickstart-');
    await chmod(tmp.path, 0o755); // jobs run as nobody and must reach the runtimes dir
    clone = join(tmp.path, 'repo');
    await exec('git', ['clone', '-q', REPO, clone]);
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      JOBLET_FARM_DIR: join(tmp.path, 'state'),
      // The farm's admin token goes here, not into the real ~/.rnx of whoever runs the tests.
      RNX_CONFIG: join(tmp.path, 'rnx', 'rnx-config.yml'),
      RUNTIMES_DIR: join(tmp.path, 'runtimes'),
      FARM_PORT: String(await freePort()),
      FARM_PREFIX: uniqueName('qs'),
      NO_COLOR: '1',
    };
  }, 120_000);

  afterAll(async () => {
    await exec(
      process.execPath,
      [join(clone, 'apps/cli/bin/rnx.js'), 'farm', 'down', '--dir', env.JOBLET_FARM_DIR!],
      {
        env,
      },
    ).catch(() => undefined);
    await tmp.cleanup();
  }, 180_000);

  it('builds, deploys and runs python in the runtime; a second run is cached and installed', async () => {
    const first = await run();
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain('python-3.11 1.0.0 published');
    expect(first.out).toMatch(/deployed to 1\/1 nodes/);
    expect(first.out).toMatch(/^3\.11\.\d+ /m);
    expect(first.out).toMatch(/a new admin token is in .*rnx-config\.yml/);
    expect((await stat(env.RNX_CONFIG!)).mode & 0o777).toBe(0o600);
    expect(await readFile(env.RNX_CONFIG!, 'utf8')).toMatch(/token: jrf_/);
    const anonymous = await fetch(`http://127.0.0.1:${env.FARM_PORT}/v1/runtimes`);
    expect(anonymous.status).toBe(401);

    const second = await run();
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain('python-3.11 1.0.0 is cached');
    expect(second.out).toMatch(/Farm already running/);
    expect(second.out).toMatch(/your admin token is in/);
    expect(second.out).toMatch(/deployed to 1\/1 nodes/);
    expect(second.out).toMatch(/^3\.11\.\d+ /m);
  }, 1_500_000);
});
