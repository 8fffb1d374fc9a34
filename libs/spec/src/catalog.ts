/**
 * The base catalog: which Debian (or Ubuntu) suite and packages provide a language version. The
 * built-in entries are Debian's own packages (bookworm and trixie); an operator extends or
 * overrides them with a catalog file (see `loadCatalogFile`).
 */
import { z } from 'zod';
import { LANGUAGES, type Language } from './constants.js';
import { checkAptPackage } from './checks/apt.js';
import { checkEnvName, checkEnvValue, checkLanguageVersion } from './checks/fields.js';
import type { Check } from './checks/check.js';
import { compareDotted } from './semver.js';

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
const argument: Check = (s) =>
  s.includes('\0') || s.length === 0 ? 'arguments must be non-empty and without NUL' : undefined;

/** One (language, version) → base image recipe. */
export const CatalogEntry = z.strictObject({
  language: z.enum(LANGUAGES),
  version: refined(checkLanguageVersion),
  distro: z.enum(['debian', 'ubuntu']),
  /** The suite debootstrap installs, e.g. "bookworm" or "noble". */
  suite: refined(suiteName),
  /** Distro packages that provide the language, installed first. */
  packages: z.array(refined(checkAptPackage)).min(1).max(64),
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
});
export type CatalogEntry = z.infer<typeof CatalogEntry>;

export interface BaseCatalog {
  entries: CatalogEntry[];
}

/** How each language's command is smoke-tested, and the environment its runtimes get. */
export const LANGUAGE_DEFAULTS: Readonly<
  Record<Language, Pick<CatalogEntry, 'binary' | 'versionArgs' | 'env'>>
> = {
  // Runtimes are mounted read-only, so Python must not try to write __pycache__ next to modules.
  python: { binary: 'python3', versionArgs: ['--version'], env: { PYTHONDONTWRITEBYTECODE: '1' } },
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

function debian(language: Language, version: string, suite: string, packages: string[]) {
  return {
    language,
    version,
    distro: 'debian' as const,
    suite,
    packages,
    ...LANGUAGE_DEFAULTS[language],
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * The built-in catalog: the language versions Debian 12 (bookworm) and 13 (trixie) ship. Frozen;
 * derive new catalogs with {@link mergeCatalogs}.
 */
export const builtinCatalog: BaseCatalog = deepFreeze({
  entries: [
    debian('python', '3.11', 'bookworm', ['python3', 'python3-pip', 'python3-venv']),
    debian('python', '3.13', 'trixie', ['python3', 'python3-pip', 'python3-venv']),
    debian('java', '17', 'bookworm', ['openjdk-17-jdk-headless']),
    debian('java', '21', 'trixie', ['openjdk-21-jdk-headless']),
    debian('node', '18', 'bookworm', ['nodejs', 'npm']),
    debian('node', '20', 'trixie', ['nodejs', 'npm']),
    debian('go', '1.19', 'bookworm', ['golang-go']),
    debian('go', '1.24', 'trixie', ['golang-go']),
    debian('rust', '1.63', 'bookworm', ['rustc', 'cargo']),
    debian('rust', '1.85', 'trixie', ['rustc', 'cargo']),
    // Minimal Debian roots (minbase has apt); ca-certificates for https sources and downloads.
    debian('debian', '12', 'bookworm', ['ca-certificates']),
    debian('debian', '13', 'trixie', ['ca-certificates']),
  ],
});

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
