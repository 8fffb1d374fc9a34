/**
 * What a published runtime contains and how it was built: its SBOMs and signed provenance,
 * stored beside each arch's archive and listed (with their sha256) in its signed manifest.
 * Every document is checked against the manifest's sha256 before it is served, so a document
 * replaced in the store is refused here; the signatures themselves are checked by whoever
 * trusts the farm's key (`rnx runtime provenance --verify`, the agents), not by this server.
 */
import { createHash } from 'node:crypto';
import {
  ATTACHMENT_FILES,
  ArtifactManifest,
  packagesOfCyclonedx,
  type AttachmentKind,
  type ListedPackage,
} from '@joblet/artifact';
import {
  ARCHITECTURES as ARCHES,
  type Arch,
  type RuntimeIndexEntry,
  type RuntimePackageMatch,
  type RuntimePackagesResponse,
  type RuntimeProvenanceResponse,
  type RuntimeSummary,
  type SbomFormat,
} from '@joblet/spec';
import { runtimeAttachmentKey, type ArtifactStore } from '@joblet/storage';
import { ApiError } from '../plugins/errors.js';
import type { RuntimeService } from './runtime-service.js';

/** Largest document served (bytes): an SBOM of thousands of packages is a few MB. */
const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;
/** Package lists kept parsed, by the sha256 of their BOM (immutable content). */
const PACKAGE_CACHE_ENTRIES = 256;

const SBOM_KIND: Record<SbomFormat, AttachmentKind> = {
  spdx: 'sbom-spdx',
  cyclonedx: 'sbom-cyclonedx',
};

interface Located {
  entry: RuntimeIndexEntry;
  arch: Arch;
  manifest: ArtifactManifest;
}

export class RuntimeSbomService {
  private readonly packageCache = new Map<string, ListedPackage[]>();

  constructor(
    private readonly store: ArtifactStore,
    private readonly runtimes: RuntimeService,
  ) {}

  /** One SBOM document of `ref` for `arch`, as stored. */
  async sbom(ref: string, arch: Arch | undefined, format: SbomFormat): Promise<unknown> {
    const at = await this.locate(ref, arch);
    return JSON.parse(await this.document(at, SBOM_KIND[format]));
  }

  /** The packages the SBOM of `ref` lists for `arch`. */
  async packages(ref: string, arch: Arch | undefined): Promise<RuntimePackagesResponse> {
    const at = await this.locate(ref, arch);
    return {
      name: at.entry.name,
      version: at.entry.version,
      arch: at.arch,
      packages: await this.packageList(at),
    };
  }

  /** The provenance envelope of `ref` for `arch`, exactly as stored, with its signed manifest. */
  async provenance(ref: string, arch: Arch | undefined): Promise<RuntimeProvenanceResponse> {
    const at = await this.locate(ref, arch);
    const a = at.entry.arches[at.arch]!;
    return {
      name: at.entry.name,
      version: at.entry.version,
      arch: at.arch,
      sha256: a.sha256,
      treeHash: a.treeHash,
      envelope: await this.document(at, 'provenance'),
      manifest: at.manifest as unknown as Record<string, unknown>,
    };
  }

  /**
   * Runtimes whose SBOM lists a package named `name` (or built from the Debian source package
   * `name`; case does not matter), with the matching packages per arch. Versions published
   * without an SBOM are left out.
   */
  async withPackage(all: RuntimeSummary[], name: string): Promise<RuntimeSummary[]> {
    const wanted = name.toLowerCase();
    const entries = await this.runtimes.entries();
    const out: RuntimeSummary[] = [];
    for (const summary of all) {
      const entry = entries.find((e) => e.name === summary.name && e.version === summary.version);
      if (!entry) continue;
      const matches: RuntimePackageMatch[] = [];
      for (const arch of ARCHES.filter((a) => entry.arches[a])) {
        const at = await this.manifestOf(entry, arch).catch(() => undefined);
        if (!at?.manifest.attachments?.some((x) => x.kind === 'sbom-cyclonedx')) continue;
        for (const p of await this.packageList(at)) {
          if (p.name.toLowerCase() === wanted || p.source?.toLowerCase() === wanted)
            matches.push({ ...p, arch });
        }
      }
      if (matches.length > 0) out.push({ ...summary, packages: matches });
    }
    return out;
  }

  private async packageList(at: Located): Promise<ListedPackage[]> {
    const sha = at.manifest.attachments?.find((x) => x.kind === 'sbom-cyclonedx')?.sha256;
    const hit = sha === undefined ? undefined : this.packageCache.get(sha);
    if (hit) return hit;
    const listed = packagesOfCyclonedx(JSON.parse(await this.document(at, 'sbom-cyclonedx')));
    if (!listed) {
      throw new ApiError(409, 'CONFLICT', `the CycloneDX SBOM of ${label(at)} is not a BOM`);
    }
    if (sha !== undefined) {
      if (this.packageCache.size >= PACKAGE_CACHE_ENTRIES) this.packageCache.clear();
      this.packageCache.set(sha, listed);
    }
    return listed;
  }

  private async locate(ref: string, arch: Arch | undefined): Promise<Located> {
    const entry = await this.runtimes.resolve(ref);
    const have = ARCHES.filter((a) => entry.arches[a]);
    const chosen = arch ?? have[0];
    if (!chosen || !entry.arches[chosen]) {
      throw new ApiError(
        404,
        'NOT_FOUND',
        `${entry.name}@${entry.version} has no ${arch} artifact; it has ${have.join(', ') || 'none'}`,
        [{ field: 'arch', message: `one of ${have.join(', ')}` }],
      );
    }
    return this.manifestOf(entry, chosen);
  }

  private async manifestOf(entry: RuntimeIndexEntry, arch: Arch): Promise<Located> {
    const raw = await this.store.getJson<unknown>(entry.arches[arch]!.manifestKey);
    const parsed = ArtifactManifest.safeParse(raw);
    if (!parsed.success) {
      throw new ApiError(
        409,
        'CONFLICT',
        `the manifest of ${entry.name}@${entry.version} (${arch}) is missing or invalid`,
      );
    }
    return { entry, arch, manifest: parsed.data };
  }

  /** The stored text of one attachment, refused unless it hashes to what the manifest lists. */
  private async document(at: Located, kind: AttachmentKind): Promise<string> {
    const listed = at.manifest.attachments?.find((x) => x.kind === kind);
    if (!listed) {
      throw new ApiError(
        404,
        'NOT_FOUND',
        `${label(at)} has no ${kind} document: it was published before the farm wrote them ` +
          `(rebuild it with rnx runtime build --force)`,
      );
    }
    const { name, version } = at.entry;
    const key = runtimeAttachmentKey(name, version, at.arch, ATTACHMENT_FILES[kind]);
    const bytes = await this.store.getBuffer(key, MAX_DOCUMENT_BYTES).catch((err: unknown) => {
      if ((err as { code?: string }).code === 'NOT_FOUND') {
        throw new ApiError(
          409,
          'CONFLICT',
          `${label(at)}: ${key} is listed in its manifest but missing from the store`,
        );
      }
      throw err;
    });
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== listed.sha256) {
      throw new ApiError(
        409,
        'CONFLICT',
        `${label(at)}: ${key} does not match the sha256 its signed manifest lists (${listed.sha256.slice(0, 16)}…, stored ${sha.slice(0, 16)}…): the store was changed after publishing`,
      );
    }
    return bytes.toString('utf8');
  }
}

function label(at: Located): string {
  return `${at.entry.name}@${at.entry.version} (${at.arch})`;
}
