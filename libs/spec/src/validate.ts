/**
 * `validateRuntimeSpec`: bytes or text in, every error and warning out, each at file:line:column
 * with its field path. Never throws and never hangs: input is bounded before parsing, parsing is
 * depth-capped, and every check is linear in the (bounded) input.
 */
import { catalogVersions, findCatalogEntry, type BaseCatalog } from './catalog.js';
import { builtinCatalog } from './catalog-builtin.js';
import { MAX_DIAGNOSTICS, MAX_SPEC_BYTES, SCHEMA_VERSION } from './constants.js';
import { splitPipOptions } from './checks/pip-options.js';
import {
  DiagnosticCodes,
  ROOT_PATH,
  formatPath,
  capDiagnostics,
  sortDiagnostics,
  type Diagnostic,
} from './diagnostic.js';
import { RuntimeSpec, SPEC_KEYS, isTextField } from './runtime-spec.js';
import type { SourceLocator } from './source-locator.js';
import { specWarnings, type PartialSpec } from './spec-warnings.js';
import { loadYaml } from './yaml-load.js';
import { issuesToDiagnostics } from './zod-diagnostics.js';

export interface ValidationResult {
  /** True when there are no errors (warnings allowed); `spec` is then set. */
  ok: boolean;
  spec?: RuntimeSpec;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

export interface ValidateOptions {
  /** Name shown in diagnostics; default `runtime.yaml`. */
  file?: string;
  /** Catalog that base versions are checked against; default the built-in one. */
  catalog?: BaseCatalog;
  /**
   * `offline` (default): a base version the catalog lacks is a warning, since the server may have
   * it. `server`: the catalog is the one that builds, so it is an error.
   */
  catalogMode?: 'offline' | 'server';
}

/**
 * The fields of `value` that are valid on their own (no schema issue at or below them), so that
 * warnings and the catalog check can run even when other fields have errors.
 */
function wellFormedParts(value: unknown, issues: readonly { path: PropertyKey[] }[]): PartialSpec {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const tainted = new Set(issues.map((i) => i.path[0]).filter((k) => k !== undefined));
  const out: Record<string, unknown> = {};
  for (const key of SPEC_KEYS) {
    // RuntimeSpec has no transforms, so a field without issues is its own parsed value.
    if (Object.hasOwn(value, key) && !tainted.has(key)) {
      out[key] = (value as Record<string, unknown>)[key];
    }
  }
  return out;
}

function catalogCheck(
  spec: PartialSpec,
  options: ValidateOptions,
  locator: SourceLocator,
): Diagnostic[] {
  const base = spec.base;
  if (!base) return [];
  const catalog = options.catalog ?? builtinCatalog;
  if (findCatalogEntry(catalog, base.language, base.version)) return [];
  const server = options.catalogMode === 'server';
  const which = server
    ? "the server's catalog"
    : catalog === builtinCatalog
      ? 'the built-in catalog'
      : 'the catalog';
  const available = catalogVersions(catalog, base.language);
  const message = `${base.language} ${base.version}: no base in ${which}; available: ${available.join(', ') || 'none'}`;
  return [
    locator.atPath(
      server ? 'error' : 'warning',
      DiagnosticCodes.UNKNOWN_BASE,
      ['base', 'version'],
      message,
    ),
  ];
}

/**
 * `pip_options: "--index-url https://… --pre"` (Joblet's type, one string) becomes the list the
 * schema checks, in place; an unclosed quote is an error at the field.
 */
function listPipOptions(value: unknown, locator: SourceLocator, reported: Set<string>) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const spec = value as Record<string, unknown>;
  if (typeof spec.pip_options !== 'string') return [];
  const split = splitPipOptions(spec.pip_options);
  if (Array.isArray(split)) {
    spec.pip_options = split;
    return [];
  }
  reported.add(formatPath(['pip_options']));
  return [locator.atPath('error', DiagnosticCodes.PIP_OPTION, ['pip_options'], split.error)];
}

function run(source: string | Uint8Array, options: ValidateOptions): ValidationResult {
  const loaded = loadYaml(source, {
    file: options.file ?? 'runtime.yaml',
    maxBytes: MAX_SPEC_BYTES,
    what: 'a runtime spec',
    exampleKeys: `schema_version: "${SCHEMA_VERSION}", name, version, base, …`,
    coerce: isTextField,
    // Joblet reads `version: 3.10` as "3.10": so do we, with a warning naming the quoting.
    lossy: 'warn',
  });
  if (!loaded.ok || !loaded.tree) return { ok: false, errors: loaded.errors, warnings: [] };
  const { locator, value, tree } = loaded;
  const pipOptionErrors = listPipOptions(value, locator, tree.reported);
  const parsed = RuntimeSpec.safeParse(value);
  const parts = parsed.success ? parsed.data : wellFormedParts(value, parsed.error.issues);
  const catalog = catalogCheck(parts, options, locator);
  const errors = [
    ...loaded.errors,
    ...pipOptionErrors,
    ...issuesToDiagnostics(parsed.error?.issues ?? [], {
      schema: RuntimeSpec,
      value,
      locator,
      reported: tree.reported,
    }),
    ...catalog.filter((d) => d.severity === 'error'),
  ];
  const warnings = [
    ...tree.warnings,
    ...catalog.filter((d) => d.severity === 'warning'),
    ...specWarnings(parts).map((f) =>
      locator.atPath('warning', f.code, f.path, f.message, f.anchor),
    ),
  ];
  const ok = errors.length === 0 && parsed.success;
  return { ok, spec: ok ? parsed.data : undefined, errors, warnings };
}

/**
 * Validates a runtime.yaml. Every error is reported at once, each with `file:line:column`, the
 * field path and a message saying what is allowed; warnings flag legal but suspicious input.
 * At most {@link MAX_DIAGNOSTICS} of each are returned (then one saying how many more).
 */
export function validateRuntimeSpec(
  source: string | Uint8Array,
  options: ValidateOptions = {},
): ValidationResult {
  let result: ValidationResult;
  try {
    result = run(source, options);
  } catch (err) {
    // A bug here must not take a server down with it; say so instead.
    const message = `internal validator error: ${err instanceof Error ? err.message : String(err)}`;
    const file = options.file ?? 'runtime.yaml';
    const error: Diagnostic = {
      severity: 'error',
      code: DiagnosticCodes.INTERNAL,
      file,
      line: 1,
      column: 1,
      path: ROOT_PATH,
      message,
    };
    return { ok: false, errors: [error], warnings: [] };
  }
  return {
    ...result,
    errors: capDiagnostics(sortDiagnostics(result.errors), MAX_DIAGNOSTICS),
    warnings: capDiagnostics(sortDiagnostics(result.warnings), MAX_DIAGNOSTICS),
  };
}
