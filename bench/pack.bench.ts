/**
 * Issue 15's packaging figure: MB of tree per second through `packTree` as the worker calls it
 * (normalised tar | zstd -3 -T0 into a file, the archive's sha256 and the tree hash), against the
 * floor of a bare `tar -c | zstd -3 -T0` of the same tree into a file, in the same run,
 * interleaved. Target: ≥ 300 MB/s. The tree is a python runtime made from the Debian base root
 * and the host's Python 3.11 (as the jobs benchmark makes it).
 * BENCH_PACK_RUNS: runs of each (default 15).
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { packTree, walkTree } from '@joblet/artifact';
import { makeTempDir } from '@joblet/testkit';
import { makePythonTree } from './python-tree.js';
import { percentiles, round } from './stats.js';

const RUNS = Number(process.env.BENCH_PACK_RUNS ?? 15);

/** MB/s (10^6 bytes) of `bytes` done in each of `ms`; percentiles are of the speeds. */
function speeds(bytes: number, ms: number[]) {
  const mbs = ms.map((t) => bytes / 1e6 / (t / 1000));
  // Slowest first: the "p99" of a speed is its worst run.
  const p = percentiles(mbs.map((s) => -s));
  return { n: p.n, p50: round(-p.p50), p99: round(-p.p99), worst: round(-p.max) };
}

export async function run(): Promise<Record<string, unknown>> {
  const tmp = await makeTempDir('bench-pack-');
  try {
    const tree = join(tmp.path, 'rt');
    makePythonTree(tree, { name: 'bench-pack', version: '1.0.0' });
    const { entries } = await walkTree(tree);
    const treeBytes = entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
    const out = join(tmp.path, 'out.tar.zst');
    const floorOut = join(tmp.path, 'floor.tar.zst');
    const ours: number[] = [];
    const floor: number[] = [];
    let archiveBytes = 0;
    let floorBytes = 0;
    for (let i = 0; i < RUNS + 1; i++) {
      let t = process.hrtime.bigint();
      execFileSync('bash', [
        '-c',
        'set -o pipefail; tar -cf - -C "$1" . | zstd -q -3 -T0 -f -o "$2"',
        'floor',
        tree,
        floorOut,
      ]);
      const floorMs = Number(process.hrtime.bigint() - t) / 1e6;
      rmSync(out, { force: true });
      t = process.hrtime.bigint();
      const packed = await packTree(tree, out);
      const oursMs = Number(process.hrtime.bigint() - t) / 1e6;
      // The first round warms the page cache for both.
      if (i === 0) continue;
      floor.push(floorMs);
      ours.push(oursMs);
      archiveBytes = packed.bytes;
      floorBytes = Number(execFileSync('stat', ['-c', '%s', floorOut], { encoding: 'utf8' }));
    }
    const oursMbs = speeds(treeBytes, ours);
    const floorMbs = speeds(treeBytes, floor);
    return {
      runs: RUNS,
      tree: { bytes: treeBytes, entries: entries.length },
      archiveBytes,
      floorArchiveBytes: floorBytes,
      packTreeMBs: oursMbs,
      packTreeMs: percentiles(ours),
      floorMBs: floorMbs,
      floorMs: percentiles(floor),
      ratioP50: round(oursMbs.p50 / floorMbs.p50),
      target: 'packTreeMBs.p50 ≥ 300',
    };
  } finally {
    await tmp.cleanup();
  }
}
