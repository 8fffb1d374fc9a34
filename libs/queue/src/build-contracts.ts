/**
 * Queue payloads of a build flow. The status, result and error shapes they refer to are API
 * contracts and live in @joblet/spec (re-exported here for the worker's convenience).
 */
import { z } from 'zod';
import { ArchName } from '@joblet/spec';

/** Payload of a `build-<arch>` child job. */
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

/** Payload of the `publish` parent job. */
export const PublishJobData = z.object({
  buildId: z.string(),
  name: z.string(),
  version: z.string(),
  submissionKey: z.string(),
  arches: z.array(ArchName).min(1),
  allowPartial: z.boolean().default(false),
});
export type PublishJobData = z.infer<typeof PublishJobData>;
