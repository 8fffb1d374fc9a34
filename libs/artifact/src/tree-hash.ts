// Content hash of a directory tree: what a runtime *is*, independent of mtimes, owners, inode
// order and of how it was packed. Two nodes that installed the same runtime report the same hash.
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { entryPath, walkTree, type TreeEntry, type WalkOptions } from './tree-walk.js';

/** Version tag hashed first: bump it whenever the record format below changes. */
const FORMAT = 'joblet-tree-v1';
const NUL = Buffer.from([0]);
/** Read size per file read: 1 MiB keeps syscalls few and memory bounded for huge files. */
const READ_CHUNK_BYTES = 1024 * 1024;

/** Options of {@link treeHash}. */
export type TreeHashOptions = WalkOptions;

/**
 * sha256 (hex) over every entry of `dir` as {@link packTree} would pack it, in walk order.
 * Each record is `type \0 perm \0 size \0 digest-or-target \0 path \0`, where type is f/d/l,
 * perm is the octal permission bits with setuid/setgid cleared (packing strips them too) and
 * 0 for symlinks, digest is the sha256 of a file's content and target a symlink's raw target.
 * Device nodes, FIFOs and sockets are left out, as packing leaves them out. Owners and times
 * are not part of the hash. Files are read in 1 MiB chunks, never whole.
 */
export async function treeHash(dir: string, opts: TreeHashOptions = {}): Promise<string> {
  const { entries } = await walkTree(dir, opts);
  return hashTreeEntries(dir, entries);
}

/** {@link treeHash} over entries already produced by `walkTree(root)`. */
export async function hashTreeEntries(
  root: string,
  entries: readonly TreeEntry[],
): Promise<string> {
  const digests = await digestFiles(root, entries);
  const h = createHash('sha256');
  h.update(FORMAT);
  h.update(NUL);
  for (const e of entries) {
    const type = e.type === 'file' ? 'f' : e.type === 'dir' ? 'd' : 'l';
    const perm = e.type === 'symlink' ? 0 : e.mode & 0o1777;
    const size = e.type === 'file' ? (digests.get(e.inode)?.size ?? 0) : 0;
    h.update(`${type}\0${perm.toString(8)}\0${size}\0`);
    if (e.type === 'file') h.update(digests.get(e.inode)?.sha256 ?? '');
    else if (e.type === 'symlink' && e.linkTarget) h.update(e.linkTarget);
    h.update(NUL);
    h.update(e.rel);
    h.update(NUL);
  }
  return h.digest('hex');
}

interface FileDigest {
  sha256: string;
  size: number;
}

/** Bytes hashed between two yields to the event loop (8 MiB ≈ 8 ms of sha256 here). */
const YIELD_EVERY_BYTES = 8 * 1024 * 1024;

/**
 * sha256 of each distinct regular file (hard links are read once). Synchronous reads in 1 MiB
 * chunks — a promise per open/read/close cost more than the hashing for small files — with a
 * yield to the event loop every {@link YIELD_EVERY_BYTES}, so even a huge file never blocks it.
 */
async function digestFiles(
  root: string,
  entries: readonly TreeEntry[],
): Promise<Map<string, FileDigest>> {
  const out = new Map<string, FileDigest>();
  const buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  let sinceYield = 0;
  for (const e of entries) {
    if (e.type !== 'file' || out.has(e.inode)) continue;
    const fd = openSync(entryPath(root, e.rel), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const h = createHash('sha256');
      let size = 0;
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        h.update(buf.subarray(0, n));
        size += n;
        sinceYield += n;
        if (sinceYield >= YIELD_EVERY_BYTES) {
          sinceYield = 0;
          await new Promise((r) => setImmediate(r));
        }
      }
      out.set(e.inode, { sha256: h.digest('hex'), size });
    } finally {
      closeSync(fd);
    }
  }
  return out;
}

/** Streams one file through sha256 (1 MiB reads). O_NOFOLLOW: a symlink is not followed. */
export async function hashFile(path: Buffer | string): Promise<FileDigest> {
  const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const h = createHash('sha256');
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      h.update(chunk.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { sha256: h.digest('hex'), size };
  } finally {
    await fh.close();
  }
}
