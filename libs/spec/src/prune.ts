/**
 * What a runtime leaves out of its artifact: the files Debian's own slim images leave out
 * (`dpkg --path-exclude`, as in debian:*-slim): translations, documentation, manual and info
 * pages, lintian overrides. Jobs never read them, and in python-3.11 translations alone are a
 * sixth of the tree. Each package's `usr/share/doc/<pkg>/copyright` stays: licences ask for it.
 * A spec keeps paths with `prune.keep` or everything with `prune.enabled: false`.
 */
import { quote } from './diagnostic.js';
import type { Check } from './checks/check.js';

/** Directories of a runtime (relative to its root) whose contents are left out. */
export const PRUNED_DIRS: readonly string[] = [
  'usr/share/doc',
  'usr/share/groff',
  'usr/share/info',
  'usr/share/linda',
  'usr/share/lintian/overrides',
  'usr/share/locale',
  'usr/share/man',
];

const DOC = 'usr/share/doc/';

/** A `prune.keep` entry: an absolute path below one of {@link PRUNED_DIRS}, written plainly. */
export const checkKeepPath: Check = (s) => {
  const rule = `an absolute path below ${PRUNED_DIRS.map((d) => `/${d}`).join(', ')}`;
  if (!s.startsWith('/')) return `${quote(s)} must be ${rule}`;
  const parts = s.slice(1).split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\0'))) {
    return `${quote(s)} must be a plain path (no "//", ".", ".." or trailing "/"): ${rule}`;
  }
  const rel = parts.join('/');
  if (!PRUNED_DIRS.some((d) => rel.startsWith(`${d}/`) || rel === d)) {
    return `${quote(s)} is not left out, so there is nothing to keep: use ${rule}`;
  }
  return undefined;
};

/**
 * Whether the runtime path `rel` (relative to the runtime's root, no leading "/") is packed.
 * `type` is the entry's kind: directories on the way to a kept path or to a copyright file
 * are packed so the walk reaches them. `keep` holds `prune.keep` entries (absolute paths).
 */
export function isPacked(rel: string, type: string, keep: readonly string[] = []): boolean {
  const dir = PRUNED_DIRS.find((d) => rel.startsWith(`${d}/`));
  if (dir === undefined) return true;
  for (const k of keep) {
    const kr = k.slice(1);
    if (rel === kr || rel.startsWith(`${kr}/`)) return true;
    if (type === 'dir' && kr.startsWith(`${rel}/`)) return true;
  }
  if (dir === 'usr/share/doc') {
    const inDoc = rel.slice(DOC.length).split('/');
    // usr/share/doc/<pkg> (a directory, or a symlink to another package's) and its copyright.
    if (inDoc.length === 1) return type === 'dir' || type === 'symlink';
    return inDoc.length === 2 && inDoc[1] === 'copyright';
  }
  return false;
}
