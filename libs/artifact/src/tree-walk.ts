// One walk of a directory tree shared by packing, hashing and checking, so all three see exactly
// the same entries in exactly the same order. Paths are raw bytes: a file name that is not valid
// UTF-8 must survive unchanged (a string path would silently turn it into U+FFFD).
import type { BigIntStats } from 'node:fs';
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';

/** Kinds of entries that can be packed. */
export type TreeEntryType = 'file' | 'dir' | 'symlink';

/** Kinds of entries that are never packed. */
export type SpecialEntryKind = 'char-device' | 'block-device' | 'fifo' | 'socket' | 'unknown';

/** One packable entry of a tree. */
export interface TreeEntry {
  /** Path relative to the root: raw bytes, `/`-separated, no leading `./`. */
  readonly rel: Buffer;
  readonly type: TreeEntryType;
  /** Permission bits including setuid/setgid/sticky (`st_mode & 0o7777`). */
  readonly mode: number;
  /** Size in bytes (0 for directories). */
  readonly size: number;
  /** `dev:ino`, identifies hard links to the same file. */
  readonly inode: string;
  readonly nlink: number;
  /** Numeric owner and group (packing writes 0/0 whatever they are). */
  readonly uid: number;
  readonly gid: number;
  /** Target of a symlink, raw bytes. */
  readonly linkTarget?: Buffer;
}

/** An entry left out of the walk because it cannot be packed. */
export interface SkippedEntry {
  readonly rel: Buffer;
  readonly kind: SpecialEntryKind;
}

/** Result of {@link walkTree}. */
export interface TreeWalk {
  /** Depth-first, parents before children, siblings in byte order (= GNU tar `--sort=name`). */
  readonly entries: TreeEntry[];
  readonly skipped: SkippedEntry[];
}

/** Decides whether an entry (and, for a directory, everything below it) is walked. */
export type TreeFilter = (rel: string, type: TreeEntryType | SpecialEntryKind) => boolean;

/** Options of {@link walkTree}. */
export interface WalkOptions {
  /** Return false to leave an entry out; `rel` is decoded as UTF-8. */
  filter?: TreeFilter;
  /** Called with each entry as soon as it is found (in walk order), e.g. to stream it on. */
  onEntry?: (entry: TreeEntry) => void;
}

const SLASH = Buffer.from('/');

/** Entries handled between two yields to the event loop while walking. */
const YIELD_EVERY = 1024;

/**
 * Walks `root` without following symlinks. The root itself is not an entry.
 * Device nodes, FIFOs and sockets are reported in `skipped`, never in `entries`.
 * Uses synchronous lstat/readdir (a promise per syscall made the walk ~10x slower) and yields to
 * the event loop every {@link YIELD_EVERY} entries so timers and sockets keep being served.
 */
export async function walkTree(root: string, opts: WalkOptions = {}): Promise<TreeWalk> {
  const entries: TreeEntry[] = [];
  const skipped: SkippedEntry[] = [];
  const rootBuf = Buffer.from(root);
  if (!lstatSync(rootBuf).isDirectory()) throw new Error(`not a directory: ${root}`);
  let sinceYield = 0;

  const visit = async (relDir: Buffer | null): Promise<void> => {
    const absDir = relDir ? Buffer.concat([rootBuf, SLASH, relDir]) : rootBuf;
    const names = readdirSync(absDir, { encoding: 'buffer' });
    names.sort((x, y) => Buffer.compare(x, y));
    for (const name of names) {
      if (++sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
      const rel = relDir ? Buffer.concat([relDir, SLASH, name]) : name;
      const abs = Buffer.concat([absDir, SLASH, name]);
      const st = lstatSync(abs, { bigint: true });
      const type = entryType(st);
      if (opts.filter && !opts.filter(rel.toString('utf8'), type)) continue;
      if (type !== 'file' && type !== 'dir' && type !== 'symlink') {
        skipped.push({ rel, kind: type });
        continue;
      }
      const base = {
        rel,
        type,
        mode: Number(st.mode & 0o7777n),
        size: type === 'file' ? Number(st.size) : 0,
        inode: `${st.dev}:${st.ino}`,
        nlink: Number(st.nlink),
        uid: Number(st.uid),
        gid: Number(st.gid),
      };
      const entry: TreeEntry =
        type === 'symlink'
          ? { ...base, linkTarget: readlinkSync(abs, { encoding: 'buffer' }) }
          : base;
      entries.push(entry);
      opts.onEntry?.(entry);
      if (type === 'dir') await visit(rel);
    }
  };
  await visit(null);
  return { entries, skipped };
}

function entryType(st: BigIntStats): TreeEntryType | SpecialEntryKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char-device';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'unknown';
}

/** Absolute path of an entry as bytes. */
export function entryPath(root: string, rel: Buffer): Buffer {
  return Buffer.concat([Buffer.from(root), SLASH, rel]);
}
