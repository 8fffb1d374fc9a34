// The size of a job's /work (`--max-disk`, else the node's AGENT_JOB_DISK_MB) and where its
// filesystem comes from. Formatting and mounting an image takes ~50 ms, as long as the rest of a
// job's start, so a few of the default size are made ahead (AGENT_JOB_DISK_POOL) and a job
// takes one by a rename; other sizes are made when asked for. Every image is used by one job only
// and deleted after it: nothing one job wrote is seen by another.
import type { Logger } from '@joblet/logging';
import type { JobLimits } from '@joblet/spec';
import { diskImagesMissing } from '@joblet/sandbox';
import {
  adoptDiskSlot,
  createDiskSlot,
  createJobDir,
  removeJobDir,
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

export const DEFAULT_WORK_DISKS: WorkDiskSettings = { defaultMB: 1024, maxMB: 65_536, pool: 2 };

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
      this.fill();
      if (slot) {
        try {
          return await adoptDiskSlot(slot, this.o.root, jobId);
        } catch (err) {
          this.o.log.warn({ err }, 'a ready-made /work disk could not be used; making one');
          await removeJobDir(slot).catch(() => undefined);
        }
      }
    }
    return createJobDir(this.o.root, jobId, bytes);
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
    if (this.ready.length >= pool) return;
    let failed = false;
    this.filling = (async () => {
      // One at a time, in the background: never more than one mkfs competing with jobs.
      while (!this.stopped && this.ready.length < pool) {
        try {
          this.ready.push(await createDiskSlot(this.o.root, this.seq++, defaultMB * MiB));
        } catch (err) {
          this.o.log.error({ err }, 'making a ready-made /work disk failed; jobs make their own');
          failed = true;
          return;
        }
      }
    })().finally(() => {
      this.filling = undefined;
      // A job took one after the loop's last check: top up (after a failure, the next job will).
      if (!failed) this.fill();
    });
  }
}
