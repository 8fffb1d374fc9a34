/**
 * `pip_options`: an allow-list. Each entry is one argument, either a flag (`--pre`) or
 * `--name=value`; values are checked so that no entry can read local files (`-r`, `-c`), change
 * where pip installs (`--target`, `--prefix`, `--user`) or run a build backend from a path.
 * Joblet writes `pip_options` as one string (`"--index-url https://… --pre"`); that form is
 * split into entries first ({@link splitPipOptions}).
 */
import { split } from 'shlex';
import { quote } from '../diagnostic.js';
import { didYouMean } from '../suggest.js';
import type { Check } from './check.js';

type ValueCheck = (value: string) => string | undefined;

function httpUrl(value: string): string | undefined {
  if (/[\s\x00-\x1f]/.test(value)) return 'a URL without spaces';
  try {
    const u = new URL(value);
    if ((u.protocol === 'https:' || u.protocol === 'http:') && u.hostname) return undefined;
  } catch {
    // fall through
  }
  return 'an http:// or https:// URL';
}

function formatControl(value: string): string | undefined {
  if (value === ':all:' || value === ':none:') return undefined;
  return /^[A-Za-z0-9][A-Za-z0-9._-]*(?:,[A-Za-z0-9][A-Za-z0-9._-]*)*$/.test(value)
    ? undefined
    : ':all:, :none: or a comma-separated list of package names';
}

function host(value: string): string | undefined {
  return /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})(?::\d{1,5})?$/.test(value)
    ? undefined
    : 'a host name, optionally with :port';
}

function intRange(min: number, max: number): ValueCheck {
  return (value) =>
    /^\d{1,4}$/.test(value) && Number(value) >= min && Number(value) <= max
      ? undefined
      : `a whole number from ${min} to ${max}`;
}

/** Allowed options: flags map to undefined, options with a value to their value check. */
export const PIP_OPTIONS: Readonly<Record<string, ValueCheck | undefined>> = {
  '--pre': undefined,
  '--no-deps': undefined,
  '--prefer-binary': undefined,
  '--no-build-isolation': undefined,
  '--no-cache-dir': undefined,
  '--upgrade': undefined,
  '--force-reinstall': undefined,
  '--no-index': undefined,
  '--only-binary': formatControl,
  '--no-binary': formatControl,
  '--index-url': httpUrl,
  '--extra-index-url': httpUrl,
  '--find-links': httpUrl,
  '--trusted-host': host,
  '--timeout': intRange(1, 600),
  '--retries': intRange(0, 20),
};

const NAMES = Object.keys(PIP_OPTIONS);
const ALLOWED = NAMES.map((n) => (PIP_OPTIONS[n] ? `${n}=…` : n)).join(', ');

/** Checks one `pip_options` entry against {@link PIP_OPTIONS}. */
export const checkPipOption: Check = (s) => {
  if (/\s/.test(s)) {
    const name = s.split(/\s/)[0]!;
    const fix = Object.hasOwn(PIP_OPTIONS, name) ? ` (here: ${quote(s.replace(/\s+/, '='))})` : '';
    return `${quote(s)}: one option per list entry, written --name=value without spaces${fix}, or all options as one string; allowed: ${ALLOWED}`;
  }
  if (!s.startsWith('--')) {
    const hint = s.startsWith('-') ? 'short options are not accepted, use the long form; ' : '';
    return `${quote(s)} is not an option: ${hint}allowed are ${ALLOWED}`;
  }
  const eq = s.indexOf('=');
  const name = eq === -1 ? s : s.slice(0, eq);
  if (!Object.hasOwn(PIP_OPTIONS, name)) {
    return `${quote(name)} is not allowed in pip_options${didYouMean(name, NAMES)}; allowed: ${ALLOWED}`;
  }
  const valueCheck = PIP_OPTIONS[name];
  if (!valueCheck) {
    return eq === -1 ? undefined : `${name} takes no value`;
  }
  if (eq === -1) return `${name} needs a value, written ${name}=…`;
  const problem = valueCheck(s.slice(eq + 1));
  return problem === undefined ? undefined : `${name} needs ${problem}`;
};

/** The URL of an index option entry (`--index-url=…` and friends), if it is one. */
export function pipOptionUrl(s: string): URL | undefined {
  const m = /^--(?:index-url|extra-index-url|find-links)=(.+)$/.exec(s);
  if (!m?.[1]) return undefined;
  try {
    return new URL(m[1]);
  } catch {
    return undefined;
  }
}

/**
 * `pip_options` written as one string, as Joblet types it: split as a POSIX shell splits words
 * (quotes and backslashes; nothing is expanded or run), then `--name value` joined into
 * `--name=value` for the options that take a value, so each entry is one checked option.
 * Returns a message when the quotes do not close.
 */
export function splitPipOptions(text: string): string[] | { error: string } {
  let words: string[];
  try {
    words = split(text);
  } catch {
    return { error: `${quote(text)}: a quote is not closed; write the options as a shell would` };
  }
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const next = words[i + 1];
    const takesValue = Object.hasOwn(PIP_OPTIONS, word) && PIP_OPTIONS[word] !== undefined;
    if (takesValue && next !== undefined && !next.startsWith('-')) {
      out.push(`${word}=${next}`);
      i++;
    } else out.push(word);
  }
  return out;
}
