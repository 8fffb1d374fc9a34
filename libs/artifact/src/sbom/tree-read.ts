/**
 * Reading a runtime tree for its inventory without ever leaving it: directories are entered
 * only when they are real directories (never through a symlink, which could be absolute and
 * point at the host), and files are read only when they are regular files of bounded size.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Largest metadata file read (bytes): METADATA and package.json files are a few KB. */
export const MAX_METADATA_BYTES = 4 * 1024 * 1024;

/** Names of the real sub-directories of `dir` (none when it is missing or not a directory). */
export async function subdirs(dir: string): Promise<string[]> {
  const st = await lstat(dir).catch(() => undefined);
  if (!st?.isDirectory()) return [];
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** Names of every entry of a real directory `dir`, with whether each is a regular file. */
export async function entries(
  dir: string,
): Promise<{ name: string; file: boolean; dir: boolean }[]> {
  const st = await lstat(dir).catch(() => undefined);
  if (!st?.isDirectory()) return [];
  const list = await readdir(dir, { withFileTypes: true });
  return list
    .map((e) => ({ name: e.name, file: e.isFile(), dir: e.isDirectory() }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A regular file's text, or undefined when it is missing, not a regular file or too large. */
export async function readSmallFile(path: string): Promise<string | undefined> {
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isFile() || st.size > MAX_METADATA_BYTES) return undefined;
  return readFile(path, 'utf8');
}

/**
 * The real directories matching `pattern` under `root`: segments are literal names, or `*`
 * (any name) / a RegExp (names it matches). No segment is ever followed through a symlink.
 */
export async function globDirs(
  root: string,
  pattern: readonly (string | RegExp)[],
): Promise<string[]> {
  let level = [''];
  for (const seg of pattern) {
    const next: string[] = [];
    for (const rel of level) {
      for (const name of await subdirs(join(root, rel))) {
        const ok = seg === '*' || (typeof seg === 'string' ? seg === name : seg.test(name));
        if (ok) next.push(rel === '' ? name : `${rel}/${name}`);
      }
    }
    level = next;
  }
  return level;
}
