/** What job handlers share within one worker process. */
import type { Logger } from '@joblet/logging';
import type { BuildStore, Keys, RedisClient } from '@joblet/queue';
import type { CgroupManager } from '@joblet/sandbox';
import type { BaseCatalog } from '@joblet/spec';
import type { ArtifactStore } from '@joblet/storage';
import type { CancelListener } from './cancel-listener.js';
import type { WorkerConfig } from '../env.js';

/** A build running in this process, as the shutdown path sees it. */
export interface RunningBuild {
  buildId: string;
  arch: string;
  jobId: string;
  /** Stops the build and gives it back to the queue without counting an attempt. */
  handBack(): void;
  /**
   * Stops the build because this worker lost the job's lock (its lock could not be renewed, so
   * the job may already run elsewhere): a build never runs twice at once.
   */
  abandon(): void;
}

export interface WorkerDeps {
  config: WorkerConfig;
  log: Logger;
  /** Commands (not the BullMQ blocking connection). */
  redis: RedisClient;
  keys: Keys;
  buildStore: BuildStore;
  store: ArtifactStore;
  /** The base catalog builds use: built-in merged with CATALOG_FILE. */
  catalog: BaseCatalog;
  cancels: CancelListener;
  /** For removing the cgroup of a child that was SIGKILLed before it could. */
  cgroups: CgroupManager;
  /** Path of dist/build-child.js. */
  childScript: string;
  running: Set<RunningBuild>;
  /** Set when the shutdown path started: a build child stopped from outside is handed back. */
  state: { closing: boolean };
  /** Build job ids whose final failure was already recorded by the processor. */
  handledFailures: Set<string>;
}
