// A cross-process lock on one host: a lock file created with O_EXCL holding its owner's pid and
// process start time. Node has no flock(2); O_EXCL creation is atomic on local filesystems, and
// the start time tells a dead owner from a live process that happens to reuse its pid.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { LockError, LockErrorCode } from './errors.js';

/** Who holds a lock (the lock file's JSON content). */
export interface LockOwner {
  pid: number;
  /** Start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  start: number | null;
  host: string;
  /** Random per acquisition, so a release never removes somebody else's lock. */
  token: string;
  acquiredAt: string;
}

/** Options of {@link acquireFileLock}. */
export interface FileLockOptions {
  /** Give up after this many milliseconds with a LOCK_TIMEOUT {@link LockError}. Default: wait forever. */
  waitMs?: number;
  /** Delay between attempts while a live owner holds the lock, in milliseconds. Default 100. */
  pollMs?: number;
  signal?: AbortSignal;
  /** Called once when the lock is found held, e.g. to log "waiting for pid N". */
  onWait?: (owner: LockOwner | undefined) => void;
}

/** A held lock. */
export interface FileLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. Safe to call more than once. */
  release(): Promise<void>;
}

/** A lock file younger than this with no readable owner is being written, not abandoned (ms). */
const UNREADABLE_GRACE_MS = 10_000;
/** A breaker lock older than this was left by a process that died while breaking (ms). */
const BREAKER_STALE_MS = 30_000;

/** Start time of `pid` from /proc (clock ticks since boot), or null when it is not running. */
export async function processStartTime(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return null; // a zombie holds nothing
    return Number(fields[19]);
  } catch {
    return null;
  }
}

/** True when `owner` is certainly gone: same host, and its pid is dead or is another process. */
async function ownerIsDead(owner: LockOwner): Promise<boolean> {
  if (owner.host !== hostname()) return false; // cannot tell across hosts: keep waiting
  const start = await processStartTime(owner.pid);
  if (start === null) return true;
  return owner.start !== null && owner.start !== start;
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const o = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    return typeof o.pid === 'number' && typeof o.token === 'string' ? (o as LockOwner) : undefined;
  } catch {
    return undefined;
  }
}

async function createExclusive(path: string, content: string): Promise<boolean> {
  try {
    const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

async function ageMs(path: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * Removes the lock at `path` if its owner is dead. Only the holder of `<path>.break` (itself an
 * O_EXCL file) may do this, and it re-reads the owner under it: so a stale lock is removed at
 * most once and a fresh lock taken meanwhile by someone else is never removed.
 */
async function breakIfStale(path: string, seen: LockOwner | undefined): Promise<void> {
  const breaker = `${path}.break`;
  if (!(await createExclusive(breaker, String(process.pid)))) {
    const age = await ageMs(breaker);
    if (age !== undefined && age > BREAKER_STALE_MS) await unlink(breaker).catch(() => undefined);
    return;
  }
  try {
    const now = await readOwner(path);
    if (seen !== undefined && now?.token === seen.token && (await ownerIsDead(now))) {
      await unlink(path).catch(() => undefined);
    } else if (seen === undefined && now === undefined) {
      const age = await ageMs(path);
      if (age !== undefined && age > UNREADABLE_GRACE_MS) await unlink(path).catch(() => undefined);
    }
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}

/**
 * Takes the lock `path` (a file; its directory must exist), waiting while a live process holds
 * it and breaking it when its owner died (SIGKILL, crash, reboot). Works between processes and
 * between callers inside one process.
 */
export async function acquireFileLock(path: string, opts: FileLockOptions = {}): Promise<FileLock> {
  const me: LockOwner = {
    pid: process.pid,
    start: await processStartTime(process.pid),
    host: hostname(),
    token: randomBytes(8).toString('hex'),
    acquiredAt: new Date().toISOString(),
  };
  const deadline = opts.waitMs !== undefined ? Date.now() + opts.waitMs : Infinity;
  let waited = false;
  for (;;) {
    if (opts.signal?.aborted)
      throw new LockError(`waiting for ${path} aborted`, LockErrorCode.Aborted, path);
    if (await createExclusive(path, JSON.stringify(me))) {
      let released = false;
      return {
        path,
        release: async () => {
          if (released) return;
          released = true;
          if ((await readOwner(path))?.token === me.token)
            await unlink(path).catch(() => undefined);
        },
      };
    }
    const owner = await readOwner(path);
    if (owner === undefined || (await ownerIsDead(owner))) {
      await breakIfStale(path, owner);
    } else if (!waited) {
      waited = true;
      opts.onWait?.(owner);
    }
    if (Date.now() >= deadline) {
      const who = owner ? `pid ${owner.pid} on ${owner.host}` : 'an unknown owner';
      throw new LockError(`${path} is held by ${who}`, LockErrorCode.Timeout, path);
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
  }
}

/** Runs `fn` while holding the lock `path`; the lock is released however `fn` ends. */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  opts: FileLockOptions = {},
): Promise<T> {
  const lock = await acquireFileLock(path, opts);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
