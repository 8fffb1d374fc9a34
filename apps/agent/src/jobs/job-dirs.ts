// Per-job directories: `AGENT_WORK_DIR/<jobId>/` (root-owned, 0711) holding `work/` (the job's
// /work, owned by the sandbox uid) and `.owner` (pid and start time of the agent running it, so
// a later start — of this agent or another sharing the directory — removes only what a dead
// process left). Nothing of /work is kept after the job: uploads are transient.
import { chmod, chown, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NOBODY, processStartTime } from '@joblet/sandbox';
import { removeTree } from '@joblet/artifact';
import { isJobId } from './job-errors.js';

const OWNER_FILE = '.owner';

export interface JobDir {
  /** `AGENT_WORK_DIR/<jobId>`: removed whole when the job ends. */
  dir: string;
  /** Bound at /work. */
  work: string;
}

let ownStart: Promise<number | null> | undefined;

export async function createJobDir(root: string, jobId: string): Promise<JobDir> {
  if (!isJobId(jobId)) throw new Error(`invalid job id ${JSON.stringify(jobId)}`);
  const dir = join(root, jobId);
  // Not recursive: a directory of that name already there is a leftover we must not reuse.
  await mkdir(dir, { mode: 0o711 });
  await chmod(dir, 0o711);
  ownStart ??= processStartTime(process.pid);
  await writeFile(
    join(dir, OWNER_FILE),
    JSON.stringify({ pid: process.pid, start: await ownStart }),
    { mode: 0o600 },
  );
  const work = join(dir, 'work');
  await mkdir(work, { mode: 0o755 });
  await chmod(work, 0o755);
  if (process.getuid?.() === 0) await chown(work, NOBODY, NOBODY);
  return { dir, work };
}

/**
 * The layers of a system-root job's writable root inside its directory: `upper` (what it
 * writes, owned by the uid that is root of its namespace), overlayfs's `work` and the mountpoint.
 * Removed with the directory.
 */
export async function createRootLayers(
  d: JobDir,
  owner: { uid: number; gid: number },
): Promise<{ upper: string; work: string; mountpoint: string }> {
  const layers = {
    upper: join(d.dir, 'root-upper'),
    work: join(d.dir, 'root-work'),
    mountpoint: join(d.dir, 'root'),
  };
  await mkdir(layers.upper, { mode: 0o755 });
  await mkdir(layers.work, { mode: 0o700 });
  await mkdir(layers.mountpoint, { mode: 0o755 });
  if (process.getuid?.() === 0) await chown(layers.upper, owner.uid, owner.gid);
  return layers;
}

export async function removeJobDir(d: JobDir): Promise<void> {
  await removeTree(d.dir);
}

/** A directory this young without an owner file may be one another agent is creating. */
const UNOWNED_GRACE_MS = 60_000;

/** True when the agent that made `dir` is gone (or unknown: no readable owner file). */
async function ownerGone(dir: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(join(dir, OWNER_FILE), 'utf8');
  } catch {
    const st = await stat(dir).catch(() => undefined);
    return st !== undefined && Date.now() - st.mtimeMs > UNOWNED_GRACE_MS;
  }
  try {
    const o = JSON.parse(text) as {
      pid?: unknown;
      start?: unknown;
    };
    if (typeof o.pid !== 'number') return true;
    const start = await processStartTime(o.pid);
    return start === null || (typeof o.start === 'number' && o.start !== start);
  } catch {
    return true;
  }
}

/** Removes job directories whose agent died (at start-up); returns their job ids. */
export async function cleanupJobDirs(root: string): Promise<string[]> {
  const removed: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true }).catch(() => [])) {
    // Only what looks like ours: runtime tests (`test-*`) and anything else are left alone.
    if (!e.isDirectory() || !isJobId(e.name) || e.name.startsWith('test-')) continue;
    const dir = join(root, e.name);
    if (!(await ownerGone(dir))) continue;
    await removeTree(dir);
    removed.push(e.name);
  }
  return removed;
}
