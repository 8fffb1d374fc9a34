/**
 * A runtime tree for the SBOM tests: the real dpkg status file of the seeded bookworm base root
 * (or, on a machine without it, this Debian host's own), plus one removed-but-not-purged
 * package, pip and npm installs as those tools lay them out, and a symlink out of the tree
 * that the reader must not follow.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const STATUS_SOURCES = [
  '/var/cache/joblet-farm/bases/bookworm-amd64/root/var/lib/dpkg/status',
  '/var/lib/dpkg/status',
];

/** The status file used and its text. */
export function realDpkgStatus(): { path: string; text: string } {
  for (const path of STATUS_SOURCES) {
    try {
      return { path, text: readFileSync(path, 'utf8') };
    } catch {
      // next source
    }
  }
  throw new Error(`no dpkg status file on this machine (looked at ${STATUS_SOURCES.join(', ')})`);
}

function put(root: string, rel: string, text: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
}

/** A package dpkg removed but whose conffiles stay: its files are gone, so it is not listed. */
export const REMOVED_STANZA =
  '\nPackage: gone-pkg\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 9.9-1\n';

export function writeRuntimeTree(root: string): void {
  put(root, 'var/lib/dpkg/status', `${realDpkgStatus().text.trimEnd()}\n${REMOVED_STANZA}`);
  const site = 'usr/local/lib/python3.11/dist-packages';
  put(
    root,
    `${site}/six-1.16.0.dist-info/METADATA`,
    'Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\nSummary: Python 2 and 3 compatibility\n' +
      'Home-page: https://github.com/benjaminp/six\nLicense: MIT\n\nLong description.\nName: not-this\n',
  );
  put(root, `${site}/six-1.16.0.dist-info/RECORD`, 'six.py,,\n');
  put(
    root,
    `${site}/Typing_Extensions-4.9.0.dist-info/METADATA`,
    'Metadata-Version: 2.4\nName: Typing_Extensions\nVersion: 4.9.0\nLicense-Expression: PSF-2.0\n',
  );
  // Debian ships some egg-info as a plain file.
  put(
    root,
    'usr/lib/python3/dist-packages/chardet-5.1.0.egg-info',
    'Metadata-Version: 1.1\nName: chardet\nVersion: 5.1.0\n',
  );
  const nm = 'usr/local/lib/node_modules';
  put(
    root,
    `${nm}/left-pad/package.json`,
    JSON.stringify({ name: 'left-pad', version: '1.3.0', license: 'WTFPL' }),
  );
  put(
    root,
    `${nm}/@types/node/package.json`,
    JSON.stringify({ name: '@types/node', version: '20.11.0', license: 'MIT' }),
  );
  put(
    root,
    `${nm}/left-pad/node_modules/is-odd/package.json`,
    JSON.stringify({ name: 'is-odd', version: '3.0.1' }),
  );
  put(root, `${nm}/broken/package.json`, '{ not json');
  // Absolute symlinks in a runtime point into the runtime at run time, but at the host here.
  symlinkSync('/usr/lib/node_modules', join(root, 'usr/lib/node_modules'));
}
