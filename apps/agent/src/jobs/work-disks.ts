// The size of a job's /work (`--max-disk`, else the node's AGENT_JOB_DISK_MB) and where its
// filesystem comes from. Formatting, mounting, unmounting and deleting an image are four helper
// processes and the better part of a job's start on a busy node, so disks of the default size
// are kept mounted and reused (AGENT_JOB_DISK_POOL of them wait ready, made ahead at start): a
// job takes one by a rename, and after it the job's /work — a subdirectory of the filesystem,
// the only part a job can reach (job-dirs.ts) — is deleted whole (files, modes, extended
// attributes) and made anew. A disk goes back to the pool only when it is then exactly as it was
// made: nothing else in its filesystem or job directory, nothing mounted inside, the same free
// blocks and inodes, and its image not grown on the node's disk (see disk-reuse.ts); otherwise
// it is deleted. Other sizes are made when asked for and deleted after their job.
import { stat } from 'node:fs/promises';
import type { Logger } from '@joblet/logging';
import type { JobLimits } from '@joblet/spec';
import { diskImagesMissing } from '@joblet/sandbox';
import { freshState, wipeForReuse, type FreshState } from './disk-reuse.js';
import {
  adoptDiskSlot,
  createDiskSlot,
  createJobDir,
  removeJobDir,
  returnDiskSlot,
  type JobDir,
} from './job-dirs.js';
import { JobFailure } from './job-errors.js';

const MiB = 1024 * 1024;

export interface WorkDiskSettings {
  /** MB of /work for a job without `--max-disk` (AGENT_JOB_DISK_MB); 0: no limit. */
  defaultMB: number;
  /** Largest `--max-disk` accepted (AGENT_JOB_DISK_MAX_MB). */
  maxMB: number;
  /** Ready-made /work disks of the default size (AGENT_JOB_DISK_POOL); 0: none. */
  pool: number;
}

export const DEFAULT_WORK_DISKS: WorkDiskSettings = { defaultMB: 1024, maxMB: 65_536, pool: 4 };

/** What the pool did, for tests and metrics. */
export interface WorkDiskStats {
  /** Ready-made disks waiting now. */
  ready: number;
  /** Disks of the default size made (mkfs and mount), ahead or for a job. */
  made: number;
  /** Times a job's disk was emptied and went back to the pool. */
  reused: number;
}

export interface WorkDisksOptions {
  /** AGENT_WORK_DIR. */
  root: string;
  node: string;
  settings: WorkDiskSettings;
  /** Why this node cannot make sized disks (diskImagesMissing()); undefined: it can. */
  missing?: string;
  log: Logger;
}

export class WorkDisks {
  private readonly ready: JobDir[] = [];
  private filling: Promise<void> | undefined;
  private stopped = false;
  private seq = 0;
  private made = 0;
  private reused = 0;
  /** Default-size disks that jobs hold now (they come back: the pool does not make more). */
  private out = 0;
  /** How each default-size disk was when made, by its image's inode (renames keep it). */
  private readonly fresh = new Map<number, FreshState>();

  constructor(private readonly o: WorkDisksOptions) {}

  /**
   * The node's work disks, their pool filling: `missing` is found out here (and logged when it
   * matters: sized /work is on by default).
   */
  static startOnNode(o: Omit<WorkDisksOptions, 'missing'>): WorkDisks {
    const missing = diskImagesMissing();
    if (missing && o.settings.defaultMB > 0) {
      o.log.warn(
        { reason: missing },
        '/work is not size-limited: jobs asking --max-disk will be refused',
      );
    }
    const disks = new WorkDisks({ ...o, ...(missing !== undefined && { missing }) });
    disks.start();
    return disks;
  }

  /** Bytes of the job's /work filesystem; undefined: a plain directory. */
  sizeFor(l: JobLimits): number | undefined {
    const { defaultMB, maxMB } = this.o.settings;
    const asked = l.maxDiskMB;
    if (asked === undefined) return defaultMB > 0 && !this.o.missing ? defaultMB * MiB : undefined;
    if (this.o.missing) {
      throw new JobFailure(
        `--max-disk cannot be enforced on node ${this.o.node}: ${this.o.missing}`,
        'start-failed',
      );
    }
    if (asked > maxMB) {
      throw new JobFailure(
        `--max-disk ${asked} MB is more than node ${this.o.node} allows: ${maxMB} MB (AGENT_JOB_DISK_MAX_MB)`,
        'start-failed',
      );
    }
    return asked * MiB;
  }

  /** The job's directory, with a /work of the size its limits ask for. */
  async jobDir(jobId: string, limits: JobLimits): Promise<JobDir> {
    const bytes = this.sizeFor(limits);
    if (bytes !== undefined && bytes === this.o.settings.defaultMB * MiB) {
      const slot = this.ready.shift();
      this.out++;
      try {
        if (slot) {
          try {
            return await adoptDiskSlot(slot, this.o.root, jobId);
          } catch (err) {
            this.o.log.warn({ err }, 'a ready-made /work disk could not be used; making one');
            await this.forget(slot);
            await removeJobDir(slot).catch(() => undefined);
          }
        }
        return await this.remember(await createJobDir(this.o.root, jobId, bytes));
      } catch (err) {
        this.out--;
        this.fill();
        throw err;
      }
    }
    return createJobDir(this.o.root, jobId, bytes);
  }

  /**
   * Gives back a job's directory: a default-size disk emptied and back in the pool when its
   * job's processes are known to be gone, it is exactly as made and the pool has room; anything
   * else removed.
   */
  async release(d: JobDir, o: { processesGone: boolean }): Promise<void> {
    if (d.image !== undefined && d.diskBytes === this.o.settings.defaultMB * MiB) this.out--;
    try {
      await this.reuseOrRemove(d, o.processesGone);
    } finally {
      this.fill(); // one not reused is made anew, in the background
    }
  }

  private async reuseOrRemove(d: JobDir, processesGone: boolean): Promise<void> {
    const fresh = d.image !== undefined && processesGone ? await this.freshOf(d) : undefined;
    if (fresh && !this.stopped && this.ready.length < this.o.settings.pool) {
      const why = await wipeForReuse(d, fresh).catch((err: unknown) => (err as Error).message);
      if (why === undefined && !this.stopped && this.ready.length < this.o.settings.pool) {
        this.ready.push(await returnDiskSlot(d, this.o.root, this.seq++));
        this.reused++;
        return;
      }
      if (why !== undefined) this.o.log.info({ why, dir: d.dir }, 'a /work disk is not reused');
    }
    if (d.image !== undefined) await this.forget(d);
    await removeJobDir(d);
  }

  /** What the pool did so far. */
  stats(): WorkDiskStats {
    return { ready: this.ready.length, made: this.made, reused: this.reused };
  }

  /** Notes how a newly made default-size disk is, so that it can be reused. */
  private async remember(d: JobDir): Promise<JobDir> {
    this.made++;
    const f = await freshState(d).catch(() => undefined);
    if (f) this.fresh.set(f.ino, f);
    return d;
  }

  private async freshOf(d: JobDir): Promise<FreshState | undefined> {
    if (d.diskBytes !== this.o.settings.defaultMB * MiB) return undefined;
    const ino = await inodeOf(d.image!);
    return ino === undefined ? undefined : this.fresh.get(ino);
  }

  private async forget(d: JobDir): Promise<void> {
    const ino = await inodeOf(d.image!);
    if (ino !== undefined) this.fresh.delete(ino);
  }

  /** Starts making the ready-made disks (in the background). */
  start(): void {
    this.fill();
  }

  /** Stops making disks and removes the ready ones. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.filling;
    for (const slot of this.ready.splice(0)) {
      if (slot.image !== undefined) await this.forget(slot);
      await removeJobDir(slot).catch((err: unknown) =>
        this.o.log.error({ err, dir: slot.dir }, 'removing a ready-made /work disk failed'),
      );
    }
  }

  /** Number of ready-made disks now (for tests and metrics). */
  readyCount(): number {
    return this.ready.length;
  }

  private fill(): void {
    const { pool, defaultMB } = this.o.settings;
    if (this.filling || this.stopped || defaultMB <= 0 || this.o.missing) return;
    if (this.ready.length + this.out >= pool) return;
    let failed = false;
    this.filling = (async () => {
      // One at a time, in the background: never more than one mkfs competing with jobs.
      while (!this.stopped && this.ready.length + this.out < pool) {
        try {
          this.ready.push(
            await this.remember(await createDiskSlot(this.o.root, this.seq++, defaultMB * MiB)),
          );
        } catch (err) {
          this.o.log.error({ err }, 'making a ready-made /work disk failed; jobs make their own');
          failed = true;
          return;
        }
      }
    })().finally(() => {
      this.filling = undefined;
      // A disk was dropped after the loop's last check: top up (after a failure, the next job
      // will).
      if (!failed) this.fill();
    });
  }
}

async function inodeOf(path: string): Promise<number | undefined> {
  return (await stat(path).catch(() => undefined))?.ino;
}
