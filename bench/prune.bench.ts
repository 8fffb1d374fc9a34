/**
 * Issue 15's "smaller runtimes": the packed and unpacked size of a python 3.11 runtime tree with
 * and without pruning (translations, docs but copyright files, man and info pages, lintian
 * overrides; see PRUNED_DIRS in @joblet/spec), packed as the worker packs it. The tree is the
 * Debian base root the worker builds on plus the host's Python 3.11 (as the jobs benchmark makes
 * it), not a runtime built by the farm.
 */
import { join } from 'node:path';
import { packTree } from '@joblet/artifact';
import { makeTempDir } from '@joblet/testkit';
import { pruneFilter } from '@joblet/worker/testing';
import { makePythonTree } from './python-tree.js';

export async function run(): Promise<Record<string, unknown>> {
  const tmp = await makeTempDir('bench-prune-');
  try {
    const tree = join(tmp.path, 'rt');
    makePythonTree(tree, { name: 'bench-prune', version: '1.0.0' });
    const before = await packTree(tree, join(tmp.path, 'before.tar.zst'));
    const after = await packTree(tree, join(tmp.path, 'after.tar.zst'), {
      filter: pruneFilter(undefined),
    });
    const mb = (n: number) => Math.round(n / 1e4) / 100;
    return {
      tree: 'Debian bookworm base root + host python 3.11',
      unprunedMB: { unpacked: mb(before.treeBytes), packed: mb(before.bytes) },
      prunedMB: { unpacked: mb(after.treeBytes), packed: mb(after.bytes) },
      entries: { unpruned: before.files, pruned: after.files },
      savedPercent: {
        unpacked: Math.round((1 - after.treeBytes / before.treeBytes) * 1000) / 10,
        packed: Math.round((1 - after.bytes / before.bytes) * 1000) / 10,
      },
    };
  } finally {
    await tmp.cleanup();
  }
}
