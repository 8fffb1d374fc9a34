/**
 * Content checks for the scalar fields of a spec. Names and versions become path segments and
 * command-line arguments, so they are restricted to characters that are safe in both.
 */
import { MAX_HOOK_TIMEOUT_S } from '../constants.js';
import { quote } from '../diagnostic.js';
import { isSemver } from '../semver.js';
import type { Check } from './check.js';

const RUNTIME_NAME = /^[a-z0-9][a-z0-9.-]{0,63}$/;

/** Runtime names: `^[a-z0-9][a-z0-9.-]{0,63}$` without `..`, so always one safe path segment. */
export const checkRuntimeName: Check = (s) => {
  const rule = '1-64 lowercase letters, digits, "." and "-", starting with a letter or digit';
  if (s.includes('..')) return `${quote(s)} must not contain ".."; a name is ${rule}`;
  if (RUNTIME_NAME.test(s)) return undefined;
  const lower = s.toLowerCase();
  const hint = lower !== s && RUNTIME_NAME.test(lower) ? ` — did you mean ${quote(lower)}?` : '';
  return `${quote(s)} is not a valid runtime name: use ${rule}${hint}`;
};

/** Runtime versions are semantic versions (which are also safe path segments). */
export const checkRuntimeVersion: Check = (s) => {
  if (isSemver(s)) return undefined;
  let hint = '';
  if (/^v\d/.test(s) && isSemver(s.slice(1))) hint = ` — did you mean ${quote(s.slice(1))}?`;
  else if (/^\d+$/.test(s)) hint = ` — did you mean "${s}.0.0"?`;
  else if (/^\d+\.\d+$/.test(s)) hint = ` — did you mean "${s}.0"?`;
  return `${quote(s)} is not a semantic version (MAJOR.MINOR.PATCH, e.g. "1.0.0")${hint}`;
};

const DOTTED = /^\d{1,4}(?:\.\d{1,4}){0,2}$/;

/** `base.version`: digits and dots, as the catalog spells them ("3.11", "21", "1.24"). */
export const checkLanguageVersion: Check = (s) =>
  DOTTED.test(s)
    ? undefined
    : `${quote(s)} is not a language version: use digits separated by dots, e.g. "3.11" or "21"`;

/** `requirements.cuda_version`: "12", "12.2" or "12.2.1". */
export const checkCudaVersion: Check = (s) =>
  DOTTED.test(s) ? undefined : `${quote(s)} is not a CUDA version: use e.g. "12.2"`;

/** Free text shown in tables: no control characters other than tab and newline. */
export const checkDisplayText: Check = (s) =>
  /[\x00-\x08\x0B-\x1F\x7F]/.test(s)
    ? 'must not contain control characters (escape sequences would garble terminal output)'
    : undefined;

/** Shell text for hooks: anything but NUL, which cannot pass through a command line. */
export const checkHookScript: Check = (s) =>
  s.includes('\0') ? 'must not contain NUL characters' : undefined;

const GLOB = /^[A-Za-z0-9._*?+[\]-]+$/;

/**
 * `libraries` entries are file-name globs matched inside the library directories: no `/`, no
 * `..`, no leading `-` (they reach `find`-like tools), brackets balanced.
 */
export const checkLibraryGlob: Check = (s) => {
  const rule = 'a file-name pattern such as "libopenblas*" (letters, digits, . _ - + and * ? [ ])';
  if (s.includes('/')) return `${quote(s)} must not contain "/"; use ${rule}`;
  if (s.includes('..') || s === '.')
    return `${quote(s)} must not be "." or contain ".."; use ${rule}`;
  if (s.startsWith('-')) return `${quote(s)} must not start with "-"; use ${rule}`;
  if (!GLOB.test(s)) return `${quote(s)} is not ${rule}`;
  let open = false;
  for (const c of s) {
    if (c === '[') {
      if (open) return `${quote(s)} has a "[" inside "[ ]"; use ${rule}`;
      open = true;
    } else if (c === ']' && open) open = false;
  }
  return open ? `${quote(s)} has an unclosed "["; use ${rule}` : undefined;
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Environment variable names are shell identifiers. */
export const checkEnvName: Check = (s) =>
  ENV_NAME.test(s)
    ? undefined
    : `${quote(s)} is not a valid variable name: letters, digits and "_", not starting with a digit`;

/**
 * Names a runtime may not set. LD_PRELOAD/LD_AUDIT and BASH_ENV/ENV make every process (or shell)
 * in a job load code before its own, including the platform's helpers; JOBLET_* belongs to the
 * platform. PATH, LD_LIBRARY_PATH and the like may be overridden (with a warning).
 */
export const RESERVED_ENV_NAMES = ['LD_PRELOAD', 'LD_AUDIT', 'BASH_ENV', 'ENV'] as const;

export const checkEnvNameAllowed: Check = (s) => {
  if (s.startsWith('JOBLET_'))
    return `${s} is reserved: JOBLET_* variables are set by the platform`;
  if ((RESERVED_ENV_NAMES as readonly string[]).includes(s)) {
    return `${s} may not be set by a runtime: it would inject code into every process of a job (reserved: ${RESERVED_ENV_NAMES.join(', ')}, JOBLET_*)`;
  }
  return undefined;
};

/** Environment values: any text but NUL, which no environment can hold. */
export const checkEnvValue: Check = (s) =>
  s.includes('\0') ? 'must not contain NUL characters' : undefined;

const DURATION = /^(?:(\d{1,4})h)?(?:(\d{1,5})m)?(?:(\d{1,6})s)?$/;

/** Seconds in a duration such as "30s", "10m", "1h30m"; undefined when it is not one. */
export function parseDuration(s: string): number | undefined {
  const m = DURATION.exec(s);
  if (!m || s === '') return undefined;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/** Formats seconds the way durations are written ("1h30m", "45s"). */
export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || seconds === 0 ? `${s}s` : ''}`;
}

/** `hooks.timeout`: a positive duration up to 2h. */
export const checkHookTimeout: Check = (s) => {
  const seconds = parseDuration(s);
  const max = formatDuration(MAX_HOOK_TIMEOUT_S);
  if (seconds === undefined) {
    const hint = /^\d+$/.test(s) ? ` — did you mean "${s}s"?` : '';
    return `${quote(s)} is not a duration: use a number with a unit, e.g. "30s", "10m", "1h30m"${hint}`;
  }
  if (seconds === 0) return 'must be longer than 0s';
  if (seconds > MAX_HOOK_TIMEOUT_S) return `${quote(s)} is longer than the maximum of ${max}`;
  return undefined;
};

const MEMORY = /^(\d{1,7})(?:\.(\d{1,3}))?\s?([KMGT])(i?B?)$/i;
const UNIT_POWER: Record<string, number> = { K: 1, M: 2, G: 3, T: 4 };

/**
 * Bytes in a memory size such as "512MB", "2GB", "1.5G" or "256MiB". Units are binary (1 MB =
 * 1024 KiB), as with `--max-memory`, whichever spelling is used.
 */
export function parseMemorySize(s: string): number | undefined {
  const m = MEMORY.exec(s);
  if (!m) return undefined;
  const power = UNIT_POWER[(m[3] ?? '').toUpperCase()] ?? 0;
  const amount = Number(`${m[1]}.${m[2] ?? '0'}`);
  return Math.round(amount * 1024 ** power);
}

/** `requirements.min_memory`: a size with a unit, at least 1 MiB and at most 1 TiB. */
export const checkMemorySize: Check = (s) => {
  const bytes = parseMemorySize(s);
  if (bytes === undefined) {
    const hint = /^\d+$/.test(s) ? ` — did you mean "${s}MB"?` : '';
    return `${quote(s)} is not a memory size: use a number with a unit, e.g. "512MB" or "2GB"${hint}`;
  }
  if (bytes < 1024 ** 2) return `${quote(s)} is less than 1MB`;
  if (bytes > 1024 ** 4) return `${quote(s)} is more than 1TB`;
  return undefined;
};
