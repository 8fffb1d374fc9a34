// What a JobRunner is built with (AGENT_* settings and its clients), apart from the runner itself.
import type { Logger } from '@joblet/logging';
import type { Keys, RedisClient } from '@joblet/queue';
import type { CgroupManager } from '@joblet/sandbox';
import type { Arch } from '@joblet/spec';
import type { RuntimeProvider } from './job-context.js';
import type { JobEgress, JobSandbox } from './job-sandbox.js';
import type { WorkDiskSettings } from './work-disks.js';

export interface JobRunnerOptions {
  node: string;
  arch: Arch;
  /**
   * Most jobs taken from `jobs-<arch>` at once (AGENT_CAPACITY); which of them run is decided by
   * what they reserve (`resources`).
   */
  capacity: number;
  /**
   * What the node offers jobs and what a job without limits reserves (admission.ts). Defaults:
   * the node's cores, the memory free at start, DEFAULT_JOB_CPU_PERCENT, DEFAULT_JOB_MEMORY_MB.
   */
  resources?: {
    /** 100 = one core (AGENT_CPU_PERCENT). */
    cpuPercent?: number;
    /** AGENT_MEMORY_MB, in bytes. */
    memoryBytes?: number;
    /** AGENT_JOB_CPU_PERCENT. */
    defaultCpuPercent?: number;
    /** AGENT_JOB_MEMORY_MB, in bytes. */
    defaultMemoryBytes?: number;
  };
  /**
   * Commands (records, events); not closed by stop(). The BullMQ worker and the stop-channel
   * subscriber get connections of their own, duplicated from it.
   */
  redis: RedisClient;
  prefix: string;
  keys: Keys;
  /** AGENT_WORK_DIR: per-job directories. */
  workDir: string;
  /** AGENT_VOLUMES_DIR. */
  volumesDir: string;
  /**
   * Sizes of /work: AGENT_JOB_DISK_MB, AGENT_JOB_DISK_MAX_MB, AGENT_JOB_DISK_POOL. Default
   * 1024 MB, at most 65 536 MB, 4 made ahead (and reused).
   */
  workDisks?: WorkDiskSettings;
  runtimes: RuntimeProvider;
  log: Logger;
  /** Default: bubblewrap. */
  sandbox?: JobSandbox;
  /** Default: detected at start (none when not root); `null`: no cgroups (limits refused). */
  cgroups?: CgroupManager | null;
  /** Namespace of job cgroups under our own cgroup. Default `joblet-jobs`. */
  cgroupNamespace?: string;
  /** Tasks per job when it sets no maxProcesses. Default 4096. */
  defaultPidsMax?: number;
  /** How egress jobs reach out: AGENT_EGRESS_DNS, AGENT_EGRESS_ALLOW. */
  egress?: JobEgress;
  /**
   * AGENT_ALLOW_HOST_NETWORK: run `network: host` jobs. Default false: such a job ends FAILED
   * naming the setting, whatever the API decided.
   */
  allowHostNetwork?: boolean;
  /**
   * Environment every job gets, under its own `--env` (the package mirrors of job-mirrors.ts:
   * AGENT_JOB_PIP_INDEX_URL, AGENT_JOB_NPM_REGISTRY). Default none.
   */
  jobEnv?: Record<string, string>;
  /** BullMQ lock of a running job (ms): a node silent this long has its jobs failed. Default 30 000. */
  lockDurationMs?: number;
  /** How often this worker looks for stalled jobs (ms). Default 30 000. */
  stalledIntervalMs?: number;
  /** Serve `jobs-<arch>` (default true); false: only node-queue work handed in. */
  archQueue?: boolean;
  output?: { maxLines?: number; maxBytes?: number };
  /** Default 250. */
  oomPollMs?: number;
  /** How often a running job's record is checked against its process (ms). Default 5000. */
  recordCheckMs?: number;
  /** How long a runtime lease outlives the last job using it (ms). Default 2000. */
  leaseLingerMs?: number;
  /**
   * For tests: awaited before an ended job's clean-up starts (holding it shows that the jobs
   * after it do not wait for it).
   */
  beforeCleanup?: (jobId: string) => Promise<void>;
}
