/**
 * One farm for the end-to-end tests: `rnx farm up` in a temp state dir with its own queue prefix,
 * an S3 server over HTTP (s3rver) as the store, a local pip index, and a node whose runtimes go to
 * a temp dir. Everything is driven through the real `rnx` binary, as the user who ran
 * `rnx farm up`: its admin token is in `$HOME/.rnx/rnx-config.yml` (HOME: the temp dir).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';
import {
  buildWheel,
  makeTempDir,
  startPipIndex,
  startS3Server,
  uniqueName,
  type PipIndex,
  type S3TestServer,
  type TempDir,
  freePort,
} from '@joblet/testkit';

const exec = promisify(execFile);
export const RNX = fileURLToPath(new URL('../../apps/cli/bin/rnx.js', import.meta.url));

export interface Farm {
  url: string;
  dir: string;
  prefix: string;
  runtimesDir: string;
  node: string;
  s3: S3TestServer;
  bucket: string;
  pip: PipIndex;
  tmp: TempDir;
  /** The rnx config (`$HOME/.rnx/rnx-config.yml`) where `rnx farm up` saved the admin token. */
  configPath: string;
  /** Runs `rnx` as the farm's owner: HOME is the temp dir, RNX_SERVER the farm (unset it with
   * `env: { RNX_SERVER: undefined }` to run it without any server setting). */
  rnx(args: string[], opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<RnxResult>;
  /** The same `rnx`, started and left running: for tests that act while it prints. */
  spawnRnx(args: string[]): ChildProcess;
  down(): Promise<void>;
}

export interface RnxResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `env`: extra environment for `rnx farm up` (and so for the farm's processes), e.g.
 * CATALOG_FILE; `upTimeoutS`: how long `farm up` waits for the farm (default 120 s); `node`: the
 * Node.js binary that runs `rnx` (and so every process of the farm), default this test's;
 * `arch`: `rnx farm up --arch` (e.g. `amd64,arm64`; a foreign arch's node is `<node>-<arch>`,
 * its runtimes under `<dir>/nodes/<arch>/runtimes`).
 */
export async function startFarm(
  o: { env?: NodeJS.ProcessEnv; upTimeoutS?: number; node?: string; arch?: string } = {},
): Promise<Farm> {
  const tmp = await makeTempDir('e2e-farm-');
  // Sandboxes run as nobody: the runtimes dir must be reachable (as /opt/joblet/runtimes is).
  await chmod(tmp.path, 0o755);
  const wheels = await buildWheel(tmp.path, 'joblet-hello', '0.1.0', 'joblet_hello');
  const pip = await startPipIndex(wheels);
  const s3 = await startS3Server();
  const bucket = uniqueName('e2e');
  await s3.createBucket(bucket);
  const port = await freePort();
  const dir = join(tmp.path, 'farm');
  const runtimesDir = join(tmp.path, 'runtimes');
  await mkdir(runtimesDir, { recursive: true });
  const prefix = uniqueName('e2e');
  const node = `e2e-${prefix
    .slice(-8)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')}`;
  const url = `http://127.0.0.1:${port}`;
  const rnxEnv = (extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: tmp.path,
    NO_COLOR: '1',
    RNX_SERVER: url,
    JOBLET_FARM_DIR: dir,
    BUILD_PIP_INDEX_URL: pip.url,
    ...extra,
  });
  const rnx = async (
    args: string[],
    opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
  ) => {
    try {
      const { stdout, stderr } = await exec(o.node ?? process.execPath, [RNX, ...args], {
        env: rnxEnv(opts.env),
        timeout: opts.timeoutMs ?? 600_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return {
        code: typeof e.code === 'number' ? e.code : 1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? String(err),
      };
    }
  };
  const up = await rnx(
    [
      'farm',
      'up',
      '--dir',
      dir,
      '--port',
      String(port),
      '--prefix',
      prefix,
      '--storage-url',
      s3.url(bucket),
      '--runtimes-dir',
      runtimesDir,
      '--node-name',
      node,
      '--timeout',
      String(o.upTimeoutS ?? 120),
      ...(o.arch ? ['--arch', o.arch] : []),
    ],
    { ...(o.env && { env: o.env }) },
  );
  if (up.code !== 0) throw new Error(`rnx farm up failed (${up.code}): ${up.stdout}\n${up.stderr}`);
  return {
    url,
    dir,
    prefix,
    runtimesDir,
    node,
    s3,
    bucket,
    pip,
    tmp,
    configPath: join(tmp.path, '.rnx', 'rnx-config.yml'),
    rnx,
    spawnRnx: (args) =>
      spawn(o.node ?? process.execPath, [RNX, ...args], {
        env: rnxEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    async down() {
      await rnx(['farm', 'down', '--dir', dir]);
      await pip.close();
      await s3.close();
      // E2E_KEEP=1 keeps the farm's state dir (logs) for a look after a failure.
      if (process.env.E2E_KEEP === '1') process.stderr.write(`e2e farm kept in ${tmp.path}\n`);
      else await tmp.cleanup();
    },
  };
}

/**
 * A farm for the tests of one describe block: started before them, brought down after them.
 * Call it in the block; the getter returns the running farm.
 */
export function farmForSuite(): () => Farm {
  let farm: Farm | undefined;
  beforeAll(async () => {
    farm = await startFarm();
  }, 300_000);
  afterAll(async () => {
    await farm?.down();
  }, 120_000);
  return () => {
    if (!farm) throw new Error('the farm did not start');
    return farm;
  };
}
