/**
 * What crosses process boundaries during a build — per-arch status, results and errors — shared by
 * the API, the workers and the CLI. Errors are data (`{ code, message, details }`), never thrown
 * class instances.
 */
import { z } from 'zod';
import { ARCHITECTURES } from '../constants.js';

export const ArchName = z.enum(ARCHITECTURES);

export const BUILD_ERROR_CODES = [
  'INVALID_SPEC',
  'HOOK_FAILED',
  'HOOK_TIMEOUT',
  'PACKAGE_INSTALL_FAILED',
  'BASE_ROOT_FAILED',
  'TOOLCHAIN_FAILED',
  'BUILD_TIMEOUT',
  'STORE_FAILED',
  'CANCELED',
  'WORKER_LOST',
  'INTERNAL',
] as const;
export const BuildErrorCode = z.enum(BUILD_ERROR_CODES);
export type BuildErrorCode = z.infer<typeof BuildErrorCode>;

export const BuildError = z.object({
  code: BuildErrorCode,
  message: z.string(),
  /** Tail of the failing command's output, when there is one. */
  details: z.string().optional(),
});
export type BuildError = z.infer<typeof BuildError>;

/** One architecture's artifact, as its manifest records it. */
export const ArtifactInfo = z.object({
  arch: ArchName,
  archiveKey: z.string(),
  manifestKey: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  treeHash: z.string(),
  /** Uncompressed size of the tree in bytes. */
  treeBytes: z.number().int().nonnegative(),
  buildKey: z.string(),
});
export type ArtifactInfo = z.infer<typeof ArtifactInfo>;

export const ARCH_STATES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'canceled',
  'cached',
] as const;
export const ArchState = z.enum(ARCH_STATES);
export type ArchState = z.infer<typeof ArchState>;

export const ArchStatus = z.object({
  state: ArchState,
  /** Current phase number and name, e.g. 3 / "Installing packages". */
  phase: z.object({ n: z.number(), total: z.number(), name: z.string() }).optional(),
  attempt: z.number().int().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  artifact: ArtifactInfo.optional(),
  error: BuildError.optional(),
});
export type ArchStatus = z.infer<typeof ArchStatus>;

export const BUILD_STATES = [
  'queued',
  'running',
  'publishing',
  'succeeded',
  'failed',
  'canceled',
  'cached',
] as const;
export const BuildState = z.enum(BUILD_STATES);
export type BuildState = z.infer<typeof BuildState>;

/**
 * An architecture the spec's `platforms`/`architectures` list that this farm has no build pool
 * for: not built, and why, with how to get it.
 */
export const SkippedArch = z.object({ arch: ArchName, reason: z.string() });
export type SkippedArch = z.infer<typeof SkippedArch>;

export const BuildMeta = z.object({
  id: z.string(),
  name: z.string(),
  version: z.string(),
  submissionKey: z.string(),
  arches: z.array(ArchName),
  /** Listed by the spec but not built: this farm has no pool for them (absent: none). */
  skipped: z.array(SkippedArch).optional(),
  force: z.boolean(),
  allowPartial: z.boolean().default(false),
  createdAt: z.string(),
  /** Set once the build reached a final state. */
  finishedAt: z.string().optional(),
  /** Terminal overall state when set by the publisher or a cancel; otherwise derived from arches. */
  final: BuildState.optional(),
  error: BuildError.optional(),
});
export type BuildMeta = z.infer<typeof BuildMeta>;

/** A build as the API shows it. */
export const BuildRecord = BuildMeta.extend({
  state: BuildState,
  archStatus: z.record(z.string(), ArchStatus),
});
export type BuildRecord = z.infer<typeof BuildRecord>;
