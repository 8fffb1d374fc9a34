/**
 * The builder's version and submission keys. Per-arch build keys are `computeBuildKey` of
 * @joblet/spec; a submission key identifies a whole submission for in-flight deduplication.
 */
import { createHash } from 'node:crypto';
import { canonicalJson, type Arch } from '@joblet/spec';

/**
 * Version of the build pipeline. Bump it whenever the steps change what ends up in an artifact,
 * so old cache entries stop matching.
 */
// 2: translations, docs and manual pages are left out of runtimes (spec `prune`).
export const BUILDER_VERSION = '2';

/** Identifies a submission: its per-arch build keys and whether it was forced. */
export function submissionKey(archKeys: Partial<Record<Arch, string>>, force: boolean): string {
  return createHash('sha256').update(canonicalJson({ archKeys, force })).digest('hex');
}
