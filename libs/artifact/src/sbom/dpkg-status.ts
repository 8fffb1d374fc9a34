/**
 * Debian's record of installed packages, read from the runtime tree itself: the dpkg status
 * file (`var/lib/dpkg/status`) and, where images keep one file per package instead
 * (distroless-style), `var/lib/dpkg/status.d/*`. Only packages whose `Status` ends in
 * `installed` count: a package removed but not purged keeps a stanza (`deinstall ok
 * config-files`) while its files are gone.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One installed package as dpkg records it. */
export interface DpkgPackage {
  name: string;
  version: string;
  /** `amd64`, `arm64` or `all`. */
  architecture: string;
  /** The source package when it differs from the binary package's name, without its version. */
  source?: string;
  maintainer?: string;
  homepage?: string;
}

/**
 * The stanzas of a deb822 file (RFC 822-style `Field: value` blocks separated by blank lines;
 * continuation lines start with a space or tab). Field names are kept as written.
 */
export function parseDeb822(text: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  let cur: Record<string, string> = {};
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (Object.keys(cur).length > 0) out.push(cur);
      cur = {};
      last = undefined;
    } else if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      cur[last] += `\n${line.slice(1)}`;
    } else {
      const colon = line.indexOf(':');
      if (colon <= 0) continue; // not a field: dpkg would refuse the file, we skip the line
      last = line.slice(0, colon);
      cur[last] = line.slice(colon + 1).trim();
    }
  }
  if (Object.keys(cur).length > 0) out.push(cur);
  return out;
}

/** The installed packages of a status file's text, sorted by name then architecture. */
export function parseDpkgStatus(text: string): DpkgPackage[] {
  const pkgs: DpkgPackage[] = [];
  for (const s of parseDeb822(text)) {
    const name = s.Package;
    const version = s.Version;
    // `install ok installed`, `hold ok installed`: wanted state, error flag, installed state.
    if (!name || !version || s.Status?.split(/\s+/)[2] !== 'installed') continue;
    // `Source: openssl (3.0.11-1~deb12u2)`: the source package's own version is not ours.
    const source = s.Source?.split(/\s+/)[0];
    pkgs.push({
      name,
      version,
      architecture: s.Architecture ?? 'all',
      ...(source && source !== name && { source }),
      ...(s.Maintainer && { maintainer: s.Maintainer }),
      ...(s.Homepage && { homepage: s.Homepage }),
    });
  }
  return pkgs.sort((a, b) => cmp(a.name, b.name) || cmp(a.architecture, b.architecture));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Relative to the runtime root. */
export const DPKG_STATUS = 'var/lib/dpkg/status';
export const DPKG_STATUS_DIR = 'var/lib/dpkg/status.d';

/**
 * Every installed package recorded under `root` (the status file and `status.d/`), once per
 * (name, architecture). A tree without either has no dpkg packages (e.g. a bare toolchain tree).
 */
export async function readDpkgPackages(root: string): Promise<DpkgPackage[]> {
  const texts: string[] = [];
  const status = await readFile(join(root, DPKG_STATUS), 'utf8').catch(notFound);
  if (status !== undefined) texts.push(status);
  const parts = await readdir(join(root, DPKG_STATUS_DIR)).catch(notFound);
  for (const f of (parts ?? []).sort()) {
    if (f.endsWith('.md5sums')) continue;
    const t = await readFile(join(root, DPKG_STATUS_DIR, f), 'utf8').catch(notFound);
    if (t !== undefined) texts.push(t);
  }
  const seen = new Map<string, DpkgPackage>();
  for (const p of texts.flatMap(parseDpkgStatus)) seen.set(`${p.name}:${p.architecture}`, p);
  return [...seen.values()].sort(
    (a, b) => cmp(a.name, b.name) || cmp(a.architecture, b.architecture),
  );
}

/** ENOENT / ENOTDIR → undefined; anything else is an error worth failing on. */
function notFound(err: unknown): undefined {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
  throw err;
}
