/**
 * What a runtime really contains, read from its tree after the build (never from the spec):
 * dpkg's status, Python core metadata, npm package.json files, plus the upstream toolchain
 * archives the catalog entry pinned. The SBOM documents (spdx.ts, cyclonedx.ts) are written
 * from this inventory; `rnx runtime info` and `list --with-package` read it back from them.
 */
import { readDpkgPackages } from './dpkg-status.js';
import { readNpmPackages } from './npm-packages.js';
import { debPurl, genericPurl, npmPurl, pypiPurl } from './purl.js';
import { readPythonDistributions } from './python-metadata.js';

export type PackageEcosystem = 'deb' | 'pypi' | 'npm' | 'generic';

/** One package of a runtime. */
export interface SbomPackage {
  ecosystem: PackageEcosystem;
  name: string;
  version: string;
  purl: string;
  /** As the package declares it (dpkg records none; Python and npm metadata may). */
  license?: string;
  /** The Debian source package, when it is not named like the binary package (`openssl` of `libssl3`). */
  source?: string;
  /** Debian's Maintainer field. */
  supplier?: string;
  homepage?: string;
  /** Where the bytes came from, when known (toolchains). */
  downloadLocation?: string;
  /** Hex sha256 of the downloaded file, when known (toolchains). */
  sha256?: string;
  /** Where the package's record is in the tree (relative path), when it has one. */
  path?: string;
}

/** An upstream toolchain file the catalog entry pinned (see `Toolchain` in @joblet/spec). */
export interface ToolchainInput {
  /** `python-build-standalone`, `nodejs`, … */
  project: string;
  /** The language version the catalog entry provides (`3.12`). */
  version: string;
  files: { url: string; sha256: string }[];
}

export interface InventoryOptions {
  /** The purl namespace of dpkg packages: `debian` or `ubuntu`. */
  distro: string;
  toolchain?: ToolchainInput;
}

const ORDER: Record<PackageEcosystem, number> = { generic: 0, deb: 1, pypi: 2, npm: 3 };

/**
 * Every package of the tree at `root`, sorted by ecosystem, name and version; one per purl
 * (npm trees repeat a name@version in several places: the first place is kept).
 */
export async function readInventory(root: string, opts: InventoryOptions): Promise<SbomPackage[]> {
  const pkgs: SbomPackage[] = [];
  for (const f of opts.toolchain?.files ?? []) {
    const name = f.url.slice(f.url.lastIndexOf('/') + 1) || opts.toolchain!.project;
    pkgs.push({
      ecosystem: 'generic',
      name,
      version: opts.toolchain!.version,
      purl: genericPurl(opts.toolchain!.project, name, opts.toolchain!.version, f),
      downloadLocation: f.url,
      sha256: f.sha256,
    });
  }
  for (const d of await readDpkgPackages(root)) {
    pkgs.push({
      ecosystem: 'deb',
      name: d.name,
      version: d.version,
      purl: debPurl(opts.distro, d.name, d.version, d.architecture),
      ...(d.source && { source: d.source }),
      ...(d.maintainer && { supplier: d.maintainer }),
      ...(d.homepage && { homepage: d.homepage }),
      path: 'var/lib/dpkg/status',
    });
  }
  for (const p of await readPythonDistributions(root)) {
    pkgs.push({ ecosystem: 'pypi', ...p, purl: pypiPurl(p.name, p.version) });
  }
  for (const n of await readNpmPackages(root)) {
    pkgs.push({ ecosystem: 'npm', ...n, purl: npmPurl(n.name, n.version) });
  }
  const seen = new Set<string>();
  return pkgs
    .filter((p) => (seen.has(p.purl) ? false : (seen.add(p.purl), true)))
    .sort(
      (a, b) =>
        ORDER[a.ecosystem] - ORDER[b.ecosystem] ||
        cmp(a.name.toLowerCase(), b.name.toLowerCase()) ||
        cmp(a.version, b.version),
    );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
