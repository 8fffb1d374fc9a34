/**
 * PEP 508 requirement strings for `pip` entries: `name[extras] specifiers ; markers`, or a direct
 * reference `name @ https://…`. Anything else is rejected, in particular entries that pip would
 * read as options (`-r file`, `-e .`, `--index-url …`) and non-https URLs (file://, git+…).
 */
import { quote } from '../diagnostic.js';
import type { Check } from './check.js';

const NAME = /[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?/y;
const VERSION = /[A-Za-z0-9_.*+!-]+/y;
const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const OPERATORS = ['===', '~=', '==', '!=', '<=', '>=', '<', '>'] as const;
const MARKER_VARIABLES = new Set([
  'python_version',
  'python_full_version',
  'os_name',
  'sys_platform',
  'platform_release',
  'platform_system',
  'platform_version',
  'platform_machine',
  'platform_python_implementation',
  'implementation_name',
  'implementation_version',
  'extra',
]);
const MAX_MARKER_NESTING = 8;

class Syntax extends Error {}

/** A cursor over one requirement string; methods throw {@link Syntax} with a reason. */
class Cursor {
  pos = 0;
  constructor(readonly s: string) {}

  get eof(): boolean {
    return this.pos >= this.s.length;
  }
  peek(): string {
    return this.s[this.pos] ?? '';
  }
  ws(): boolean {
    const start = this.pos;
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
    return this.pos > start;
  }
  match(re: RegExp): string | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.s);
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }
  take(literal: string): boolean {
    if (!this.s.startsWith(literal, this.pos)) return false;
    this.pos += literal.length;
    return true;
  }
  operator(): string | undefined {
    return OPERATORS.find((op) => this.take(op));
  }
  fail(what: string): never {
    const got = this.eof ? 'the end' : quote(this.s.slice(this.pos, this.pos + 12));
    throw new Syntax(`expected ${what} at column ${this.pos + 1}, found ${got}`);
  }
}

function versionOne(c: Cursor): void {
  c.ws();
  if (!c.operator()) c.fail('a version operator (==, >=, <=, !=, ~=, <, >, ===)');
  c.ws();
  if (!c.match(VERSION)) c.fail('a version');
}

function versionMany(c: Cursor): void {
  versionOne(c);
  for (;;) {
    const save = c.pos;
    c.ws();
    if (!c.take(',')) {
      c.pos = save;
      return;
    }
    versionOne(c);
  }
}

function markerValue(c: Cursor): void {
  c.ws();
  const q = c.peek();
  if (q === '"' || q === "'") {
    const end = c.s.indexOf(q, c.pos + 1);
    if (end === -1) c.fail(`a closing ${q}`);
    c.pos = end + 1;
    return;
  }
  const name = c.match(IDENT);
  if (name === undefined) c.fail('a marker variable or a quoted string');
  if (!MARKER_VARIABLES.has(name)) {
    throw new Syntax(`unknown marker variable ${quote(name)} (e.g. python_version, sys_platform)`);
  }
}

function markerOperator(c: Cursor): void {
  c.ws();
  if (c.operator()) return;
  const word = c.match(IDENT);
  if (word === 'in') return;
  if (word === 'not' && c.ws() && c.match(IDENT) === 'in') return;
  c.fail('a marker operator (==, !=, <, >, in, not in, …)');
}

function markerAtom(c: Cursor, depth: number): void {
  c.ws();
  if (c.take('(')) {
    if (depth >= MAX_MARKER_NESTING) throw new Syntax('markers are nested too deeply');
    markerOr(c, depth + 1);
    c.ws();
    if (!c.take(')')) c.fail('")"');
    return;
  }
  markerValue(c);
  markerOperator(c);
  markerValue(c);
}

function keyword(c: Cursor, word: 'and' | 'or'): boolean {
  const save = c.pos;
  c.ws();
  if (c.match(IDENT) === word) return true;
  c.pos = save;
  return false;
}

function markerAnd(c: Cursor, depth: number): void {
  markerAtom(c, depth);
  while (keyword(c, 'and')) markerAtom(c, depth);
}

function markerOr(c: Cursor, depth: number): void {
  markerAnd(c, depth);
  while (keyword(c, 'or')) markerAnd(c, depth);
}

function directUrl(c: Cursor): void {
  c.ws();
  const url = c.match(/[^\s;]+/y);
  if (url === undefined) c.fail('a URL after "@"');
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || parsed.protocol !== 'https:' || !parsed.hostname) {
    throw new Syntax(`only https:// URLs are allowed after "@" (got ${quote(url)})`);
  }
  // PEP 508 needs whitespace between a URL and its marker, since ";" may be part of a URL.
  if (!c.eof && !c.ws()) c.fail('a space after the URL');
}

function parseRequirement(s: string): void {
  const c = new Cursor(s);
  c.ws();
  if (c.peek() === '-') throw new Syntax('it starts with "-"; pip options belong in pip_options');
  if (/^[a-z+]+:\/\//i.test(s.trimStart())) {
    throw new Syntax('a bare URL is not a requirement; write "name @ https://…"');
  }
  if (!c.match(NAME)) c.fail('a package name (letters, digits, ".", "_", "-")');
  c.ws();
  if (c.take('[')) {
    c.ws();
    if (c.match(NAME)) {
      for (c.ws(); c.take(','); c.ws()) {
        c.ws();
        if (!c.match(NAME)) c.fail('an extra name');
      }
    }
    if (!c.take(']')) c.fail('"]" closing the extras');
    c.ws();
  }
  if (c.take('@')) directUrl(c);
  else if (c.take('(')) {
    versionMany(c);
    c.ws();
    if (!c.take(')')) c.fail('")"');
  } else if ('<>=!~'.includes(c.peek()) && !c.eof) versionMany(c);
  c.ws();
  if (c.take(';')) markerOr(c, 0);
  c.ws();
  if (!c.eof) c.fail('a version specifier, ";" and a marker, or the end');
}

/**
 * Checks one `pip` entry. Returns why it is not a PEP 508 requirement, or undefined when it is.
 */
export const checkPipRequirement: Check = (s) => {
  try {
    parseRequirement(s);
    return undefined;
  } catch (err) {
    if (!(err instanceof Syntax)) throw err;
    return `${quote(s)} is not a PEP 508 requirement: ${err.message}; write name[extras] with optional specifiers and markers, e.g. "numpy>=1.24,<2"`;
  }
};

/** The PEP 503 normalized project name of a requirement ("Scikit_Learn>=1" → "scikit-learn"). */
export function pipProjectName(requirement: string): string | undefined {
  const m = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)/.exec(requirement);
  return m?.[1]?.toLowerCase().replace(/[-_.]+/g, '-');
}
