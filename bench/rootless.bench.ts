/**
 * What rootless builds cost, side by side in one run (round-robin, so a noisy neighbour hits both
 * alike): a build command's start — `sh -c 'id -u'` on the host root read-only, with the build's
 * seven capabilities, seccomp, own PID/IPC/UTS namespaces — through the one launcher:
 *   - `root`: as real host root (how builds ran before);
 *   - `rootless`: as root of a user namespace mapping host ids 100000–165535 (`subids`: unshare
 *     and newuidmap/newgidmap, then the nested-userns limit), how builds run now.
 * Plus the one-time cost per base root and range: copying the cached bookworm base root and
 * shifting its owners into the range (base-root/shifted.ts), when that base root is cached here.
 * n runs each; medians and p99 in ms; the ratio rootless/root.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  SUBID_COUNT,
  hasCommand,
  launchSandbox,
  run as runCommand,
  subidProblem,
} from '@joblet/sandbox';
import { shiftOwners } from '@joblet/worker/testing';
import { percentiles, round } from './stats.js';

const N = Number(process.env.BENCH_ROOTLESS_N ?? 100);
const SUBIDS = { first: 100000, count: SUBID_COUNT };
const BASE_ROOT = '/var/cache/joblet-farm/bases/bookworm-amd64/root';
const CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL'];

async function timeOne(rootless: boolean): Promise<number> {
  const t0 = performance.now();
  const r = await launchSandbox(
    {
      rootfs: '/',
      tmpfs: ['/tmp'],
      env: { PATH: '/usr/bin:/bin' },
      uid: 0,
      gid: 0,
      capabilities: [...CAPS, 'CAP_SETUID', 'CAP_SETGID'],
      ...(rootless && { subids: SUBIDS }),
    },
    '/bin/sh',
    ['-c', 'id -u'],
  ).result;
  if (r.code !== 0 || r.stdout.trim() !== '0') throw new Error(`sandbox failed: ${r.stderr}`);
  return performance.now() - t0;
}

/** Copy + shift of the cached base root, in ms (undefined when it is not cached here). */
async function shiftCost(): Promise<Record<string, number> | undefined> {
  if (!existsSync(BASE_ROOT)) return undefined;
  const dir = await mkdtemp('/var/cache/joblet-farm/.bench-shift-');
  try {
    const t0 = performance.now();
    const cp = await runCommand('cp', ['-a', '--', BASE_ROOT, join(dir, 'root')]);
    if (cp.code !== 0) throw new Error(cp.stderr);
    const t1 = performance.now();
    const entries = await shiftOwners(join(dir, 'root'), SUBIDS.first);
    const t2 = performance.now();
    return { entries, copyMs: round(t1 - t0), shiftMs: round(t2 - t1) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function measure(): Promise<Record<string, unknown>> {
  const samples: Record<'root' | 'rootless', number[]> = { root: [], rootless: [] };
  await timeOne(false); // warm-up, not kept
  await timeOne(true);
  for (let i = 0; i < N; i++) {
    samples.root.push(await timeOne(false));
    samples.rootless.push(await timeOne(true));
  }
  const root = percentiles(samples.root);
  const rootless = percentiles(samples.rootless);
  return {
    n: N,
    ms: { root, rootless },
    ratioRootlessToRoot: Math.round((rootless.p50 / root.p50) * 100) / 100,
    oneTimeShiftedBaseRoot: (await shiftCost()) ?? 'no cached bookworm-amd64 base root',
  };
}

export async function run(): Promise<Record<string, unknown>> {
  if (process.getuid?.() !== 0) return { skipped: 'needs root' };
  if (!hasCommand('bwrap') || !hasCommand('sh', ['-c', 'command -v newuidmap'])) {
    return { skipped: 'needs bwrap and uidmap' };
  }
  const problem = subidProblem('/etc/subuid', SUBIDS) ?? subidProblem('/etc/subgid', SUBIDS);
  if (problem) return { skipped: problem };
  return measure();
}
