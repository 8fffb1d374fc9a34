/**
 * Operator catalog files (YAML or JSON): extra or replacement base catalog entries, e.g. an Ubuntu
 * suite from a private mirror. Read once at server start; any error stops the start with every
 * problem listed as file:line:column.
 *
 * ```yaml
 * entries:
 *   - language: python
 *     version: "3.12"
 *     distro: ubuntu
 *     suite: noble
 *     mirror: http://mirror.example.com/ubuntu
 *     components: [main, universe]
 *     packages: [python3, python3-pip, python3-venv]
 * ```
 * `binary`, `versionArgs` and `env` default to the language's (see `LANGUAGE_DEFAULTS`).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CatalogEntry, LANGUAGE_DEFAULTS, type BaseCatalog } from './catalog.js';
import { DiagnosticCodes, formatDiagnostic, type Diagnostic } from './diagnostic.js';
import { SpecError, SpecErrorCodes } from './spec-error.js';
import { loadYaml } from './yaml-load.js';
import { issuesToDiagnostics, type IssueParams } from './zod-diagnostics.js';

/** Largest catalog file read (1 MiB). */
export const MAX_CATALOG_BYTES = 1024 * 1024;

/** A catalog file: like {@link CatalogEntry}, with `binary`, `versionArgs` and `env` optional. */
export const CatalogFile = z
  .strictObject({
    entries: z.array(CatalogEntry.partial({ binary: true, versionArgs: true })).max(1000),
  })
  .superRefine((file, ctx) => {
    const seen = new Map<string, number>();
    file.entries.forEach((e, i) => {
      const key = `${e.language} ${e.version}`;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, i);
      else {
        const params: IssueParams = { code: DiagnosticCodes.DUPLICATE_ENTRY };
        ctx.addIssue({
          code: 'custom',
          path: ['entries', i],
          message: `${key} is listed twice (first at entries[${first}])`,
          params,
        });
      }
    });
  });
export type CatalogFile = z.infer<typeof CatalogFile>;

export type ParsedCatalog =
  { ok: true; catalog: BaseCatalog; errors: [] } | { ok: false; errors: Diagnostic[] };

/** Parses catalog text; `file` names it in diagnostics. Never throws. */
export function parseCatalog(source: string | Uint8Array, file: string): ParsedCatalog {
  const loaded = loadYaml(source, {
    file,
    maxBytes: MAX_CATALOG_BYTES,
    what: 'a catalog file',
    exampleKeys: 'entries',
  });
  if (!loaded.ok || !loaded.tree) return { ok: false, errors: loaded.errors };
  const parsed = CatalogFile.safeParse(loaded.value);
  const errors = [
    ...loaded.errors,
    ...issuesToDiagnostics(parsed.error?.issues ?? [], {
      schema: CatalogFile,
      value: loaded.value,
      locator: loaded.locator,
      reported: loaded.tree.reported,
    }),
  ];
  if (!parsed.success || errors.length > 0) return { ok: false, errors };
  const entries = parsed.data.entries.map((e) => ({ ...LANGUAGE_DEFAULTS[e.language], ...e }));
  return { ok: true, catalog: { entries }, errors: [] };
}

/**
 * Reads an operator's catalog file. Merge it over the built-in catalog with
 * `mergeCatalogs(builtinCatalog, loadCatalogFile(path))`.
 * @throws SpecError `CATALOG_UNREADABLE` when the file cannot be read, `CATALOG_INVALID` (with
 *   every problem as `file:line:column path: message`) when it is not a valid catalog.
 */
export function loadCatalogFile(path: string): BaseCatalog {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new SpecError(
      SpecErrorCodes.CATALOG_UNREADABLE,
      `cannot read catalog file ${path}: ${reason}`,
      { cause: err },
    );
  }
  const result = parseCatalog(bytes, path);
  if (!result.ok) {
    const lines = result.errors.map((d) => `  ${formatDiagnostic(d)}`).join('\n');
    throw new SpecError(SpecErrorCodes.CATALOG_INVALID, `invalid catalog file ${path}:\n${lines}`);
  }
  return result.catalog;
}
