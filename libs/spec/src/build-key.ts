/**
 * Build keys: two submissions that would produce the same artifact have the same key, so the
 * second answers "cached". The key covers the spec's content (not its formatting or comments),
 * the architecture, the catalog entry (a changed mirror or package list rebuilds) and the
 * builder version.
 */
import { createHash } from 'node:crypto';
import type { CatalogEntry } from './catalog.js';
import type { Arch } from './constants.js';
import type { RuntimeSpec } from './runtime-spec.js';

/** JSON with object keys sorted at every level, so equal data always gives equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** sha256 (hex) of the canonical spec, architecture, catalog entry and builder version. */
export function computeBuildKey(input: {
  spec: RuntimeSpec;
  arch: Arch;
  catalogEntry: CatalogEntry;
  builderVersion: string;
}): string {
  const material = canonicalJson({
    v: 1,
    spec: input.spec,
    arch: input.arch,
    catalogEntry: input.catalogEntry,
    builderVersion: input.builderVersion,
  });
  return createHash('sha256').update(material).digest('hex');
}
