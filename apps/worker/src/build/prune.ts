/**
 * Step 10's filter: what of the runtime tree goes into the artifact. Translations, docs and
 * manual pages are left out (see PRUNED_DIRS in @joblet/spec) unless the spec's `prune` keeps
 * them. It is a filter of the walk that feeds tar and the tree hash, so nothing is deleted from
 * the build's layers or the shared base root, and the hash covers exactly what is packed.
 */
import type { TreeFilter } from '@joblet/artifact';
import { isPacked, type PruneSpec } from '@joblet/spec';

/** The runtime's files sit under `isolated/` in the packed directory (next to runtime.yml). */
const ISOLATED = 'isolated/';

/** The filter for `packTree`, or undefined when the spec turns pruning off. */
export function pruneFilter(prune: PruneSpec | undefined): TreeFilter | undefined {
  if (prune?.enabled === false) return undefined;
  const keep = prune?.keep ?? [];
  return (rel, type) =>
    !rel.startsWith(ISOLATED) || isPacked(rel.slice(ISOLATED.length), type, keep);
}
