/**
 * Runtime leases: a job (or any process) using an installed runtime holds a lease, a file
 * `RUNTIMES_DIR/.leases/<name>@<version>/<holder>.lease` naming the holder's pid. Removal and
 * replacement of a runtime wait while a live lease exists. A lease whose pid is dead (or reused
 * by another process: the start time is recorded too) is stale: ignored and deleted.
 *
 * Taking a lease and removing/swapping a tree both happen under the runtime's short "gate" lock,
 * so a lease is never given out for a tree that is being renamed away.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processStartTime, withFileLock } from '@joblet/sandbox';
import { AgentError, AgentErrorCode } from '../errors.js';
import { LEASES_DIR, RuntimeLayout, assertRuntimeId, exists, splitRuntimeKey } from './layout.js';

const HOLDER = /^[A-Za-z0-9._-]{1,128}$/;
const SUFFIX = '.lease';
/** The gate is held for milliseconds; waiting longer means something is badly stuck. */
const GATE_WAIT_MS = 30_000;

/** One lease as found on disk. */
export interface LeaseInfo {
  holder: string;
  pid: number;
  path: string;
}

/** A lease held by this process on behalf of `holder`. */
export interface RuntimeLease {
  readonly path: string;
  readonly holder: string;
  /** Deletes the lease file. Safe to call more than once. */
  release(): Promise<void>;
}

interface LeaseFile {
  pid: number;
  /** Start time of `pid` in clock ticks since boot, to tell a reused pid. */
  start: number | null;
  holder: string;
  acquiredAt: string;
}

function leasePath(layout: RuntimeLayout, name: string, version: string, holder: string): string {
  if (!HOLDER.test(holder) || holder.startsWith('.')) {
    throw new AgentError(
      `invalid lease holder ${JSON.stringify(holder)}`,
      AgentErrorCode.InvalidArgument,
    );
  }
  return join(layout.leaseDir(name, version), `${holder}${SUFFIX}`);
}

/** Runs `fn` under the runtime's gate lock (see the module comment). */
export function withGate<T>(
  layout: RuntimeLayout,
  name: string,
  version: string,
  fn: () => Promise<T>,
): Promise<T> {
  return withFileLock(layout.gateFile(name, version), fn, { waitMs: GATE_WAIT_MS, pollMs: 20 });
}

/**
 * Takes a lease on an installed runtime for `holder` (a job id, `test-<id>`, ...) whose process
 * is `pid` (default: this process). Throws RUNTIME_NOT_INSTALLED when it is not installed and
 * RUNTIME_REMOVING when its removal is pending.
 */
export async function acquireRuntimeLease(
  runtimesDir: string,
  name: string,
  version: string,
  holder: string,
  pid: number = process.pid,
): Promise<RuntimeLease> {
  assertRuntimeId(name, version);
  const layout = new RuntimeLayout(runtimesDir);
  const path = leasePath(layout, name, version, holder);
  const start = await processStartTime(pid);
  if (start === null) {
    throw new AgentError(`process ${pid} is not running`, AgentErrorCode.InvalidArgument);
  }
  await withGate(layout, name, version, async () => {
    if (!(await layout.isInstalled(name, version))) {
      throw new AgentError(
        `runtime ${name}@${version} is not installed on this node`,
        AgentErrorCode.RuntimeNotInstalled,
      );
    }
    if (await exists(layout.removingMarker(name, version))) {
      throw new AgentError(
        `runtime ${name}@${version} is being removed from this node`,
        AgentErrorCode.RuntimeRemoving,
      );
    }
    await mkdir(layout.leaseDir(name, version), { recursive: true, mode: 0o755 });
    const content: LeaseFile = { pid, start, holder, acquiredAt: new Date().toISOString() };
    // Written aside and renamed: a reader never sees a half-written lease (and deletes it as stale).
    const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, `${JSON.stringify(content)}\n`, { mode: 0o644 });
    await rename(tmp, path);
  });
  let released = false;
  return {
    path,
    holder,
    release: async () => {
      if (released) return;
      released = true;
      await rm(path, { force: true });
    },
  };
}

/** Deletes `holder`'s lease, e.g. for a job whose runner restarted. Missing is fine. */
export async function releaseRuntimeLease(
  runtimesDir: string,
  name: string,
  version: string,
  holder: string,
): Promise<void> {
  assertRuntimeId(name, version);
  await rm(leasePath(new RuntimeLayout(runtimesDir), name, version, holder), { force: true });
}

/** True when the lease file names a live process (the same one that took it). */
async function isLive(file: string): Promise<{ live: boolean; pid: number }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { live: false, pid: 0 };
  }
  let pid: number;
  let start: number | null = null;
  if (/^\s*\d+\s*$/.test(text)) {
    pid = Number(text); // a bare pid, as a shell script might write
  } else {
    try {
      const parsed = JSON.parse(text) as Partial<LeaseFile>;
      pid = Number(parsed.pid);
      start = typeof parsed.start === 'number' ? parsed.start : null;
    } catch {
      return { live: false, pid: 0 };
    }
  }
  if (!Number.isInteger(pid) || pid <= 0) return { live: false, pid: 0 };
  const now = await processStartTime(pid);
  return { live: now !== null && (start === null || start === now), pid };
}

/** The live leases on a runtime; stale lease files met on the way are deleted. */
export async function liveLeases(
  layout: RuntimeLayout,
  name: string,
  version: string,
): Promise<LeaseInfo[]> {
  const dir = layout.leaseDir(name, version);
  const names = await readdir(dir).catch(() => []);
  const out: LeaseInfo[] = [];
  for (const file of names) {
    if (!file.endsWith(SUFFIX)) continue;
    const path = join(dir, file);
    const { live, pid } = await isLive(path);
    if (live) out.push({ holder: file.slice(0, -SUFFIX.length), pid, path });
    else await rm(path, { force: true });
  }
  return out;
}

/** Removes the runtime's lease dir when it is empty. Call under the gate (a lease may be coming). */
export async function removeEmptyLeaseDir(
  layout: RuntimeLayout,
  name: string,
  version: string,
): Promise<void> {
  await rmdir(layout.leaseDir(name, version)).catch(() => undefined);
}

/** Deletes every stale lease under RUNTIMES_DIR (at start-up); returns how many. */
export async function cleanStaleLeases(layout: RuntimeLayout): Promise<number> {
  let removed = 0;
  for (const key of await readdir(join(layout.root, LEASES_DIR)).catch(() => [])) {
    const id = splitRuntimeKey(key);
    if (!id) continue;
    removed += await withGate(layout, id.name, id.version, async () => {
      const before = (await readdir(layout.leaseDir(id.name, id.version)).catch(() => [])).length;
      const live = await liveLeases(layout, id.name, id.version);
      if (live.length === 0) await removeEmptyLeaseDir(layout, id.name, id.version);
      return Math.max(0, before - live.length);
    });
  }
  return removed;
}
