/**
 * npm packages installed in a runtime tree: every `package.json` of a package directory under
 * a global `node_modules` (`npm install -g` into /usr/local or a Node.js toolchain's prefix),
 * including scoped packages (`@scope/name`) and the nested `node_modules` of each package.
 */
import { join } from 'node:path';
import { entries, globDirs, readSmallFile } from './tree-read.js';

export interface NpmPackage {
  /** With its scope: `@types/node`. */
  name: string;
  version: string;
  license?: string;
  homepage?: string;
  /** Its package.json, relative to the root. */
  path: string;
}

/** Global module directories (relative to the root). */
const ROOTS: readonly (string | RegExp)[][] = [
  ['usr', 'local', 'lib', 'node_modules'],
  ['usr', 'lib', 'node_modules'],
  ['opt', '*', 'lib', 'node_modules'],
];

/** Nesting kept to this many node_modules levels: deeper trees are not what npm makes. */
const MAX_DEPTH = 24;

function fromPackageJson(text: string, path: string): NpmPackage | undefined {
  let pj: unknown;
  try {
    pj = JSON.parse(text);
  } catch {
    return undefined; // a broken package.json is not a package npm would load
  }
  if (typeof pj !== 'object' || pj === null) return undefined;
  const { name, version, license, homepage } = pj as Record<string, unknown>;
  if (typeof name !== 'string' || typeof version !== 'string' || !name || !version)
    return undefined;
  return {
    name,
    version,
    ...(typeof license === 'string' && license && { license }),
    ...(typeof homepage === 'string' && homepage && { homepage }),
    path,
  };
}

async function walk(root: string, nm: string, depth: number, out: NpmPackage[]): Promise<void> {
  if (depth > MAX_DEPTH) return;
  const dirs: string[] = [];
  for (const e of await entries(join(root, nm))) {
    if (!e.dir || e.name.startsWith('.')) continue;
    if (e.name.startsWith('@')) {
      for (const s of await entries(join(root, nm, e.name)))
        if (s.dir) dirs.push(`${nm}/${e.name}/${s.name}`);
    } else dirs.push(`${nm}/${e.name}`);
  }
  for (const dir of dirs) {
    const text = await readSmallFile(join(root, dir, 'package.json'));
    const p = text === undefined ? undefined : fromPackageJson(text, `${dir}/package.json`);
    if (p) out.push(p);
    await walk(root, `${dir}/node_modules`, depth + 1, out);
  }
}

/** Every package under the global module directories of `root`, sorted by path. */
export async function readNpmPackages(root: string): Promise<NpmPackage[]> {
  const out: NpmPackage[] = [];
  for (const pattern of ROOTS) {
    for (const nm of await globDirs(root, pattern)) await walk(root, nm, 0, out);
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
