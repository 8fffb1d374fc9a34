// The normalised runtime tree: what an agent installs lives on the node's own file system and is
// mounted into every job, so nothing in it may be writable by others than root (a build hook's
// `chmod 666` on a library would let any local user change what every later job loads), carry
// setuid/setgid bits, or belong to a build's users. Packing enforces it (see tarCreateArgs and
// packTree) and extraction refuses archives that break it (ListingChecker, checkTree).
import { chmod, readdir, rm } from 'node:fs/promises';
import { mountsUnder } from './fs-safe.js';
import { entryPath, walkTree, type TreeEntry, type TreeFilter } from './tree-walk.js';

/**
 * Mode of a scratch directory (sticky and world-writable: `tmp`, `var/tmp`, `run/lock`) once
 * normalised: an empty, root-owned mount point, where a job gets a tmpfs if it needs one.
 */
export const SCRATCH_DIR_MODE = 0o755;

/** Bits no member of a normalised archive has: setuid, setgid and write for others. */
export const STRIPPED_MODE_BITS = 0o4000 | 0o2000 | 0o002;

/** Paths kept per kind of finding, for logs. */
const EXAMPLES = 5;

/** What normalising changed, per kind: how many entries, and the first few paths. */
export interface NormaliseFinding {
  count: number;
  examples: string[];
}

/** What {@link normaliseScratchDirs} and packing with `normalise` changed. */
export interface NormaliseReport {
  /** Sticky world-writable directories emptied and set to {@link SCRATCH_DIR_MODE}. */
  scratchDirs: NormaliseFinding;
  /** Entries removed from inside them. */
  removedEntries: number;
  /** Other world-writable files and directories, packed without `o+w`. */
  worldWritable: NormaliseFinding;
  /** Files and directories packed without their setuid/setgid bits. */
  setid: NormaliseFinding;
  /** Entries owned by another uid or gid than 0, packed as 0:0. */
  foreignOwner: NormaliseFinding;
}

/** An empty report. */
export function emptyNormaliseReport(): NormaliseReport {
  const none = (): NormaliseFinding => ({ count: 0, examples: [] });
  return {
    scratchDirs: none(),
    removedEntries: 0,
    worldWritable: none(),
    setid: none(),
    foreignOwner: none(),
  };
}

/** A sticky directory others may write to: a scratch place (`/tmp`), not part of a runtime. */
export function isScratchDir(e: Pick<TreeEntry, 'type' | 'mode'>): boolean {
  return e.type === 'dir' && (e.mode & 0o1000) !== 0 && (e.mode & 0o002) !== 0;
}

/** The permission bits an entry is packed with when normalising (symlinks: irrelevant). */
export function normalisedMode(mode: number): number {
  return mode & ~STRIPPED_MODE_BITS;
}

function note(f: NormaliseFinding, e: TreeEntry): void {
  f.count++;
  if (f.examples.length < EXAMPLES) f.examples.push(e.rel.toString('utf8'));
}

/**
 * The tree pass of normalisation, for what tar's options cannot express: every scratch directory
 * of `root` (see {@link isScratchDir}) loses its contents and gets mode {@link SCRATCH_DIR_MODE}.
 * Changes the tree in place (give it a writable copy or overlay); does nothing — and so works on a
 * read-only tree — when there is no scratch directory. Entries `filter` rejects are left alone.
 * Refuses to delete across a mount point.
 */
export async function normaliseScratchDirs(
  root: string,
  opts: { filter?: TreeFilter } = {},
): Promise<Pick<NormaliseReport, 'scratchDirs' | 'removedEntries'>> {
  const { entries } = await walkTree(root, opts.filter ? { filter: opts.filter } : {});
  const out = { scratchDirs: { count: 0, examples: [] as string[] }, removedEntries: 0 };
  let inside: Buffer | undefined; // prefix (`rel/`) of the scratch dir being emptied
  for (const e of entries) {
    if (inside && e.rel.subarray(0, inside.length).equals(inside)) {
      out.removedEntries++;
      continue;
    }
    inside = undefined;
    if (!isScratchDir(e)) continue;
    const abs = entryPath(root, e.rel);
    const mounts = await mountsUnder(abs.toString());
    if (mounts.length > 0) {
      throw new Error(`cannot normalise ${abs.toString()}: ${mounts[0]} is mounted inside it`);
    }
    for (const name of await readdir(abs, { encoding: 'buffer' })) {
      await rm(Buffer.concat([abs, Buffer.from('/'), name]), { recursive: true, force: true });
    }
    await chmod(abs, SCRATCH_DIR_MODE);
    note(out.scratchDirs, e);
    inside = Buffer.concat([e.rel, Buffer.from('/')]);
  }
  return out;
}

/**
 * Counts, in `report`, what packing `e` with normalisation changes: `o+w` and setuid/setgid bits
 * dropped, owner set to 0:0. Symlinks have no mode of their own but do have an owner. `rootId`
 * is the host id that is also root in the tree (a rootless build's, e.g. 100000): its entries
 * are root's, like those of uid 0, not another owner's.
 */
export function noteNormalisation(report: NormaliseReport, e: TreeEntry, rootId = 0): void {
  if (e.type !== 'symlink') {
    if (e.mode & 0o002) note(report.worldWritable, e);
    if (e.mode & 0o6000) note(report.setid, e);
  }
  const root = (id: number): boolean => id === 0 || id === rootId;
  if (!root(e.uid) || !root(e.gid)) note(report.foreignOwner, e);
}
