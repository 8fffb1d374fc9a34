/**
 * `rnx` follows a build and a job across an API restart: in a farm started by `rnx farm up`, the
 * API process is SIGKILLed while `rnx runtime build --verbose`, `rnx job run` and `rnx job log -f`
 * are streaming; the farm's supervisor starts it again, and each client reconnects with
 * `Last-Event-ID`, prints every line exactly once in order, and exits with the right code.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { farmForSuite, type Farm } from './farm-fixture.js';

const NAME = 'restart-py';
const SPEC = `schema_version: "1.0"
name: ${NAME}
version: 1.0.0
description: the runtime the API-restart test runs its job in
base:
  language: python
  version: "3.11"
`;
const BUILD_WAIT_MS = 900_000;
const LINES = 60;

interface Running {
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function watch(child: ChildProcess): Running {
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { stdout: () => out, stderr: () => err, exited };
}

function apiPid(farm: Farm): number | undefined {
  const state = JSON.parse(readFileSync(join(farm.dir, 'farm.json'), 'utf8')) as {
    components: Record<string, { pid?: number }>;
  };
  return state.components.api?.pid;
}

/** SIGKILLs the farm's API and waits until its supervisor has started a new one. */
async function killApi(farm: Farm): Promise<void> {
  const pid = apiPid(farm);
  expect(pid).toBeDefined();
  process.kill(pid!, 'SIGKILL');
  await vi.waitFor(
    () => {
      const next = apiPid(farm);
      expect(next).toBeDefined();
      expect(next).not.toBe(pid);
    },
    { timeout: 60_000, interval: 200 },
  );
}

/** The runtime the job runs in: built here unless there (a build in progress is joined). */
async function ensureRuntime(farm: Farm): Promise<void> {
  if ((await farm.rnx(['runtime', 'info', NAME])).code === 0) return;
  const spec = join(farm.tmp.path, 'restart.yaml');
  await writeFile(spec, SPEC);
  const built = await farm.rnx(['runtime', 'build', spec], { timeoutMs: BUILD_WAIT_MS });
  expect(built.code, built.stdout + built.stderr).toBe(0);
}

/** Waits for `what`; a timeout shows `seen` (the outputs watched). */
const until = (what: () => boolean, timeout: number, seen: () => string) =>
  vi.waitFor(() => expect(what(), seen()).toBe(true), { timeout, interval: 100 });

describe('rnx follows a build and a job across an API restart', () => {
  const farm = farmForSuite();

  it(
    'runtime build --verbose prints each build event once, in order, and exits 0',
    async () => {
      const spec = join(farm().tmp.path, 'restart.yaml');
      await writeFile(spec, SPEC);
      const build = watch(farm().spawnRnx(['runtime', 'build', '--verbose', spec]));
      // Mid-stream: the build has started writing its log.
      await until(
        () => / \| /.test(build.stdout()),
        BUILD_WAIT_MS,
        () => build.stdout() + build.stderr(),
      );
      await killApi(farm());
      expect(await build.exited, build.stdout() + build.stderr()).toBe(0);
      const id = /\(build (\S+?)[,)]/.exec(build.stdout())?.[1];
      expect(id, build.stdout()).toBeDefined();
      // The whole stored log, read afterwards from the restarted API: the same event lines.
      const replay = await farm().rnx(['build', 'logs', id!]);
      expect(replay.code, replay.stderr).toBe(0);
      const events = (s: string) => s.split('\n').filter((l) => l.startsWith('[amd64]'));
      expect(events(build.stdout()).length).toBeGreaterThan(5);
      expect(events(build.stdout())).toEqual(events(replay.stdout));
    },
    BUILD_WAIT_MS + 120_000,
  );

  it(
    'job run and job log -f print every line once, in order, and end with the job’s code',
    async () => {
      await ensureRuntime(farm());
      const script = `for i in $(seq 1 ${LINES}); do echo "line $i"; sleep 0.25; done; exit 7`;
      const run = watch(farm().spawnRnx(['job', 'run', `--runtime=${NAME}`, 'bash', '-c', script]));
      await until(
        () => /^ID: \S+/m.test(run.stderr()),
        120_000,
        () => run.stdout() + run.stderr(),
      );
      const id = /^ID: (\S+)/m.exec(run.stderr())![1]!;
      const follow = watch(farm().spawnRnx(['job', 'log', '-f', id]));
      await until(
        () => run.stdout().includes('line 5\n') && follow.stdout().includes('line 5\n'),
        120_000,
        () =>
          `job run: ${run.stdout()}${run.stderr()}\njob log: ${follow.stdout()}${follow.stderr()}`,
      );
      await killApi(farm());
      const expected = Array.from({ length: LINES }, (_, i) => `line ${i + 1}\n`).join('');
      expect(await run.exited, run.stderr()).toBe(7);
      expect(run.stdout()).toBe(expected);
      // `job log` reports the output, not the job's outcome: it exits 0 once the output has ended.
      expect(await follow.exited, follow.stderr()).toBe(0);
      expect(follow.stdout()).toBe(expected);
    },
    BUILD_WAIT_MS + 300_000,
  );
});
