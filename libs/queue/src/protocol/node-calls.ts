/**
 * The node's own queue (`node-<name>`): work pinned to one node. Pinned `run-job`s (jobs.ts) and
 * calls the API makes to that node's agent and waits for: runtime tests and volume changes.
 */
import { z } from 'zod';
import { JOB_NAMES } from '../names.js';
import { defineJobKind, type QueueJobs } from './job-kind.js';
import { RUN_JOB } from './jobs.js';

/** Payload of a `runtime-test`: the installed runtime to test. */
export const RuntimeTestJobData = z.object({ name: z.string(), version: z.string() });
export type RuntimeTestJobData = z.infer<typeof RuntimeTestJobData>;

/**
 * Payload of `volume-create` / `volume-remove`. The name is checked by the agent's volume
 * manager (its error is what the caller reads), not here.
 */
export const VolumeJobData = z.object({
  name: z.string(),
  /** volume-create: the volume's own filesystem of this size; absent: a plain directory. */
  sizeBytes: z.number().int().positive().optional(),
});
export type VolumeJobData = z.infer<typeof VolumeJobData>;

/** Finished node calls are dropped after this long (s): the caller waited for the answer. */
export const KEEP_NODE_CALLS_S = 3600;
/** How long the API waits for a runtime test, start-up of a JVM on a loaded node included (ms). */
export const RUNTIME_TEST_CALL_TIMEOUT_MS = 60_000;
/** How long the API waits for a volume to be created or removed (ms). */
export const VOLUME_CALL_TIMEOUT_MS = 30_000;

const NODE_CALL_OPTIONS = {
  removeOnComplete: { age: KEEP_NODE_CALLS_S },
  removeOnFail: { age: KEEP_NODE_CALLS_S },
};

export const RUNTIME_TEST_JOB = defineJobKind({
  name: JOB_NAMES.runtimeTest,
  schema: RuntimeTestJobData,
  options: NODE_CALL_OPTIONS,
});

export const VOLUME_CREATE_JOB = defineJobKind({
  name: JOB_NAMES.volumeCreate,
  schema: VolumeJobData,
  options: NODE_CALL_OPTIONS,
});

export const VOLUME_REMOVE_JOB = defineJobKind({
  name: JOB_NAMES.volumeRemove,
  schema: VolumeJobData,
  options: NODE_CALL_OPTIONS,
});

export const NODE_QUEUE_JOBS: QueueJobs = {
  queue: 'node-<name>',
  kinds: [RUN_JOB, RUNTIME_TEST_JOB, VOLUME_CREATE_JOB, VOLUME_REMOVE_JOB],
};
