/**
 * Builds: one BullMQ flow per submission, a `publish-runtime` parent on `publish` with one
 * `build-runtime` child per architecture on `build-<arch>`. The status, result and error shapes
 * they refer to are API contracts and live in @joblet/spec.
 */
import type { FlowJob } from 'bullmq';
import { z } from 'zod';
import { ArchName, type Arch } from '@joblet/spec';
import { JOB_NAMES, PUBLISH_QUEUE, buildQueueName } from '../names.js';
import { defineJobKind, jobFor, type QueueJobs } from './job-kind.js';

/** Payload of a `build-runtime` job (one architecture of a build). */
export const BuildJobData = z.object({
  buildId: z.string(),
  arch: ArchName,
  /** The runtime.yaml text exactly as submitted (it is preserved in runtime.yml). */
  specText: z.string(),
  /** Per-arch build key: sha256(canonical spec, arch, catalog entry, builder version). */
  buildKey: z.string(),
  verbose: z.boolean().default(false),
});
export type BuildJobData = z.infer<typeof BuildJobData>;

/** Payload of the `publish-runtime` parent job. */
export const PublishJobData = z.object({
  buildId: z.string(),
  name: z.string(),
  version: z.string(),
  submissionKey: z.string(),
  arches: z.array(ArchName).min(1),
  allowPartial: z.boolean().default(false),
});
export type PublishJobData = z.infer<typeof PublishJobData>;

/** Attempts per arch for transient failures; spec and hook errors never retry. */
export const BUILD_ATTEMPTS = 3;
/** First retry delay of a build (ms), doubled per attempt. */
export const BUILD_BACKOFF_MS = 5_000;
/** Finished build and publish jobs are dropped after this long (s); build records keep their own retention. */
export const KEEP_BUILD_JOBS_S = 24 * 3600;

/** BullMQ job id of one arch's build: deterministic, so cancel and status can find it. */
export function childJobId(buildId: string, arch: Arch): string {
  return `${buildId}-${arch}`;
}

export const BUILD_RUNTIME_JOB = defineJobKind({
  name: JOB_NAMES.build,
  schema: BuildJobData,
  jobId: (d) => childJobId(d.buildId, d.arch),
  options: {
    attempts: BUILD_ATTEMPTS,
    backoff: { type: 'exponential', delay: BUILD_BACKOFF_MS },
    removeOnComplete: { age: KEEP_BUILD_JOBS_S },
    removeOnFail: { age: KEEP_BUILD_JOBS_S },
  },
});

export const PUBLISH_RUNTIME_JOB = defineJobKind({
  name: JOB_NAMES.publish,
  schema: PublishJobData,
  /** The build id: the API removes the parent on cancel by it. */
  jobId: (d) => d.buildId,
  options: {
    removeOnComplete: { age: KEEP_BUILD_JOBS_S },
    removeOnFail: { age: KEEP_BUILD_JOBS_S },
  },
});

export const BUILD_QUEUE_JOBS: QueueJobs = { queue: 'build-<arch>', kinds: [BUILD_RUNTIME_JOB] };
export const PUBLISH_QUEUE_JOBS: QueueJobs = { queue: PUBLISH_QUEUE, kinds: [PUBLISH_RUNTIME_JOB] };

/** Retry settings a caller may change (tests retry faster). */
export interface BuildRetry {
  attempts?: number;
  backoffMs?: number;
}

/**
 * The flow of one build: the publish parent and a child per `children` entry. A failed child
 * fails the parent unless the build allows partial results, in which case the parent runs with
 * the children that succeeded.
 */
export function buildFlow(
  publish: z.input<typeof PublishJobData>,
  children: readonly z.input<typeof BuildJobData>[],
  retry: BuildRetry = {},
): FlowJob {
  const parent = jobFor(PUBLISH_RUNTIME_JOB, publish);
  return {
    ...parent,
    queueName: PUBLISH_QUEUE,
    children: children.map((data) => ({
      ...jobFor(BUILD_RUNTIME_JOB, data, {
        ...(retry.attempts !== undefined && { attempts: retry.attempts }),
        ...(retry.backoffMs !== undefined && {
          backoff: { type: 'exponential', delay: retry.backoffMs },
        }),
        ...(publish.allowPartial
          ? { ignoreDependencyOnFailure: true }
          : { failParentOnFailure: true }),
      }),
      queueName: buildQueueName(data.arch),
    })),
  };
}
