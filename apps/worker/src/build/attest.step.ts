/**
 * Step 10½: what the runtime contains and how it was made, from the packed tree itself: the
 * SBOM (SPDX 2.3 and CycloneDX 1.5 JSON, from dpkg's status, Python core metadata and npm
 * package.json files in the tree, plus the catalog entry's pinned toolchain files) and the
 * in-toto provenance statement. The statement is staged unsigned: only publishing workers hold
 * the farm's key, so the publisher signs it (a DSSE envelope) when it promotes the artifact.
 */
import { join } from 'node:path';
import {
  cyclonedxBom,
  provenanceStatement,
  readInventory,
  spdxDocument,
  type ArtifactSubject,
  type AttachmentKind,
  type SbomPackage,
} from '@joblet/artifact';
import { BUILDER_VERSION } from '@joblet/queue';
import { toolchainFileFor } from '@joblet/spec';
import type { BaseRoot } from '../base-root/index.js';
import { BuildFailure } from './build-failure.js';
import type { BuildContext } from './context.js';

/** The unsigned statement's name in the build's staging area (never published as it is). */
export const STATEMENT_STAGING_FILE = 'provenance.statement.json';

export interface Attestations {
  /** The SBOM documents, serialised. */
  sboms: { kind: Extract<AttachmentKind, 'sbom-spdx' | 'sbom-cyclonedx'>; body: Buffer }[];
  /** The in-toto statement (JSON), for the publisher to sign. */
  statement: Buffer;
}

export interface AttestInput {
  /** The packed artifact (package.step.ts): its archive sha256 and tree hash. */
  packed: { sha256: string; treeHash: string };
  base: BaseRoot;
  resolved: { system: string[]; pip: string[]; npm: string[] };
  startedOn: Date;
  builtAt: Date;
}

/** The toolchain files of the catalog entry for this build's architecture. */
function toolchainFiles(ctx: BuildContext): { url: string; sha256: string }[] {
  const tc = ctx.entry.toolchain;
  if (!tc) return [];
  return tc.archives.flatMap((a) => {
    const f = toolchainFileFor(a, ctx.config.arch);
    return f ? [{ url: f.url, sha256: f.sha256 }] : [];
  });
}

export async function attestRuntime(ctx: BuildContext, i: AttestInput): Promise<Attestations> {
  const { spec, config, entry, job } = ctx;
  const subject: ArtifactSubject = {
    name: spec.name,
    version: spec.version,
    arch: config.arch,
    sha256: i.packed.sha256,
    treeHash: i.packed.treeHash,
    buildKey: job.buildKey,
    builtAt: i.builtAt.toISOString(),
    builderVersion: BUILDER_VERSION,
  };
  const files = toolchainFiles(ctx);
  let packages: SbomPackage[];
  try {
    // The packed tree, still mounted where packRuntime laid it out.
    packages = await readInventory(join(ctx.wd.pkg, 'isolated'), {
      distro: entry.distro,
      ...(entry.toolchain && {
        toolchain: { project: entry.toolchain.project, version: entry.version, files },
      }),
    });
  } catch (err) {
    throw new BuildFailure(
      'INTERNAL',
      `reading the runtime's packages for its SBOM failed: ${(err as Error).message}`,
      {
        retryable: true,
        cause: err,
      },
    );
  }
  const count = (e: SbomPackage['ecosystem']) => packages.filter((p) => p.ecosystem === e).length;
  ctx.report.system(
    `SBOM: ${count('deb')} deb, ${count('pypi')} pypi, ${count('npm')} npm, ${count('generic')} toolchain files`,
  );
  const statement = provenanceStatement({
    subject,
    specText: job.specText,
    catalogEntry: entry,
    baseRoot: {
      uri: `joblet-base:${entry.distro}/${i.base.meta.suite}/${i.base.meta.arch}`,
      meta: { ...i.base.meta },
    },
    toolchainFiles: files,
    resolved: i.resolved,
    workerName: config.workerName,
    buildId: job.buildId,
    startedOn: i.startedOn,
    finishedOn: new Date(),
  });
  const json = (v: unknown) => Buffer.from(`${JSON.stringify(v, null, 2)}\n`, 'utf8');
  return {
    sboms: [
      { kind: 'sbom-spdx', body: json(spdxDocument(subject, packages)) },
      { kind: 'sbom-cyclonedx', body: json(cyclonedxBom(subject, packages)) },
    ],
    statement: Buffer.from(JSON.stringify(statement), 'utf8'),
  };
}
