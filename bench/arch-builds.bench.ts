/**
 * Build farm throughput on this host (root, Redis on 127.0.0.1:6379, bwrap, qemu-user-static):
 *
 * 1. The same small python runtime (`apt: [python3-six]`) built for amd64 (native) and arm64
 *    (QEMU user emulation through binfmt_misc), one in-process worker per arch, one build at a
 *    time: once cold (an empty cache dir: debootstrap, language layer, every download), then the
 *    first build of a worker on the host's warm cache and the median of 3 warm runs after it,
 *    with the phase times of one warm run and the emulated/native ratios.
 * 2. Backlog drain: N small amd64 builds enqueued at once, drained by 1, 2 and 4 in-process
 *    workers (concurrency 1 each) on one queue: wall time, speed-up, and mean time per build
 *    (which grows as the workers contend for the host's cores).
 *
 * Milliseconds from enqueue to the build's `done` event. Benchmarks measure; they never assert.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Keys, createRedis, readAfter } from '@joblet/queue';
import { binfmtHandler, hostDebArch, registerQemuBinfmt, unregisterBinfmt } from '@joblet/sandbox';
import { BuildEvent, type Arch } from '@joblet/spec';
import { writeTestKeyPair } from '@joblet/testkit';
import {
  createWorker,
  deleteKeys,
  enqueueBuild,
  readBaseRoot,
  readWorkerEnv,
  waitForEvent,
  type FarmWorker,
  type WorkerConfig,
} from '@joblet/worker/testing';

const WARM_RUNS = Number(process.env.BENCH_ARCH_WARM_RUNS ?? 3);
/** Also time one build per arch on an empty cache dir (debootstrap, language layer, downloads). */
const COLD = process.env.BENCH_ARCH_COLD !== '0';
const BACKLOG = Number(process.env.BENCH_BACKLOG_BUILDS ?? 6);
const POOL_SIZES = (process.env.BENCH_POOL_SIZES ?? '1,2,4').split(',').map(Number);
const TIMEOUT_MS = 1_800_000;

function spec(name: string, version: string): string {
  return `schema_version: "1.0"
name: ${name}
version: ${version}
description: arch-builds bench
base:
  language: python
  version: "3.11"
apt: [python3-six]
`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : Math.round((s[m - 1]! + s[m]!) / 2);
}

interface Ctx {
  tmp: string;
  redis: ReturnType<typeof createRedis>;
  prefixes: string[];
  config(arch: Arch, prefix: string, name: string, cacheDir?: string): WorkerConfig;
}

/**
 * Seconds per phase of one build (from the Redis stream ids' timestamps): what emulation slows
 * (commands in the sandbox) and what it does not (packing, upload on the host).
 */
async function phaseSeconds(
  c: Ctx,
  prefix: string,
  buildId: string,
): Promise<Record<string, number>> {
  const rows: { t: number; e: BuildEvent }[] = [];
  let after = '0';
  for (;;) {
    const batch = await readAfter(
      c.redis,
      new Keys(prefix).buildEvents(buildId),
      BuildEvent,
      after,
    );
    if (batch.length === 0) break;
    for (const r of batch) rows.push({ t: Number(r.id.split('-')[0]), e: r.event });
    after = batch[batch.length - 1]!.id;
  }
  const out: Record<string, number> = {};
  let open: { name: string; t: number } | undefined;
  for (const { t, e } of rows) {
    if (e.type !== 'phase' && e.type !== 'arch-succeeded' && e.type !== 'arch-failed') continue;
    if (open) out[open.name] = Math.round((t - open.t) / 100) / 10;
    open = e.type === 'phase' ? { name: e.name, t } : undefined;
  }
  return out;
}

/** Enqueues `count` single-arch builds of fresh versions; resolves with each one's duration. */
async function buildAll(
  c: Ctx,
  prefix: string,
  arch: Arch,
  name: string,
  versions: string[],
): Promise<{ ms: number; buildId: string }[]> {
  const started = Date.now();
  const builds = [];
  for (const v of versions) {
    builds.push(
      await enqueueBuild(c.redis, prefix, spec(name, v), {
        arches: [arch],
        attempts: 1,
        verbose: false,
      }),
    );
  }
  return Promise.all(
    builds.map(async (b) => {
      const events = await waitForEvent(
        c.redis,
        prefix,
        b.buildId,
        (e) => e.type === 'done',
        TIMEOUT_MS,
      );
      const done = events.find((e) => e.type === 'done');
      if (done?.type !== 'done' || done.state !== 'succeeded') {
        throw new Error(`bench build ${b.buildId} (${arch}) ended ${JSON.stringify(done)}`);
      }
      return { ms: Date.now() - started, buildId: b.buildId };
    }),
  );
}

/** One build on an empty cache dir: debootstrap (foreign: two stages), language layer, downloads. */
async function coldBuild(c: Ctx, arch: Arch): Promise<Record<string, unknown>> {
  const prefix = `bench-cold-${arch}-${process.pid}`;
  c.prefixes.push(prefix);
  const cacheDir = join(c.tmp, `cold-cache-${arch}`);
  const worker = await createWorker(c.config(arch, prefix, `bench-cold-${arch}`, cacheDir));
  try {
    const [r] = await buildAll(c, prefix, arch, `bench-cold-${arch}`, ['1.0.0']);
    return { ms: r!.ms, phasesS: await phaseSeconds(c, prefix, r!.buildId) };
  } catch (err) {
    return { error: (err as Error).message.slice(0, 300) };
  } finally {
    await worker.close({ deadlineMs: 5_000 });
    await rm(cacheDir, { recursive: true, force: true });
  }
}

async function archSideBySide(c: Ctx): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const warm: Partial<Record<Arch, number>> = {};
  const cold: Partial<Record<Arch, number>> = {};
  for (const arch of ['amd64', 'arm64'] as const) {
    const prefix = `bench-arch-${arch}-${process.pid}`;
    c.prefixes.push(prefix);
    const baseCached = (await readBaseRoot({ suite: 'bookworm', arch })) !== undefined;
    const coldRun = COLD ? await coldBuild(c, arch) : undefined;
    if (typeof coldRun?.ms === 'number') cold[arch] = coldRun.ms;
    const worker = await createWorker(c.config(arch, prefix, `bench-${arch}`));
    try {
      const name = `bench-${arch}-${Date.now()}`;
      // One at a time: each build alone on the host.
      const [first] = await buildAll(c, prefix, arch, name, ['1.0.0']);
      const runs: { ms: number; buildId: string }[] = [];
      for (let i = 1; i <= WARM_RUNS; i++) {
        runs.push(...(await buildAll(c, prefix, arch, name, [`1.0.${i}`])));
      }
      warm[arch] = median(runs.map((r) => r.ms));
      out[arch] = {
        native: arch === hostDebArch(),
        coldEmptyCache: coldRun ?? 'skipped (BENCH_ARCH_COLD=0)',
        hostCacheHadBaseRoot: baseCached,
        firstInProcessMs: first!.ms,
        warmRunsMs: runs.map((r) => r.ms),
        warmMedianMs: warm[arch],
        lastWarmPhasesS: await phaseSeconds(c, prefix, runs[runs.length - 1]!.buildId),
      };
    } finally {
      await worker.close({ deadlineMs: 5_000 });
    }
  }
  const ratio = (a?: number, b?: number) => (a && b ? Math.round((a / b) * 100) / 100 : null);
  out.emulatedOverNative = {
    warmMedian: ratio(warm.arm64, warm.amd64),
    coldEmptyCache: ratio(cold.arm64, cold.amd64),
  };
  return out;
}

async function backlogDrain(c: Ctx): Promise<Record<string, unknown>> {
  const curve: Record<string, unknown>[] = [];
  let oneWorkerMs = 0;
  for (const size of POOL_SIZES) {
    const prefix = `bench-pool${size}-${process.pid}`;
    c.prefixes.push(prefix);
    const workers: FarmWorker[] = [];
    try {
      for (let i = 0; i < size; i++) {
        workers.push(await createWorker(c.config('amd64', prefix, `bench-pool${size}-w${i}`)));
      }
      const versions = Array.from({ length: BACKLOG }, (_, i) => `2.${size}.${i}`);
      const started = Date.now();
      const load0 = process.cpuUsage();
      const finished = (
        await buildAll(c, prefix, 'amd64', `bench-pool-${Date.now()}`, versions)
      ).map((r) => r.ms);
      const drainMs = Date.now() - started;
      const cpu = process.cpuUsage(load0);
      if (size === 1) oneWorkerMs = drainMs;
      curve.push({
        workers: size,
        builds: BACKLOG,
        drainMs,
        buildsPerMinute: Math.round((BACKLOG / drainMs) * 60_000 * 10) / 10,
        speedupOverOne: oneWorkerMs ? Math.round((oneWorkerMs / drainMs) * 100) / 100 : null,
        /** Finish times after the enqueue: evenly spaced = serial; bunched = parallel. */
        finishedAtMs: finished.sort((a, b) => a - b),
        workerProcessCpuMs: Math.round((cpu.user + cpu.system) / 1000),
        loadavg1m: Math.round(loadavg()[0]! * 100) / 100,
      });
    } finally {
      await Promise.all(workers.map((w) => w.close({ deadlineMs: 5_000 })));
    }
  }
  return { cores: cpus().length, curve };
}

export async function run(): Promise<Record<string, unknown>> {
  if (process.getuid?.() !== 0) return { skipped: 'needs root (bwrap, overlayfs, cgroups)' };
  if (hostDebArch() !== 'amd64') return { skipped: `needs an amd64 host (${hostDebArch()})` };
  if (!existsSync('/usr/bin/qemu-aarch64-static')) {
    return { skipped: 'needs qemu-user-static (apt-get install qemu-user-static)' };
  }
  const tmp = await mkdtemp('/tmp/bench-arch-');
  await chmod(tmp, 0o755);
  const signingKeyFile = writeTestKeyPair(join(tmp, 'keys')).privateKeyFile;
  const registered = binfmtHandler('qemu-aarch64')?.flags.includes('F')
    ? false
    : (await registerQemuBinfmt('arm64'), true);
  const c: Ctx = {
    tmp,
    redis: createRedis({ url: 'redis://127.0.0.1:6379' }),
    prefixes: [],
    config: (arch, prefix, name, cacheDir) =>
      readWorkerEnv({
        WORKER_ARCH: arch,
        ...(cacheDir ? { WORKER_CACHE_DIR: cacheDir } : {}),
        QUEUE_PREFIX: prefix,
        STORAGE_URL: `file://${join(tmp, 'store')}`,
        WORKER_WORK_DIR: join(tmp, 'work'),
        WORKER_NAME: name,
        LOG_LEVEL: 'warn',
        WORKER_SIGNING_KEY_FILE: signingKeyFile,
      }),
  };
  try {
    return {
      runtime: 'python 3.11 + apt [python3-six], bookworm',
      archSideBySide: await archSideBySide(c),
      backlogDrain: await backlogDrain(c),
    };
  } finally {
    for (const p of c.prefixes) await deleteKeys(c.redis, p);
    await c.redis.quit();
    if (registered) await unregisterBinfmt('qemu-aarch64');
    await rm(tmp, { recursive: true, force: true });
  }
}
