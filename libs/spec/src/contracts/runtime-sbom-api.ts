/**
 * Bodies of the routes that say what a runtime contains and how it was built:
 * `GET /v1/runtimes/:ref/sbom`, `…/packages`, `…/provenance`, and the package matches of
 * `GET /v1/runtimes?package=NAME`.
 */
import { z } from 'zod';
import { ArchName } from './build.js';

export const SBOM_FORMATS = ['spdx', 'cyclonedx'] as const;
export const SbomFormat = z.enum(SBOM_FORMATS);
export type SbomFormat = z.infer<typeof SbomFormat>;

/** `?arch=`: one architecture's artifact (absent: the first the runtime has, amd64 before arm64). */
export const RuntimeArchQuery = z.object({ arch: ArchName.optional() });
export type RuntimeArchQuery = z.infer<typeof RuntimeArchQuery>;

export const RuntimeSbomQuery = RuntimeArchQuery.extend({ format: SbomFormat.default('spdx') });
export type RuntimeSbomQuery = z.infer<typeof RuntimeSbomQuery>;

/** One package of a runtime's SBOM. */
export const RuntimePackage = z.object({
  ecosystem: z.enum(['deb', 'pypi', 'npm', 'generic']),
  name: z.string(),
  version: z.string(),
  purl: z.string(),
  /** The Debian source package, when it is named otherwise (`openssl` for `libssl3`). */
  source: z.string().optional(),
});
export type RuntimePackage = z.infer<typeof RuntimePackage>;

/** A package match of `GET /v1/runtimes?package=`, per architecture. */
export const RuntimePackageMatch = RuntimePackage.extend({ arch: ArchName });
export type RuntimePackageMatch = z.infer<typeof RuntimePackageMatch>;

/** `GET /v1/runtimes/:ref/packages`: the SBOM's packages of one arch. */
export const RuntimePackagesResponse = z.object({
  name: z.string(),
  version: z.string(),
  arch: ArchName,
  packages: z.array(RuntimePackage),
});
export type RuntimePackagesResponse = z.infer<typeof RuntimePackagesResponse>;

/**
 * `GET /v1/runtimes/:ref/provenance`: the DSSE envelope exactly as stored (its sha256 is in the
 * manifest) and the signed manifest, for `rnx runtime provenance --verify` to check locally
 * against the keys it trusts: the server is not what is trusted.
 */
export const RuntimeProvenanceResponse = z.object({
  name: z.string(),
  version: z.string(),
  arch: ArchName,
  /** The archive's sha256 and tree hash as the index publishes them (what nodes install). */
  sha256: z.string(),
  treeHash: z.string(),
  envelope: z.string(),
  manifest: z.record(z.string(), z.unknown()),
});
export type RuntimeProvenanceResponse = z.infer<typeof RuntimeProvenanceResponse>;

/** `GET /v1/runtimes?package=NAME`: runtimes shipping a package of that name (or source). */
export const ListRuntimesQuery = z.object({
  package: z
    .string()
    .min(1)
    .max(214)
    .regex(/^[A-Za-z0-9@/._+-]+$/, 'must be a package name (letters, digits, "@/._+-")')
    .optional(),
});
export type ListRuntimesQuery = z.infer<typeof ListRuntimesQuery>;
