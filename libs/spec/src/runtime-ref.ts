/**
 * Runtime references, as users type them after `--runtime=`: `name`, `name@1.2.3`,
 * `name@latest`, and Joblet's legacy `language:version` (`java:17`).
 */
import { checkLanguageVersion, checkRuntimeName } from './checks/fields.js';
import { LANGUAGES, type Language } from './constants.js';
import { compareDotted, compareSemver, isSemver, pickVersion } from './semver.js';
import { SpecError, SpecErrorCodes } from './spec-error.js';
import { suggest } from './suggest.js';

/** A parsed reference; for `kind: 'name'`, `version` is a semantic version, `'latest'` or undefined (= latest). */
export type RuntimeRef =
  | { kind: 'name'; name: string; version: string | undefined }
  | { kind: 'legacy'; language: Language; languageVersion: string };

function invalid(ref: string, why: string): never {
  const shown = JSON.stringify(ref.length > 80 ? `${ref.slice(0, 80)}…` : ref);
  throw new SpecError(
    SpecErrorCodes.INVALID_RUNTIME_REF,
    `invalid runtime reference ${shown}: ${why}; use name, name@1.2.3, name@latest or language:version (e.g. java:17)`,
  );
}

/**
 * Parses a runtime reference.
 * @throws SpecError `INVALID_RUNTIME_REF` with the reason, e.g. for `../../etc`, `Foo`, `a@1.2`.
 */
export function parseRuntimeRef(ref: string): RuntimeRef {
  if (ref.length === 0) invalid(ref, 'it is empty');
  if (ref.length > 200) invalid(ref, 'it is too long');
  if (/[\s\x00-\x1f]/.test(ref)) invalid(ref, 'it contains spaces or control characters');
  const colon = ref.indexOf(':');
  if (colon !== -1) {
    const lang = ref.slice(0, colon);
    const version = ref.slice(colon + 1);
    if (!(LANGUAGES as readonly string[]).includes(lang)) {
      const hint = suggest(lang, LANGUAGES);
      invalid(
        ref,
        `${JSON.stringify(lang)} is not a language (${LANGUAGES.join(', ')})${hint ? ` — did you mean "${hint}:${version}"?` : ''}`,
      );
    }
    if (checkLanguageVersion(version) !== undefined) {
      invalid(ref, `${JSON.stringify(version)} is not a language version such as 17 or 3.11`);
    }
    return { kind: 'legacy', language: lang as Language, languageVersion: version };
  }
  const at = ref.indexOf('@');
  const name = at === -1 ? ref : ref.slice(0, at);
  const nameProblem = checkRuntimeName(name);
  if (nameProblem !== undefined) invalid(ref, nameProblem);
  if (at === -1) return { kind: 'name', name, version: undefined };
  const version = ref.slice(at + 1);
  if (version === 'latest') return { kind: 'name', name, version };
  if (!isSemver(version)) {
    invalid(ref, `${JSON.stringify(version)} is not a semantic version (1.2.3) or "latest"`);
  }
  return { kind: 'name', name, version };
}

/** What a resolver needs to know about an installed or published runtime. */
export interface RuntimeCandidate {
  name: string;
  version: string;
  language: string;
  languageVersion: string;
}

/**
 * The runtime a reference means among `candidates`:
 * - `name` / `name@latest`: that name's highest release (see `pickVersion`);
 * - `name@1.2.3`: exactly that version;
 * - `lang:ver`: among runtimes whose base is that language and whose language version is `ver` or
 *   starts with `ver.` (`python:3` matches 3.11), the highest language version, then the highest
 *   runtime version, then the first name alphabetically.
 */
export function resolveRuntimeRef<T extends RuntimeCandidate>(
  ref: RuntimeRef,
  candidates: readonly T[],
): T | undefined {
  if (ref.kind === 'name') {
    const own = candidates.filter((c) => c.name === ref.name);
    const version = pickVersion(
      own.map((c) => c.version),
      ref.version,
    );
    return own.find((c) => c.version === version);
  }
  const matching = candidates.filter(
    (c) =>
      c.language === ref.language &&
      (c.languageVersion === ref.languageVersion ||
        c.languageVersion.startsWith(`${ref.languageVersion}.`)) &&
      isSemver(c.version),
  );
  return matching.sort(
    (a, b) =>
      compareDotted(b.languageVersion, a.languageVersion) ||
      compareSemver(b.version, a.version) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  )[0];
}
