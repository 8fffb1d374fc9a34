/**
 * The closed vocabularies of a runtime spec and the limits that keep validation cheap. Everything
 * a user may write as an enum value lives here, so error messages can list what is allowed.
 */

/** Languages a runtime can be based on (`base.language`). */
/**
 * `debian` is no language: a plain Debian root (the farm's default runtime), whose jobs get the
 * whole tree as a writable, throw-away root.
 */
export const LANGUAGES = ['python', 'java', 'node', 'go', 'rust', 'debian'] as const;
export type Language = (typeof LANGUAGES)[number];

/** CPU architectures the farm builds for, in Debian's spelling. */
export const ARCHITECTURES = ['amd64', 'arm64'] as const;
export type Arch = (typeof ARCHITECTURES)[number];

/**
 * Joblet's `platforms` names. The farm builds Debian-based, self-contained runtimes that run on any
 * of these host systems, so only the architecture part of a platform matters here.
 */
export const PLATFORMS = [
  'ubuntu-amd64',
  'ubuntu-arm64',
  'debian-amd64',
  'debian-arm64',
  'amzn-amd64',
  'amzn-arm64',
  'rhel-amd64',
  'rhel-arm64',
] as const;
export type Platform = (typeof PLATFORMS)[number];

/** The only `schema_version` this farm reads. */
export const SCHEMA_VERSION = '1.0';

/** A spec larger than this is rejected before parsing (256 KiB, in bytes of UTF-8). */
export const MAX_SPEC_BYTES = 256 * 1024;

/**
 * Deepest YAML nesting accepted (parser stack entries). A runtime spec needs about 4; the limit
 * keeps the YAML library far from its recursion limits, where V8 can abort the whole process.
 */
export const MAX_YAML_DEPTH = 32;

/**
 * Most YAML tokens (lexemes) accepted. The largest spec the field limits allow (1000 entries in
 * each of pip, npm and apt, 256 environment variables and libraries) has about 21,000. The YAML
 * library spends ~1-2 µs per token, so this bounds hostile 256 KiB input (100,000+ tokens) to
 * tens of milliseconds.
 */
export const MAX_YAML_TOKENS = 30_000;

/** At most this many errors (and, separately, warnings) are returned; the rest are counted. */
export const MAX_DIAGNOSTICS = 100;

/** Per-field limits, sized well above any real spec so that only hostile input reaches them. */
export const LIMITS = {
  nameChars: 64,
  versionChars: 64,
  descriptionChars: 256,
  listEntries: 1000,
  packageSpecChars: 512,
  environmentEntries: 256,
  envNameChars: 128,
  envValueChars: 32 * 1024,
  hookChars: 64 * 1024,
  libraryEntries: 256,
  libraryChars: 128,
  /** `prune.keep`: entries and characters per path (Linux's PATH_MAX is 4096 bytes). */
  keepEntries: 256,
  pathChars: 1024,
} as const;

/** Hook timeout applied when `hooks.timeout` is absent, in seconds (20 minutes, as Joblet). */
export const DEFAULT_HOOK_TIMEOUT_S = 20 * 60;

/** Longest `hooks.timeout` accepted, in seconds (2 hours). */
export const MAX_HOOK_TIMEOUT_S = 2 * 60 * 60;
