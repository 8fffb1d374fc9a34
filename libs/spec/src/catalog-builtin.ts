/**
 * The built-in base catalog, read from catalog-builtin.json (data, not code: each upstream pin
 * carries a `note` naming the checkable source it was taken from).
 *
 * Sources: python 3.9 (bullseye), 3.11 (bookworm) and 3.13 (trixie) are Debian's; 3.10, 3.12 and
 * 3.14 are python-build-standalone builds pinned from uv's download-metadata.json. java 11, 17
 * and 21 are Debian's OpenJDK (bullseye, bookworm, trixie). node 18 and 20 are Debian's; node 22
 * is upstream's binary as the npm registry serves it. go 1.19/1.24 and rust 1.63/1.85 are
 * Debian's, go 1.25 and rust 1.92 upstream's official archives. debian 12 and 13 are minimal
 * Debian roots (system roots: the farm's default runtime is built from debian 12).
 */
import { z } from 'zod';
import { CatalogEntry, LANGUAGE_DEFAULTS, type BaseCatalog } from './catalog.js';
import data from './catalog-builtin.json' with { type: 'json' };

/** The data file: entries whose `binary`, `versionArgs`, `env`, `commands` may be defaulted. */
const BuiltinFile = z.object({
  entries: z.array(CatalogEntry.partial({ binary: true, versionArgs: true })),
});

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Fills an entry's unset `binary`, `versionArgs`, `env` and `commands` from its language's. */
export function withLanguageDefaults(
  e: z.infer<typeof BuiltinFile>['entries'][number],
): CatalogEntry {
  const defaults = LANGUAGE_DEFAULTS[e.language];
  return {
    ...defaults,
    ...e,
    ...((e.env ?? defaults.env) && { env: { ...defaults.env, ...e.env } }),
    ...((e.commands ?? defaults.commands) && { commands: e.commands ?? defaults.commands }),
  };
}

/**
 * The built-in catalog (see the module comment). Frozen; derive new catalogs with
 * `mergeCatalogs`.
 */
export const builtinCatalog: BaseCatalog = deepFreeze({
  entries: BuiltinFile.parse(data).entries.map(withLanguageDefaults),
});
