/**
 * `apt` entries: Debian package names with an optional architecture qualifier and version
 * (`libopenblas-dev`, `curl=7.88.1-10+deb12u5`, `libc6:arm64`). Release pins (`pkg/bookworm`),
 * patterns and the trailing "-" that would make apt-get remove a package are rejected.
 */
import { quote } from '../diagnostic.js';
import type { Check } from './check.js';

const APT =
  /^([a-z0-9][a-z0-9+.-]+)(?::(amd64|arm64|all|native))?(?:=([0-9][A-Za-z0-9.+~:-]{0,127}))?$/;
const RULE = 'a Debian package name[:arch][=version], e.g. "libopenblas-dev" or "curl=7.88.1-10"';

/** Checks one `apt` entry. */
export const checkAptPackage: Check = (s) => {
  if (s.length > 200) return `${quote(s)} is too long for ${RULE}`;
  const m = APT.exec(s);
  if (!m) {
    const hint = s.startsWith('-') ? ' (options are not accepted)' : '';
    return `${quote(s)} is not ${RULE}${hint}`;
  }
  if (m[1]?.endsWith('-')) {
    return `${quote(s)} ends with "-", which apt-get reads as "remove"; use ${RULE}`;
  }
  return undefined;
};

/** The package name of an apt entry ("curl=7.88" → "curl"). */
export function aptPackageName(s: string): string {
  return s.split(/[:=]/, 1)[0] ?? s;
}
