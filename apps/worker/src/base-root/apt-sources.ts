// The host's configured Debian mirror, read from its apt sources: builds fetch packages from the
// mirror the operator already chose (a local proxy or snapshot), not a hard-coded one.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One apt source entry (either format). */
export interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  /** Architectures the entry is restricted to; empty = all. */
  architectures: string[];
  enabled: boolean;
  /** The file it came from. */
  file: string;
}

/** Parses the one-line format (`deb [arch=amd64 signed-by=...] URI SUITE COMPONENT...`). */
export function parseOneLineSources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    let rest = line;
    const type = /^(\S+)\s+/.exec(rest);
    if (!type) continue;
    rest = rest.slice(type[0].length);
    const architectures: string[] = [];
    const opts = /^\[([^\]]*)\]\s*/.exec(rest);
    if (opts) {
      rest = rest.slice(opts[0].length);
      for (const o of opts[1]!.trim().split(/\s+/)) {
        const m = /^arch=(.+)$/.exec(o);
        if (m) architectures.push(...m[1]!.split(','));
      }
    }
    const [uri, suite, ...components] = rest.split(/\s+/);
    if (uri === undefined || suite === undefined) continue;
    out.push({
      types: [type[1]!],
      uris: [uri],
      suites: [suite],
      components,
      architectures,
      enabled: true,
      file,
    });
  }
  return out;
}

/** Parses deb822 `.sources` files (paragraphs of `Field: value`, continuation lines indented). */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const line of para.split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      if (/^\s/.test(line) && last !== undefined) {
        fields.set(last, `${fields.get(last) ?? ''} ${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (!m) continue;
      last = m[1]!.toLowerCase();
      fields.set(last, m[2]!.trim());
    }
    const list = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    if (!fields.has('uris')) continue;
    out.push({
      types: list('types'),
      uris: list('uris'),
      suites: list('suites'),
      components: list('components'),
      architectures: list('architectures'),
      enabled: (fields.get('enabled') ?? 'yes').toLowerCase() !== 'no',
      file,
    });
  }
  return out;
}

/** Every apt source of the system rooted at `root` (default `/`). Unreadable files are skipped. */
export async function readAptSources(root = '/'): Promise<AptSource[]> {
  const dir = join(root, 'etc/apt/sources.list.d');
  const files = [join(root, 'etc/apt/sources.list')];
  for (const name of (await readdir(dir).catch(() => [])).sort()) {
    if (name.endsWith('.list') || name.endsWith('.sources')) files.push(join(dir, name));
  }
  const out: AptSource[] = [];
  for (const f of files) {
    const text = await readFile(f, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    out.push(
      ...(f.endsWith('.sources') ? parseDeb822Sources(text, f) : parseOneLineSources(text, f)),
    );
  }
  return out;
}

/**
 * Picks the Debian archive mirror among `sources`: an enabled `deb` entry for `arch` (when given)
 * whose suites include a plain release (not `-security`/`-updates`/`-backports`) and whose
 * components include `main`. Third-party repositories (nodesource, ...) have no such suite.
 */
export function pickDebianMirror(sources: readonly AptSource[], arch?: string): string | undefined {
  for (const s of sources) {
    if (!s.enabled || !s.types.includes('deb')) continue;
    if (arch !== undefined && s.architectures.length > 0 && !s.architectures.includes(arch))
      continue;
    if (!s.components.includes('main')) continue;
    if (!s.suites.some((suite) => /^[a-z]+$/.test(suite) && suite !== 'nodistro')) continue;
    const uri = s.uris.find((u) => /^(https?|file):/.test(u) && !/security/.test(u));
    if (uri) return uri.replace(/\/+$/, '');
  }
  return undefined;
}

/**
 * The host's Debian mirror from /etc/apt/sources.list and /etc/apt/sources.list.d/*.{list,sources},
 * e.g. `http://deb.debian.org/debian`; undefined when none is configured.
 */
export async function hostAptMirror(
  opts: { arch?: string; root?: string } = {},
): Promise<string | undefined> {
  return pickDebianMirror(await readAptSources(opts.root), opts.arch);
}
