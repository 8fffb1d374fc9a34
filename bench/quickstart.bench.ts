/**
 * Issue 8's figure: the README's first command (`bash scripts/quickstart.sh`) timed whole, as a
 * newcomer runs it, from a fresh clone of HEAD in a fresh state directory.
 *
 * - `cold`: a fresh clone (so `npm ci` and the app bundles run), a fresh state, store and
 *   runtimes directory; the host's apt packages, npm cache and the worker's base-root cache
 *   (/var/cache/joblet-farm) are what this machine already has. That is a second project on a
 *   farm host, or a newcomer's second try.
 * - `coldCache`: the same with an empty worker cache directory too, so the base root is
 *   debootstrapped from the Debian mirror and every package downloaded (one run; the mirror's
 *   speed dominates). Skipped with BENCH_QUICKSTART_COLD_CACHE=0.
 * - `warm`: the command run again in the last cold clone: farm already up, build cached, runtime
 *   installed; what remains is the checks and one job.
 *
 * Each run's per-step seconds come from the script's own `(N.N s)` lines.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, makeTempDir, uniqueName, type TempDir } from '@joblet/testkit';
import { percentiles } from './stats.js';

const exec = promisify(execFile);
const REPO = fileURLToPath(new URL('..', import.meta.url));
const COLD_RUNS = Number(process.env.BENCH_QUICKSTART_COLD_RUNS ?? 3);
const WARM_RUNS = Number(process.env.BENCH_QUICKSTART_WARM_RUNS ?? 5);

interface Run {
  totalS: number;
  steps: Record<string, number>;
}

/** `==> name` … `(N.N s)` pairs of the script's output. */
function stepTimes(out: string): Record<string, number> {
  const steps: Record<string, number> = {};
  let current: string | undefined;
  for (const line of out.split('\n')) {
    const start = /^==> (.+)$/.exec(line);
    if (start) current = start[1];
    const took = /^ {4}\((\d+(?:\.\d+)?) s\)$/.exec(line);
    if (took && current !== undefined) steps[current] = Number(took[1]);
  }
  return steps;
}

/** One farm instance: its own clone, state, runtimes dir, port and prefix. */
class Instance {
  private constructor(
    private readonly tmp: TempDir,
    readonly clone: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static async create(cacheDir?: string): Promise<Instance> {
    const tmp = await makeTempDir('bench-quickstart-');
    await chmod(tmp.path, 0o755); // jobs run as nobody and must reach the runtimes dir
    const clone = join(tmp.path, 'repo');
    await exec('git', ['clone', '-q', REPO, clone]);
    if (cacheDir) await mkdir(cacheDir, { recursive: true });
    return new Instance(tmp, clone, {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      JOBLET_FARM_DIR: join(tmp.path, 'state'),
      RUNTIMES_DIR: join(tmp.path, 'runtimes'),
      FARM_PORT: String(await freePort()),
      FARM_PREFIX: uniqueName('bqs'),
      ...(cacheDir ? { FARM_CACHE_DIR: cacheDir } : {}),
      NO_COLOR: '1',
    });
  }

  async run(): Promise<Run> {
    const t = performance.now();
    const r = await exec('bash', ['scripts/quickstart.sh'], {
      cwd: this.clone,
      env: this.env,
      timeout: 3_600_000,
      maxBuffer: 64 << 20,
    });
    const totalS = (performance.now() - t) / 1000;
    const out = r.stdout + r.stderr;
    if (!/^3\.11\.\d+ /m.test(out)) throw new Error(`the job printed no Python version:\n${out}`);
    return { totalS: Math.round(totalS * 10) / 10, steps: stepTimes(out) };
  }

  async close(): Promise<void> {
    await exec(
      process.execPath,
      [join(this.clone, 'apps/cli/bin/rnx.js'), 'farm', 'down', '--dir', this.env.JOBLET_FARM_DIR!],
      { env: this.env },
    ).catch(() => undefined);
    await this.tmp.cleanup();
  }
}

/** Median of each step over runs, in seconds. */
function medianSteps(runs: Run[]): Record<string, number> {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.steps)))];
  return Object.fromEntries(
    names.map((n) => [n, percentiles(runs.map((r) => (r.steps[n] ?? NaN) * 1000)).p50 / 1000]),
  );
}

function summary(runs: Run[]) {
  const totals = percentiles(runs.map((r) => r.totalS * 1000));
  return {
    runs: runs.length,
    totalS: { p50: totals.p50 / 1000, max: totals.max / 1000 },
    eachS: runs.map((r) => r.totalS),
    stepsP50S: medianSteps(runs),
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const cold: Run[] = [];
  const warm: Run[] = [];
  let last: Instance | undefined;
  try {
    for (let i = 0; i < COLD_RUNS; i++) {
      await last?.close();
      last = await Instance.create();
      cold.push(await last.run());
    }
    for (let i = 0; i < WARM_RUNS && last; i++) warm.push(await last.run());
  } finally {
    await last?.close();
  }
  let coldCache: ReturnType<typeof summary> | 'skipped' = 'skipped';
  if (process.env.BENCH_QUICKSTART_COLD_CACHE !== '0') {
    const scratch = await makeTempDir('bench-quickstart-cache-');
    const inst = await Instance.create(join(scratch.path, 'cache'));
    try {
      coldCache = summary([await inst.run()]);
    } finally {
      await inst.close();
      await scratch.cleanup();
    }
  }
  const c = summary(cold);
  const w = summary(warm);
  return {
    what: 'bash scripts/quickstart.sh from a fresh clone of HEAD; seconds',
    cold: c,
    warm: w,
    coldCache,
    warmOverColdP50: Math.round((w.totalS.p50 / c.totalS.p50) * 1000) / 1000,
  };
}
