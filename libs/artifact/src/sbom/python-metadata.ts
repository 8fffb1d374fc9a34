/**
 * Python distributions installed in a runtime tree, read from their core metadata: the
 * `METADATA` file of each `*.dist-info` directory (wheels, pip) and the `PKG-INFO` of each
 * `*.egg-info` (a directory, or a file as Debian ships some), in every site-packages and
 * dist-packages directory of Debian's interpreter, of /usr/local and of toolchains under /opt.
 */
import { join } from 'node:path';
import { entries, globDirs, readSmallFile } from './tree-read.js';

export interface PythonDistribution {
  /** As the metadata spells it (`Django`); the purl normalises it. */
  name: string;
  version: string;
  license?: string;
  homepage?: string;
  /** Where its metadata is, relative to the root. */
  path: string;
}

const PY = /^python3(\.\d+)?$/;
const SITE = /^(site|dist)-packages$/;

/** Directories (relative to the root) that hold installed distributions. */
const SITE_DIRS: readonly (string | RegExp)[][] = [
  ['usr', 'lib', PY, SITE],
  ['usr', 'local', 'lib', PY, SITE],
  ['opt', '*', 'lib', PY, SITE],
];

/**
 * The header fields of a core metadata file (RFC 822 headers up to the first blank line; the
 * body is the long description). Repeated fields keep their first value.
 */
export function parseCoreMetadata(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      out[last] += `\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim();
    last = key in out ? undefined : key;
    if (last) out[last] = line.slice(colon + 1).trim();
  }
  return out;
}

function fromMetadata(text: string, path: string): PythonDistribution | undefined {
  const m = parseCoreMetadata(text);
  if (!m.Name || !m.Version) return undefined;
  // License-Expression (metadata 2.4) is an SPDX expression; License is free text, often long.
  const license = m['License-Expression'] ?? m.License;
  return {
    name: m.Name,
    version: m.Version,
    ...(license && license !== 'UNKNOWN' && license.length <= 200 && { license }),
    ...(m['Home-page'] && m['Home-page'] !== 'UNKNOWN' && { homepage: m['Home-page'] }),
    path,
  };
}

/** Every distribution under `root`, sorted by path. */
export async function readPythonDistributions(root: string): Promise<PythonDistribution[]> {
  const out: PythonDistribution[] = [];
  for (const pattern of SITE_DIRS) {
    for (const site of await globDirs(root, pattern)) {
      for (const e of await entries(join(root, site))) {
        let rel: string | undefined;
        if (e.dir && e.name.endsWith('.dist-info')) rel = `${site}/${e.name}/METADATA`;
        else if (e.dir && e.name.endsWith('.egg-info')) rel = `${site}/${e.name}/PKG-INFO`;
        else if (e.file && e.name.endsWith('.egg-info')) rel = `${site}/${e.name}`;
        if (!rel) continue;
        const text = await readSmallFile(join(root, rel));
        const d = text === undefined ? undefined : fromMetadata(text, rel);
        if (d) out.push(d);
      }
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
