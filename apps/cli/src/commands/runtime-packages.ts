/**
 * Package versions from runtimes' SBOMs, for `rnx runtime info` (every package of the runtime,
 * with its version) and `rnx runtime list --with-package NAME` (which runtimes ship it, at
 * which versions).
 */
import { ListRuntimesResponse, RuntimePackagesResponse, type RuntimePackage } from '@joblet/spec';
import type { ApiClient } from '../api-client.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import { table } from '../render/format.js';
import { printData, type ListOutput } from '../render/output.js';

const LABEL: Record<RuntimePackage['ecosystem'], string> = {
  generic: 'toolchain',
  deb: 'deb',
  pypi: 'pypi',
  npm: 'npm',
};

/** The `Packages` section of `runtime info`: the SBOM's packages of the first arch, by kind. */
export async function printSbomPackages(client: ApiClient, ref: string, io: Io): Promise<void> {
  let r: RuntimePackagesResponse;
  try {
    r = await client.get(
      `/v1/runtimes/${encodeURIComponent(ref)}/packages`,
      RuntimePackagesResponse,
    );
  } catch (err) {
    io.out(`Packages: no SBOM (${(err as Error).message})`);
    return;
  }
  const count = (e: RuntimePackage['ecosystem']) =>
    r.packages.filter((p) => p.ecosystem === e).length;
  io.out(
    `Packages (SBOM, ${r.arch}): ${count('deb')} deb, ${count('pypi')} pypi, ${count('npm')} npm, ` +
      `${count('generic')} toolchain — rnx runtime sbom ${r.name}@${r.version} for the full document`,
  );
  const rows = r.packages.map((p) => [`  ${LABEL[p.ecosystem]}`, p.name, p.version]);
  for (const l of table(rows)) io.out(l);
}

/** `rnx runtime list --with-package NAME`: one row per matching package of each runtime and arch. */
export async function runtimeListWithPackage(
  client: ApiClient,
  name: string,
  opts: ListOutput,
  io: Io,
): Promise<number> {
  const { runtimes } = await client.get(
    `/v1/runtimes?package=${encodeURIComponent(name)}`,
    ListRuntimesResponse,
  );
  if (printData(io, opts, runtimes)) return EXIT.OK;
  if (runtimes.length === 0) {
    io.err(`no published runtime's SBOM lists a package named ${name}`);
    return EXIT.OK;
  }
  const header = ['RUNTIME', 'VERSION', 'ARCH', 'KIND', 'PACKAGE', 'PACKAGE-VERSION'];
  const rows = runtimes.flatMap((r) =>
    (r.packages ?? []).map((p) => [
      r.name,
      r.version,
      p.arch,
      LABEL[p.ecosystem],
      p.name,
      p.version,
    ]),
  );
  for (const l of table([header, header.map((h) => '-'.repeat(h.length)), ...rows])) io.out(l);
  return EXIT.OK;
}
