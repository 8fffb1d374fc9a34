/**
 * The package list of a stored CycloneDX BOM (as cyclonedx.ts writes it), for the API's
 * answers to `rnx runtime info` and `rnx runtime list --with-package`. Read loosely: a
 * component without a purl or version is skipped, not an error.
 */
import { z } from 'zod';
import type { PackageEcosystem } from './inventory.js';

export interface ListedPackage {
  ecosystem: PackageEcosystem;
  /** With an npm scope: `@types/node`. */
  name: string;
  version: string;
  purl: string;
  /** The Debian source package, when it differs from the name. */
  source?: string;
}

const Bom = z.object({
  components: z
    .array(
      z.object({
        name: z.string(),
        group: z.string().optional(),
        version: z.string().optional(),
        purl: z.string().optional(),
        properties: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
      }),
    )
    .default([]),
});

const ECOSYSTEMS: readonly PackageEcosystem[] = ['deb', 'pypi', 'npm', 'generic'];

/** The packages of a CycloneDX BOM; `undefined` when `raw` is not one. */
export function packagesOfCyclonedx(raw: unknown): ListedPackage[] | undefined {
  const bom = Bom.safeParse(raw);
  if (!bom.success) return undefined;
  const out: ListedPackage[] = [];
  for (const c of bom.data.components) {
    if (!c.purl || c.version === undefined) continue;
    const type = /^pkg:([a-z0-9.+-]+)\//.exec(c.purl)?.[1] as PackageEcosystem | undefined;
    if (!type || !ECOSYSTEMS.includes(type)) continue;
    const source = c.properties?.find((p) => p.name === 'joblet:source')?.value;
    out.push({
      ecosystem: type,
      name: c.group ? `${c.group}/${c.name}` : c.name,
      version: c.version,
      purl: c.purl,
      ...(source && { source }),
    });
  }
  return out;
}
