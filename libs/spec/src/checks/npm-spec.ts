/**
 * `npm` entries: registry packages only — `name`, `@scope/name`, with an optional `@version`,
 * `@range` or `@tag`. Paths, tarball URLs, git references, GitHub shorthands and `npm:` aliases
 * are rejected, as are names that start with "-" (which npm would read as options).
 */
import { quote } from '../diagnostic.js';
import type { Check } from './check.js';

// npm's rules for package names: URL-safe characters, not starting with "." or "_". Upper case is
// accepted because old packages (e.g. JSONStream) still have it.
const PART = '[A-Za-z0-9~][A-Za-z0-9._~-]*';
const UNSCOPED = new RegExp(`^${PART}$`);
const SCOPE = /^@[A-Za-z0-9~-][A-Za-z0-9._~-]*$/;
const MAX_NAME = 214;
const COMPARATOR =
  /^(?:[<>]=?|=|~|\^)?v?(?:\*|[xX]|\d{1,9})(?:\.(?:\*|[xX]|\d{1,9})){0,2}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const TAG = /^[A-Za-z][A-Za-z0-9._-]{0,127}$/;
const RULE =
  'use name, @scope/name, name@version, name@range (e.g. "^1.2.0") or name@tag — registry packages only';

function checkName(name: string): string | undefined {
  if (name.length > MAX_NAME) return `the name is longer than ${MAX_NAME} characters`;
  if (name === 'node_modules' || name === 'favicon.ico') return `${quote(name)} is a reserved name`;
  if (name.startsWith('@')) {
    const slash = name.indexOf('/');
    if (slash === -1) return 'a scoped name needs "/" (e.g. @types/node)';
    if (!SCOPE.test(name.slice(0, slash)) || !UNSCOPED.test(name.slice(slash + 1))) {
      return 'invalid scoped name';
    }
    return undefined;
  }
  if (name.includes('/') || name.includes(':') || name.startsWith('.') || name.startsWith('~')) {
    return 'paths, URLs, git references and GitHub shorthands are not allowed';
  }
  if (name.startsWith('-')) return 'a name must not start with "-"';
  return UNSCOPED.test(name) ? undefined : 'invalid package name';
}

/** True when `range` is an npm semver range such as "^1.2.0", ">=1 <2", "1.x || 2.x". */
export function isNpmRange(range: string): boolean {
  if (range.trim() === '' || range.length > 128) return false;
  return range.split('||').every((alternative) => {
    const parts = alternative.trim().split(/\s+/);
    if (parts.length === 1 && parts[0] === '') return false;
    return parts.every((p, i) => (p === '-' ? i > 0 && i < parts.length - 1 : COMPARATOR.test(p)));
  });
}

function checkSpecifier(spec: string): string | undefined {
  if (spec === '') return 'nothing follows "@"';
  if (spec.includes(':') || spec.includes('/'))
    return 'URLs, paths, git and npm: aliases are not allowed';
  if (isNpmRange(spec) || TAG.test(spec)) return undefined;
  return `${quote(spec)} is neither a version range nor a tag`;
}

/** The package name of an npm spec ("@types/node@20" → "@types/node"). */
export function npmPackageName(spec: string): string {
  const at = spec.indexOf('@', 1);
  return at === -1 ? spec : spec.slice(0, at);
}

/** Checks one `npm` entry. */
export const checkNpmSpec: Check = (s) => {
  const name = npmPackageName(s);
  const problem =
    checkName(name) ??
    (name.length < s.length ? checkSpecifier(s.slice(name.length + 1)) : undefined);
  return problem === undefined
    ? undefined
    : `${quote(s)} is not an npm package spec: ${problem}; ${RULE}`;
};
