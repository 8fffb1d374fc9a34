/**
 * Operator catalog files (YAML or JSON): extra or replacement base catalog entries, e.g. an Ubuntu
 * suite from a private mirror, or an upstream toolchain pinned by sha256. Read once at server
 * start; any error stops the start with every problem listed as file:line:column.
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
 *   - language: java
 *     version: "21"
 *     distro: debian
 *     suite: bookworm
 *     packages: []                      # what the toolchain needs besides, if anything
 *     env: { JAVA_HOME: /opt/java }
 *     commands: { java: /opt/java/bin/java, javac: /opt/java/bin/javac, jar: /opt/java/bin/jar }
 *     toolchain:
 *       project: temurin                # picks the BUILD_TOOLCHAIN_MIRRORS entry
 *       archives:
 *         - into: /opt/java
 *           strip: 1                    # tar --strip-components
 *           amd64:
 *             url: https://github.com/adoptium/temurin21-binaries/releases/download/jdk-21.0.9%2B10/OpenJDK21U-jdk_x64_linux_hotspot_21.0.9_10.tar.gz
 *             sha256: 810d3773df7e0d6c4394e4e244b264c8b30e0b05a0acf542d065fd78a6b65c2f
 *       path: [/opt/java/bin]
 *       note: Temurin 21.0.9+10, sha256 from Adoptium's release checksum file
 * ```
 * `binary`, `versionArgs`, `env` and `commands` default to the language's (see
 * `LANGUAGE_DEFAULTS`); an entry's `env` is added to the language's. Without `toolchain`,
 * `packages` must name at least one package.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CatalogEntry, type BaseCatalog } from './catalog.js';
import { withLanguageDefaults } from './catalog-builtin.js';
import { DiagnosticCodes, formatDiagnostic, type Diagnostic } from './diagnostic.js';
import { SpecError, SpecErrorCodes } from './spec-error.js';
import { loadYaml } from './yaml-load.js';
import { issuesToDiagnostics, type IssueParams } from './zod-diagnostics.js';

/** Largest catalog file read (1 MiB). */
export const MAX_CATALOG_BYTES = 1024 * 1024;

/** A catalog file: like {@link CatalogEntry}, with `binary` and `versionArgs` optional. */
export const CatalogFile = z
  .strictObject({
    entries: z.array(CatalogEntry.partial({ binary: true, versionArgs: true })).max(1000),
  })
  .superRefine((file, ctx) => {
    const seen = new Map<string, number>();
    file.entries.forEach((e, i) => {
      if (!e.toolchain && e.packages.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['entries', i, 'packages'],
          message: 'name at least one package, or give a toolchain',
        });
      }
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
  const entries = parsed.data.entries.map(withLanguageDefaults);
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
