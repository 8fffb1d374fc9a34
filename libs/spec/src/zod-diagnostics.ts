/**
 * Maps zod issues back to the YAML nodes they are about, with messages that say what is allowed.
 * Content checks attach `params: { code, at }` to their issues; shape issues get codes here.
 */
import { z } from 'zod';
import {
  DiagnosticCodes,
  describeValue,
  formatPath,
  quote,
  type Diagnostic,
  type PathSegment,
} from './diagnostic.js';
import type { Anchor, SourceLocator } from './source-locator.js';
import { didYouMean } from './suggest.js';

/** Params a refinement may attach to a custom issue. */
export interface IssueParams {
  code?: string;
  at?: Anchor;
}

/** Reads `value` at `path` through own properties only. */
export function valueAt(value: unknown, path: readonly PathSegment[]): unknown {
  let cur = value;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (!Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

function hasKey(value: unknown, path: readonly PathSegment[]): boolean {
  const parent = valueAt(value, path.slice(0, -1));
  const last = path[path.length - 1];
  return (
    last !== undefined &&
    parent !== null &&
    typeof parent === 'object' &&
    Object.hasOwn(parent, last)
  );
}

/** The schema of the field at `path` (through optional, default, array and record wrappers). */
export function schemaAt(schema: z.ZodType, path: readonly PathSegment[]): z.ZodType | undefined {
  let cur: z.ZodType | undefined = unwrap(schema);
  for (const seg of path) {
    if (cur instanceof z.ZodObject && typeof seg === 'string') {
      cur = (cur.shape as Record<string, z.ZodType | undefined>)[seg];
    } else if (cur instanceof z.ZodArray && typeof seg === 'number') {
      cur = cur.element as z.ZodType;
    } else if (cur instanceof z.ZodRecord && typeof seg === 'string') {
      cur = cur.valueType as z.ZodType;
    } else return undefined;
    if (!cur) return undefined;
    cur = unwrap(cur);
  }
  return cur;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let cur = schema;
  for (let i = 0; i < 8; i++) {
    if (cur instanceof z.ZodOptional || cur instanceof z.ZodNullable)
      cur = cur.unwrap() as z.ZodType;
    else if (cur instanceof z.ZodDefault) cur = cur.unwrap() as z.ZodType;
    else break;
  }
  return cur;
}

/** The keys a mapping at `path` may have. */
export function allowedKeys(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  const s = schemaAt(schema, path);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function enumValues(schema: z.ZodType | undefined): string[] | undefined {
  if (schema instanceof z.ZodEnum) return schema.options.map(String);
  if (schema instanceof z.ZodLiteral) return [...schema.values].map(String);
  return undefined;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  array: 'a list',
  object: 'a mapping (key: value lines)',
  record: 'a mapping (key: value lines)',
  boolean: 'true or false',
  number: 'a number',
};

/**
 * The list a string meant, for the "write a list" hint: the string as one entry, else split at
 * commas, else at spaces — the first whose every entry the field accepts, so the fix suggested is
 * itself valid. Undefined when none is.
 */
function listFor(text: string, item: z.ZodType | undefined): string[] | undefined {
  if (!item) return undefined;
  const words = (re: RegExp) =>
    text
      .split(re)
      .map((w) => w.trim())
      .filter(Boolean);
  for (const candidate of [[text], words(/,/), words(/\s+/)]) {
    if (candidate.length > 0 && candidate.every((entry) => item.safeParse(entry).success))
      return candidate;
  }
  return undefined;
}

function typeHint(
  expected: string,
  value: unknown,
  path: readonly PathSegment[],
  schema: z.ZodType,
): string {
  const key = path[path.length - 1];
  if (value === null) return '; give a value or remove the key';
  if (expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')) {
    return `; quote it: "${String(value)}"`;
  }
  if (expected === 'array' && typeof value === 'string' && typeof key === 'string') {
    const list = listFor(value, schemaAt(schema, [...path, 0]));
    return list
      ? `; write a list, e.g. ${key}: [${list.map((e) => JSON.stringify(e)).join(', ')}]`
      : `; write a list, one entry per item (${key}: [first, second])`;
  }
  if (expected === 'boolean' && typeof value === 'string') return `; write true or false unquoted`;
  return '';
}

interface MapContext {
  schema: z.ZodType;
  value: unknown;
  locator: SourceLocator;
  reported: ReadonlySet<string>;
}

function suppressed(path: readonly PathSegment[], reported: ReadonlySet<string>): boolean {
  for (let n = path.length; n >= 0; n--)
    if (reported.has(formatPath(path.slice(0, n)))) return true;
  return false;
}

function paramsOf(issue: object): IssueParams {
  return 'params' in issue && issue.params !== null && typeof issue.params === 'object'
    ? issue.params
    : {};
}

function mapIssue(issue: z.core.$ZodIssue, ctx: MapContext): Diagnostic[] {
  const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
  const value = valueAt(ctx.value, path);
  const err = (code: string, message: string, at: Anchor = 'value', p = path) =>
    ctx.locator.atPath('error', code, p, message, at);

  // A required key that is absent: zod says "invalid type/value: undefined"; say "missing".
  const absent = path.length > 0 && !hasKey(ctx.value, path);
  if (absent && (issue.code === 'invalid_type' || issue.code === 'invalid_value')) {
    const values = enumValues(schemaAt(ctx.schema, path));
    const want =
      values?.length === 1
        ? JSON.stringify(values[0])
        : values
          ? `one of ${values.join(', ')}`
          : issue.code === 'invalid_type'
            ? (EXPECTED[issue.expected] ?? issue.expected)
            : 'a value';
    return [err(DiagnosticCodes.MISSING_KEY, `required key is missing; expected ${want}`)];
  }

  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(ctx.schema, path);
      return issue.keys.map((key) => {
        const hint = didYouMean(key, allowed) || `; allowed keys: ${allowed.join(', ')}`;
        return err(DiagnosticCodes.UNKNOWN_KEY, `unknown key ${quote(key)}${hint}`, 'key', [
          ...path,
          key,
        ]);
      });
    }
    case 'invalid_type': {
      const want = EXPECTED[issue.expected] ?? issue.expected;
      const hint = typeHint(issue.expected, value, path, ctx.schema);
      return [
        err(DiagnosticCodes.INVALID_TYPE, `expected ${want}, got ${describeValue(value)}${hint}`),
      ];
    }
    case 'invalid_value': {
      const values = issue.values.map(String);
      const only = issue.values[0];
      if (issue.values.length === 1) {
        const want = typeof only === 'string' ? JSON.stringify(only) : String(only);
        return [err(DiagnosticCodes.INVALID_VALUE, `must be ${want}, got ${describeValue(value)}`)];
      }
      const hint = typeof value === 'string' ? didYouMean(value, values) : '';
      return [
        err(
          DiagnosticCodes.INVALID_VALUE,
          `${describeValue(value)} is not supported (${values.join(', ')})${hint}`,
        ),
      ];
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'string' && typeof value === 'string') {
        return [
          err(
            DiagnosticCodes.TOO_LONG,
            `is too long: at most ${max} characters (got ${[...value].length})`,
          ),
        ];
      }
      const n = Array.isArray(value) ? value.length : undefined;
      return [
        err(
          DiagnosticCodes.TOO_LONG,
          `has too many entries: at most ${max}${n === undefined ? '' : ` (got ${n})`}`,
        ),
      ];
    }
    case 'too_small':
      return [err(DiagnosticCodes.TOO_SHORT, 'must not be empty')];
    case 'invalid_key': {
      const inner = issue.issues[0];
      const params = inner ? paramsOf(inner) : {};
      return [
        err(
          params.code ?? DiagnosticCodes.INVALID_VALUE,
          inner?.message ?? `invalid key ${describeValue(path[path.length - 1])}`,
          'key',
        ),
      ];
    }
    case 'custom': {
      const params = paramsOf(issue);
      return [err(params.code ?? DiagnosticCodes.INVALID_VALUE, issue.message, params.at)];
    }
    default:
      return [err(DiagnosticCodes.INVALID_VALUE, issue.message)];
  }
}

/**
 * Diagnostics for `issues` from parsing `value` with `schema`. Issues at paths the YAML stage
 * already reported (an alias, a lossy number) are dropped so each problem is reported once.
 */
export function issuesToDiagnostics(
  issues: readonly z.core.$ZodIssue[],
  ctx: MapContext,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const issue of issues) {
    const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
    if (suppressed(path, ctx.reported)) continue;
    out.push(...mapIssue(issue, ctx));
  }
  return out;
}
