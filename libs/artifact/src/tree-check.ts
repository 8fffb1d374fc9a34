// The check of an extracted tree as it really is on disk, after tar: defence in depth behind the
// listing check, and the only check that sees what the kernel will see when a job follows a link.
import type { EntryViolation, SymlinkPolicy, TreeRules } from './tar-listing.js';
import { walkTree, type SpecialEntryKind, type TreeEntry, type TreeWalk } from './tree-walk.js';

/** Symlinks followed while resolving one path before giving up (the kernel's limit is 40). */
const MAX_SYMLINK_HOPS = 40;

const SPECIAL_REASONS: Record<SpecialEntryKind, string> = {
  'char-device': 'is a character device',
  'block-device': 'is a block device',
  fifo: 'is a FIFO',
  socket: 'is a socket',
  unknown: 'has an unknown file type',
};

/**
 * Walks `root` (without following links) and returns the first problem, or undefined:
 * device nodes, FIFOs or sockets; setuid/setgid bits; (with {@link TreeRules.normalised}, the
 * default) a file or directory writable by others; a file with more hard links than the tree
 * holds (linked to something outside); a symlink whose full resolution — following the other
 * symlinks of the tree as the kernel would — leaves the tree (see {@link SymlinkPolicy}).
 * Owners are not checked here: an extracted tree belongs to whoever extracted it (the listing
 * check sees the archive's owners). `rules` as a string is the symlink policy. Pass `walk` to
 * reuse a walk already made.
 */
export async function checkTree(
  root: string,
  rules: SymlinkPolicy | TreeRules,
  walk?: TreeWalk,
): Promise<EntryViolation | undefined> {
  const r = typeof rules === 'string' ? { symlinks: rules } : rules;
  const policy = r.symlinks ?? 'contained';
  const normalised = r.normalised ?? true;
  const { entries, skipped } = walk ?? (await walkTree(root));
  const first = skipped[0];
  if (first) return { entry: first.rel.toString('utf8'), reason: SPECIAL_REASONS[first.kind] };

  const byPath = new Map<string, TreeEntry>();
  const linksInTree = new Map<string, number>();
  for (const e of entries) {
    byPath.set(e.rel.toString('latin1'), e);
    if (e.type === 'file') linksInTree.set(e.inode, (linksInTree.get(e.inode) ?? 0) + 1);
  }
  for (const e of entries) {
    const name = e.rel.toString('utf8');
    if (e.type !== 'symlink' && e.mode & 0o4000)
      return { entry: name, reason: 'has the setuid bit' };
    if (e.type !== 'symlink' && e.mode & 0o2000)
      return { entry: name, reason: 'has the setgid bit' };
    if (normalised && e.type !== 'symlink' && e.mode & 0o002) {
      return { entry: name, reason: `is writable by others (mode ${e.mode.toString(8)})` };
    }
    if (e.type === 'file' && e.nlink > (linksInTree.get(e.inode) ?? 0)) {
      return { entry: name, reason: 'is hard-linked to a file outside the tree' };
    }
    if (e.type === 'symlink') {
      const reason = resolveWithin(e, byPath, policy);
      if (reason) return { entry: name, reason };
    }
  }
  return undefined;
}

/**
 * Resolves a symlink component by component against the tree's own entries. Components that do
 * not exist are taken lexically (stricter than the kernel, which would stop there).
 */
function resolveWithin(
  link: TreeEntry,
  byPath: ReadonlyMap<string, TreeEntry>,
  policy: SymlinkPolicy,
): string | undefined {
  const split = (b: Buffer): string[] =>
    b
      .toString('latin1')
      .split('/')
      .filter((c) => c !== '' && c !== '.');
  const stack = split(link.rel).slice(0, -1);
  let target = link.linkTarget ?? Buffer.alloc(0);
  let pending: string[] = [];
  let hops = 0;
  const jump = (t: Buffer): string | undefined => {
    if (t[0] === 0x2f) {
      if (policy === 'contained') return 'is a symlink that resolves to an absolute path';
      stack.length = 0;
    }
    pending = [...split(t), ...pending];
    return undefined;
  };
  const why = jump(target);
  if (why) return why;
  while (pending.length > 0) {
    const c = pending.shift()!;
    if (c === '..') {
      if (stack.pop() === undefined) return 'is a symlink that escapes the tree';
      continue;
    }
    stack.push(c);
    const e = byPath.get(stack.join('/'));
    if (e?.type !== 'symlink') continue;
    // A loop never resolves, so it cannot lead anywhere: stop like the kernel (ELOOP).
    if (++hops > MAX_SYMLINK_HOPS) return undefined;
    stack.pop();
    target = e.linkTarget ?? Buffer.alloc(0);
    const w = jump(target);
    if (w) return w;
  }
  return undefined;
}
