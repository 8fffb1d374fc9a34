/** A spec at a glance, for `rnx runtime validate` and the API's validate answer. */
import { specArchitectures } from './arch.js';
import { findCatalogEntry, type BaseCatalog } from './catalog.js';
import type { Arch } from './constants.js';
import type { SpecSummary } from './contracts/validate.js';
import type { RuntimeSpec } from './runtime-spec.js';

/**
 * Summarizes a valid spec: identity, base (with the catalog's suite when it has one), the
 * architectures it builds for (`fallback` when the spec names none) and how much it installs.
 */
export function summarizeSpec(
  spec: RuntimeSpec,
  catalog: BaseCatalog,
  fallback: readonly Arch[],
): SpecSummary {
  const entry = findCatalogEntry(catalog, spec.base.language, spec.base.version);
  return {
    name: spec.name,
    version: spec.version,
    ...(spec.description !== undefined && { description: spec.description }),
    language: spec.base.language,
    languageVersion: spec.base.version,
    ...(entry && {
      base: entry.toolchain
        ? `${entry.toolchain.project} on ${entry.distro} ${entry.suite}`
        : `${entry.distro} ${entry.suite}`,
    }),
    architectures: specArchitectures(spec, fallback),
    counts: {
      pip: spec.pip?.length ?? 0,
      npm: spec.npm?.length ?? 0,
      apt: spec.apt?.length ?? 0,
      libraries: spec.libraries?.length ?? 0,
      environment: Object.keys(spec.environment ?? {}).length,
    },
    hooks: (['pre_install', 'post_install'] as const).filter((h) => spec.hooks?.[h] !== undefined),
  };
}
