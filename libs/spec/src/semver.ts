/**
 * Semantic versions (semver.org 2.0.0): validation, precedence and "pick the version a reference
 * means". Small and dependency-free; versions here are runtime versions, which are path segments.
 */
import { SpecError, SpecErrorCodes } from './spec-error.js';

// The regular expression published on semver.org, without named groups.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  prerelease: string[];
  build: string[];
}

/** Parses a semantic version; undefined when `v` is not one (or is longer than 64 characters). */
export function parseSemver(v: string): SemVer | undefined {
  if (v.length > 64) return undefined;
  const m = SEMVER.exec(v);
  if (!m) return undefined;
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    prerelease: m[4] ? m[4].split('.') : [],
    build: m[5] ? m[5].split('.') : [],
  };
}

export function isSemver(v: string): boolean {
  return parseSemver(v) !== undefined;
}

function compareIdentifiers(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Math.sign(Number(a) - Number(b));
  if (an) return -1; // numeric identifiers sort before alphanumeric ones
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Semver precedence: negative when `a` < `b`, 0 when equal (build metadata is ignored), positive
 * otherwise. Throws {@link SpecError} when either is not a semantic version.
 */
export function compareSemver(a: string, b: string): number {
  const pa = parseSemver(a);
  const pb = parseSemver(b);
  if (!pa || !pb) {
    throw new SpecError(
      SpecErrorCodes.INVALID_VERSION,
      `not a semantic version: ${JSON.stringify(pa ? b : a)}`,
    );
  }
  const core =
    Math.sign(pa.major - pb.major) ||
    Math.sign(pa.minor - pb.minor) ||
    Math.sign(pa.patch - pb.patch);
  if (core !== 0) return core;
  // A pre-release sorts before its release: 1.0.0-rc.1 < 1.0.0.
  const aPre = pa.prerelease.length > 0;
  const bPre = pb.prerelease.length > 0;
  if (!aPre || !bPre) return aPre === bPre ? 0 : aPre ? -1 : 1;
  const n = Math.max(pa.prerelease.length, pb.prerelease.length);
  for (let i = 0; i < n; i++) {
    const x = pa.prerelease[i];
    const y = pb.prerelease[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const c = compareIdentifiers(x, y);
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * The version a reference means among `versions` (strings that are not semantic versions are
 * ignored):
 * - an exact version → that version if present;
 * - `latest` or nothing → the highest release, or the highest pre-release when there is no
 *   release at all (so `latest` never picks 2.0.0-rc.1 over 1.9.0).
 */
export function pickVersion(
  versions: readonly string[],
  want: string | undefined,
): string | undefined {
  if (want !== undefined && want !== 'latest') return versions.find((v) => v === want);
  const valid = versions.filter(isSemver).sort(compareSemver);
  const releases = valid.filter((v) => parseSemver(v)?.prerelease.length === 0);
  return (releases.length > 0 ? releases : valid).at(-1);
}

/** Compares dotted numeric versions such as language versions ("3.9" < "3.11" < "3.13"). */
export function compareDotted(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = Number(pa[i] ?? -1);
    const y = Number(pb[i] ?? -1);
    if (Number.isNaN(x) || Number.isNaN(y)) return a < b ? -1 : a > b ? 1 : 0;
    if (x !== y) return Math.sign(x - y);
  }
  return 0;
}
