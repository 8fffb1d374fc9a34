/**
 * The base catalog: what provides a language version. Its *source* is either Debian (or Ubuntu)
 * packages from a suite, or an upstream relocatable toolchain (`toolchain`, see toolchain.ts)
 * unpacked on a minimal base root of that suite. The built-in entries (catalog-builtin.ts) come
 * from bullseye, bookworm and trixie and from pinned upstream builds; an operator extends or
 * overrides them with a catalog file (see `loadCatalogFile`).
 */
import { z } from 'zod';
import { LANGUAGES, type Language } from './constants.js';
import { checkAptPackage } from './checks/apt.js';
import { checkEnvName, checkEnvValue, checkLanguageVersion } from './checks/fields.js';
import type { Check } from './checks/check.js';
import { compareDotted } from './semver.js';
import { Toolchain } from './toolchain.js';

const refined = (check: Check) =>
  z
    .string()
    .max(256)
    .superRefine((v, ctx) => {
      const message = check(v);
      if (message !== undefined) ctx.addIssue({ code: 'custom', message });
    });

const suiteName: Check = (s) =>
  /^[a-z][a-z0-9-]{0,31}$/.test(s) ? undefined : `${JSON.stringify(s)} is not a suite name`;
const componentName: Check = (s) =>
  /^[a-z][a-z0-9-]{0,31}$/.test(s) ? undefined : `${JSON.stringify(s)} is not a component name`;
const mirrorUrl: Check = (s) => {
  try {
    const u = new URL(s);
    if ((u.protocol === 'http:' || u.protocol === 'https:') && !/\s/.test(s)) return undefined;
  } catch {
    // fall through
  }
  return `${JSON.stringify(s)} is not an http(s) URL`;
};
const binaryName: Check = (s) =>
  /^(?:\/[A-Za-z0-9._+-]+)+$|^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/.test(s) && !s.includes('..')
    ? undefined
    : `${JSON.stringify(s)} must be a command name or an absolute path`;
const commandName: Check = (s) =>
  /^[A-Za-z0-9_+][A-Za-z0-9._+-]{0,63}$/.test(s)
    ? undefined
    : `${JSON.stringify(s)} is not a command name`;
const argument: Check = (s) =>
  s.includes('\0') || s.length === 0 ? 'arguments must be non-empty and without NUL' : undefined;

/** One (language, version) → base image recipe. */
export const CatalogEntry = z.strictObject({
  language: z.enum(LANGUAGES),
  version: refined(checkLanguageVersion),
  distro: z.enum(['debian', 'ubuntu']),
  /** The suite debootstrap installs, e.g. "bookworm" or "noble". */
  suite: refined(suiteName),
  /**
   * Distro packages that provide the language, installed first; with a `toolchain`, what it
   * needs besides (e.g. a C linker for Rust), possibly none.
   */
  packages: z.array(refined(checkAptPackage)).max(64),
  /** An upstream toolchain instead of the distro's language packages. */
  toolchain: Toolchain.optional(),
  /** Apt mirror for this suite; absent means the build host's configured mirror. */
  mirror: refined(mirrorUrl).optional(),
  /** Archive components, e.g. ["main", "universe"]; absent means ["main"]. */
  components: z.array(refined(componentName)).min(1).max(8).optional(),
  /** The language's main command, run to smoke-test a build. */
  binary: refined(binaryName),
  /** Arguments that make `binary` print its version. */
  versionArgs: z.array(refined(argument)).max(8),
  /** Environment for jobs that does not depend on the architecture. */
  env: z.record(refined(checkEnvName), refined(checkEnvValue)).optional(),
  /**
   * The names users type, linked in /usr/local/bin: name → a command of the runtime (or an
   * absolute path), e.g. `python: python3`. A target the build cannot find fails it.
   */
  commands: z.record(refined(commandName), refined(binaryName)).optional(),
});
export type CatalogEntry = z.infer<typeof CatalogEntry>;

export interface BaseCatalog {
  entries: CatalogEntry[];
}

/** How each language's command is smoke-tested, and the environment its runtimes get. */
export const LANGUAGE_DEFAULTS: Readonly<
  Record<Language, Pick<CatalogEntry, 'binary' | 'versionArgs' | 'env' | 'commands'>>
> = {
  // Runtimes are mounted read-only, so Python must not try to write __pycache__ next to modules.
  // Debian has only python3 and pip3; users type python and pip.
  python: {
    binary: 'python3',
    versionArgs: ['--version'],
    env: { PYTHONDONTWRITEBYTECODE: '1' },
    commands: { python: 'python3', pip: 'pip3' },
  },
  java: { binary: 'java', versionArgs: ['-version'] },
  // `npm install -g` puts packages in /usr/local/lib/node_modules, which require() does not search.
  node: {
    binary: 'node',
    versionArgs: ['--version'],
    env: { NODE_PATH: '/usr/local/lib/node_modules:/usr/lib/node_modules:/usr/share/nodejs' },
  },
  // The Go and Cargo caches must be writable; /tmp is the job's tmpfs.
  go: {
    binary: 'go',
    versionArgs: ['version'],
    env: { GOCACHE: '/tmp/go-build', GOPATH: '/tmp/go' },
  },
  rust: { binary: 'rustc', versionArgs: ['--version'], env: { CARGO_HOME: '/tmp/cargo' } },
  // A system root: what its jobs reach for first is apt.
  debian: { binary: 'apt-get', versionArgs: ['--version'] },
};

function entryKey(e: Pick<CatalogEntry, 'language' | 'version'>): string {
  return `${e.language}@${e.version}`;
}

function compareEntries(a: CatalogEntry, b: CatalogEntry): number {
  return (
    LANGUAGES.indexOf(a.language) - LANGUAGES.indexOf(b.language) ||
    compareDotted(a.version, b.version)
  );
}

/**
 * `base` plus `extra`: an entry of `extra` replaces the entry of `base` with the same language and
 * version; others are added. Entries come out ordered by language, then version.
 */
export function mergeCatalogs(base: BaseCatalog, extra: BaseCatalog): BaseCatalog {
  const byKey = new Map<string, CatalogEntry>();
  for (const e of base.entries) byKey.set(entryKey(e), e);
  for (const e of extra.entries) byKey.set(entryKey(e), e);
  return { entries: [...byKey.values()].sort(compareEntries) };
}

/** The entry for exactly this language and version, if the catalog has one. */
export function findCatalogEntry(
  catalog: BaseCatalog,
  language: string,
  version: string,
): CatalogEntry | undefined {
  return catalog.entries.find((e) => e.language === language && e.version === version);
}

/** The versions the catalog has for `language`, lowest first. */
export function catalogVersions(catalog: BaseCatalog, language: string): string[] {
  return catalog.entries
    .filter((e) => e.language === language)
    .map((e) => e.version)
    .sort(compareDotted);
}
