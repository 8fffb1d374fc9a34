/**
 * The single-machine farm's state directory (default /var/lib/joblet-farm): the artifact store,
 * the worker's work dir, logs, and `farm.json`, which records what `rnx farm up` started (by pid)
 * so that `rnx farm down` stops exactly that.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export const DEFAULT_FARM_DIR = '/var/lib/joblet-farm';

const Component = z.object({
  pid: z.number().int().optional(),
  log: z.string(),
  restarts: z.number().int().default(0),
  startedAt: z.string().optional(),
});
export type Component = z.infer<typeof Component>;

export const FarmState = z.object({
  supervisorPid: z.number().int(),
  apiUrl: z.string(),
  /** The API's API_AUTH (`token` or `none`); absent in states written before it was recorded. */
  auth: z.enum(['token', 'none']).optional(),
  redisUrl: z.string(),
  storageUrl: z.string(),
  prefix: z.string(),
  /** The host's arch. */
  arch: z.string(),
  /** Every arch the farm builds for and runs jobs on (`--arch`); absent in older states. */
  arches: z.array(z.string()).optional(),
  startedAt: z.string(),
  /** Set when the supervisor has started every component once. */
  ready: z.boolean().default(false),
  components: z.record(z.string(), Component),
});
export type FarmState = z.infer<typeof FarmState>;

export function farmPaths(dir: string) {
  return {
    dir,
    state: join(dir, 'farm.json'),
    logs: join(dir, 'logs'),
    store: join(dir, 'store'),
    work: join(dir, 'work'),
    redis: join(dir, 'redis'),
  };
}

export function readFarmState(dir: string): FarmState | undefined {
  try {
    return FarmState.parse(JSON.parse(readFileSync(farmPaths(dir).state, 'utf8')));
  } catch {
    return undefined;
  }
}

/** `scheme://user:secret@host…` → `scheme://user:***@host…` (any URL form, multi-host too). */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@\s]*:)[^@/\s]*@/, '$1***@');
}

/**
 * Written to a temp file and renamed, so a reader never sees half a file. Readable by every local
 * user (mode 0644): their `rnx` finds the farm's URL here, while its token stays in the owner's
 * 0600 rnx config. So no secret is written: passwords in the Redis and store URLs are redacted
 * (nothing reads them back; the supervisor has its own).
 */
export function writeFarmState(dir: string, state: FarmState): void {
  const { state: file } = farmPaths(dir);
  mkdirSync(dir, { recursive: true });
  rmSync(`${file}.tmp`, { force: true });
  const shown = {
    ...state,
    redisUrl: redactUrl(state.redisUrl),
    storageUrl: redactUrl(state.storageUrl),
  };
  writeFileSync(`${file}.tmp`, `${JSON.stringify(shown, null, 2)}\n`, { mode: 0o644 });
  renameSync(`${file}.tmp`, file);
}

/** A live process; a zombie waiting to be reaped (state Z in /proc) counts as gone. */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
