/**
 * Diagnostics: what the validator says about a spec, each pinned to a file position and a field
 * path. They are plain data because they cross process boundaries (API bodies, CLI JSON output).
 */

export type Severity = 'error' | 'warning';

/** One finding about one place in a file. `line` and `column` are 1-based; columns count UTF-16 units. */
export interface Diagnostic {
  severity: Severity;
  /** Stable machine-readable code, one of {@link DiagnosticCodes}. */
  code: string;
  file: string;
  line: number;
  column: number;
  /** Field path such as `base.language`, `pip[2]`, `environment.FOO`, or `(root)`. */
  path: string;
  message: string;
}

/** Every diagnostic code in one place; call sites never spell codes as literals. */
export const DiagnosticCodes = {
  // The bytes themselves.
  TOO_LARGE: 'TOO_LARGE',
  ENCODING: 'ENCODING',
  BINARY: 'BINARY',
  EMPTY: 'EMPTY',
  // YAML structure.
  YAML_SYNTAX: 'YAML_SYNTAX',
  MULTIPLE_DOCUMENTS: 'MULTIPLE_DOCUMENTS',
  TOO_DEEP: 'TOO_DEEP',
  TOO_COMPLEX: 'TOO_COMPLEX',
  YAML_ALIAS: 'YAML_ALIAS',
  YAML_TAG: 'YAML_TAG',
  YAML_DIRECTIVE: 'YAML_DIRECTIVE',
  DUPLICATE_KEY: 'DUPLICATE_KEY',
  BAD_KEY: 'BAD_KEY',
  NOT_A_MAPPING: 'NOT_A_MAPPING',
  // Shape.
  UNKNOWN_KEY: 'UNKNOWN_KEY',
  MISSING_KEY: 'MISSING_KEY',
  INVALID_TYPE: 'INVALID_TYPE',
  INVALID_VALUE: 'INVALID_VALUE',
  TOO_LONG: 'TOO_LONG',
  TOO_SHORT: 'TOO_SHORT',
  LOSSY_NUMBER: 'LOSSY_NUMBER',
  // Contents.
  INVALID_NAME: 'INVALID_NAME',
  INVALID_VERSION: 'INVALID_VERSION',
  INVALID_TEXT: 'INVALID_TEXT',
  INVALID_PIP: 'INVALID_PIP',
  PIP_OPTION: 'PIP_OPTION',
  INVALID_NPM: 'INVALID_NPM',
  INVALID_APT: 'INVALID_APT',
  INVALID_LIBRARY: 'INVALID_LIBRARY',
  INVALID_PATH: 'INVALID_PATH',
  INVALID_ENV_NAME: 'INVALID_ENV_NAME',
  RESERVED_ENV_NAME: 'RESERVED_ENV_NAME',
  INVALID_DURATION: 'INVALID_DURATION',
  INVALID_MEMORY: 'INVALID_MEMORY',
  INVALID_CUDA: 'INVALID_CUDA',
  DUPLICATE_ENTRY: 'DUPLICATE_ENTRY',
  UNKNOWN_BASE: 'UNKNOWN_BASE',
  // Warnings.
  PIP_WITHOUT_PYTHON: 'PIP_WITHOUT_PYTHON',
  NPM_WITHOUT_NODE: 'NPM_WITHOUT_NODE',
  HOOK_WITHOUT_TIMEOUT: 'HOOK_WITHOUT_TIMEOUT',
  NO_EFFECT: 'NO_EFFECT',
  DUPLICATE_PACKAGE: 'DUPLICATE_PACKAGE',
  GPU_WITHOUT_CUDA: 'GPU_WITHOUT_CUDA',
  ENV_OVERRIDE: 'ENV_OVERRIDE',
  URL_CREDENTIALS: 'URL_CREDENTIALS',
  BROAD_LIBRARY: 'BROAD_LIBRARY',
  ARCH_MISMATCH: 'ARCH_MISMATCH',
  // Bookkeeping.
  TOO_MANY_DIAGNOSTICS: 'TOO_MANY_DIAGNOSTICS',
  INTERNAL: 'INTERNAL',
} as const;
export type DiagnosticCode = (typeof DiagnosticCodes)[keyof typeof DiagnosticCodes];

/** One step of a field path: a mapping key or a list index. */
export type PathSegment = string | number;

/** Shown instead of an empty path, for findings about the whole file. */
export const ROOT_PATH = '(root)';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * Formats a field path the way users write it: `base.language`, `pip[2]`, `environment.FOO`.
 * Keys that are not identifiers are quoted (`environment["A B"]`) so a path is never ambiguous.
 */
export function formatPath(path: readonly PathSegment[]): string {
  if (path.length === 0) return ROOT_PATH;
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/**
 * One line per diagnostic, as editors and CI annotators parse it:
 * `runtime.yaml:4:10 base.language: "pyhton" is not supported (…) — did you mean "python"?`.
 * Warnings have the same shape; the CLI prefixes ✗ or ⚠.
 */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column} ${d.path}: ${d.message}`;
}

/** Orders diagnostics by position so output reads top to bottom. Stable for equal positions. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return ds
    .map((d, i) => ({ d, i }))
    .sort((a, b) => a.d.line - b.d.line || a.d.column - b.d.column || a.i - b.i)
    .map(({ d }) => d);
}

/**
 * Keeps at most `max` diagnostics; when some are dropped, the last kept one says how many, so
 * hostile input (10,000 bad pip lines) cannot produce an unbounded answer.
 */
export function capDiagnostics(ds: Diagnostic[], max: number): Diagnostic[] {
  if (ds.length <= max) return ds;
  const kept = ds.slice(0, max);
  const next = ds[max];
  if (!next) return kept;
  kept.push({
    ...next,
    code: DiagnosticCodes.TOO_MANY_DIAGNOSTICS,
    path: ROOT_PATH,
    message: `${ds.length - max} more ${next.severity}s not shown (at most ${max} are reported)`,
  });
  return kept;
}

/** Describes a value for a message: strings quoted and shortened, other types named. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (null)';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** JSON-quotes a string for a message, shortened to keep messages one readable line. */
export function quote(s: string, max = 60): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}
