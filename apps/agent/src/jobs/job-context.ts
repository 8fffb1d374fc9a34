// What a job's execution shares with the others on this node (built once by the JobRunner).
import type { Logger } from '@joblet/logging';
import type { JobStore, Keys, RedisClient } from '@joblet/queue';
import type { CgroupManager } from '@joblet/sandbox';
import type { RuntimeLayout } from '../runtimes/layout.js';
import type { ConvergeResult } from '../runtimes/runtime-sync.service.js';
import type { JobNetworks } from './job-networks.js';
import type { JobSandbox, RuntimeMounts } from './job-sandbox.js';
import type { SharedRuntimeLeases } from './runtime-leases.js';
import type { SystemRoots } from './system-roots.js';
import type { VolumeManager } from './volumes.js';
import type { WorkDisks } from './work-disks.js';

/** What the runner needs of RuntimeSync: where runtimes are, and installing one on demand. */
export interface RuntimeProvider {
  readonly layout: RuntimeLayout;
  converge(name: string, version: string): Promise<void>;
  lastResult(name: string, version: string): ConvergeResult | undefined;
}

/** Everything a job's execution shares with the others on this node. */
export interface JobContext {
  node: string;
  store: JobStore;
  redis: RedisClient;
  keys: Keys;
  runtimes: RuntimeProvider;
  /** Leases on runtimes, one per runtime for all jobs (see runtime-leases.ts). */
  leases: SharedRuntimeLeases;
  sandbox: JobSandbox;
  mounts: RuntimeMounts;
  /** Undefined where cgroups cannot be used (not root): then any limit is refused. */
  cgroups: CgroupManager | undefined;
  /** Why there are no cgroups, for the message of a refused limit. */
  cgroupsMissing?: string;
  volumes: VolumeManager;
  /** Bridge and custom networks of this node's jobs. */
  networks: JobNetworks;
  /** The shifted lower trees of system-root jobs. */
  systemRoots: SystemRoots;
  workRoot: string;
  /** Each job's /work, sized (`--max-disk`, AGENT_JOB_DISK_MB). */
  workDisks: WorkDisks;
  defaultPidsMax: number;
  output: { maxLines?: number; maxBytes?: number };
  /** How often a job with a memory limit is checked for OOM kills where the kernel does not
   * kill the whole group (cgroup v1), in ms. */
  oomPollMs: number;
  /**
   * How often a running job's record is read back (ms), to re-attach it when it was declared lost
   * or stop the process when it ended elsewhere (record-watch.ts).
   */
  recordCheckMs: number;
  /** JobRunnerOptions.beforeCleanup (tests). */
  beforeCleanup?: (jobId: string) => Promise<void>;
  /** AGENT_ALLOW_HOST_NETWORK: else a `network: host` job is refused here. */
  allowHostNetwork: boolean;
  /** The operator's environment for every job (job-mirrors.ts); the job's own wins over it. */
  jobEnv: Record<string, string>;
  log: Logger;
}
