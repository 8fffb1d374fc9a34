/**
 * The provenance of one runtime artifact: an in-toto Statement v1
 * (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md) whose predicate is
 * SLSA build provenance v1 (https://slsa.dev/spec/v1.0/provenance). The subjects are the
 * archive (its sha256) and the packed tree (its tree hash); the build definition names the
 * spec (by digest), the catalog entry, the base root snapshot and every resolved version; the
 * run details name the worker and architecture that built it and when.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ArtifactSubject } from '../sbom/subject.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_TYPE = 'https://slsa.dev/provenance/v1';
/** What a build of this farm means: the URI names the build type, the docs say what it does. */
export const JOBLET_BUILD_TYPE = 'https://joblet.dev/runtime-build/v1';
/** Builder ids: `<prefix><worker name>/<arch>`. */
export const JOBLET_BUILDER_PREFIX = 'https://joblet.dev/builders/';

const Digest = z.record(z.string(), z.string());
const ResourceDescriptor = z.object({
  uri: z.string().optional(),
  name: z.string().optional(),
  digest: Digest.optional(),
  annotations: z.record(z.string(), z.unknown()).optional(),
});
export type ResourceDescriptor = z.infer<typeof ResourceDescriptor>;

/** A statement as read back (verification checks the shape before anything is trusted). */
export const ProvenanceStatement = z.object({
  _type: z.literal(STATEMENT_TYPE),
  subject: z
    .array(
      z.object({
        name: z.string(),
        digest: Digest,
        annotations: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .min(1),
  predicateType: z.literal(SLSA_PROVENANCE_TYPE),
  predicate: z.object({
    buildDefinition: z.object({
      buildType: z.string(),
      externalParameters: z.record(z.string(), z.unknown()),
      internalParameters: z.record(z.string(), z.unknown()).optional(),
      resolvedDependencies: z.array(ResourceDescriptor).optional(),
    }),
    runDetails: z.object({
      builder: z.object({ id: z.string(), version: z.record(z.string(), z.string()).optional() }),
      metadata: z
        .object({
          invocationId: z.string().optional(),
          startedOn: z.string().optional(),
          finishedOn: z.string().optional(),
        })
        .optional(),
    }),
  }),
});
export type ProvenanceStatement = z.infer<typeof ProvenanceStatement>;

export interface ProvenanceInput {
  subject: ArtifactSubject;
  /** The runtime.yaml text as submitted. */
  specText: string;
  /** The catalog entry the build used (any JSON value: it is recorded as it is). */
  catalogEntry: Record<string, unknown>;
  /** The base root snapshot: what it is and its metadata (suite, arch, mirror, created, …). */
  baseRoot: { uri: string; meta: Record<string, unknown> };
  /** Upstream toolchain files, by URL and sha256. */
  toolchainFiles: { url: string; sha256: string }[];
  /** Resolved versions as runtime.yml records them (dpkg `n=v`, pip `n==v`, npm `n@v`). */
  resolved: { system: string[]; pip: string[]; npm: string[] };
  workerName: string;
  buildId: string;
  startedOn: Date;
  finishedOn: Date;
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The archive's subject name, as the store keeps it beside its manifest. */
export function archiveSubjectName(s: Pick<ArtifactSubject, 'name' | 'version' | 'arch'>): string {
  return `${s.name}@${s.version}/${s.arch}/runtime.tar.zst`;
}

/** The packed tree's subject name (its digest is the tree hash). */
export function treeSubjectName(s: Pick<ArtifactSubject, 'name' | 'version' | 'arch'>): string {
  return `${s.name}@${s.version}/${s.arch}/tree`;
}

export function provenanceStatement(i: ProvenanceInput): ProvenanceStatement {
  const s = i.subject;
  return {
    _type: STATEMENT_TYPE,
    subject: [
      { name: archiveSubjectName(s), digest: { sha256: s.sha256 } },
      // The tree hash is a sha256 over the sorted tree listing (tree-hash.ts), not over a file.
      {
        name: treeSubjectName(s),
        digest: { sha256: s.treeHash },
        annotations: { kind: 'joblet-tree-hash' },
      },
    ],
    predicateType: SLSA_PROVENANCE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: JOBLET_BUILD_TYPE,
        externalParameters: {
          spec: { name: s.name, version: s.version, digest: { sha256: sha256Hex(i.specText) } },
          arch: s.arch,
        },
        internalParameters: {
          catalogEntry: i.catalogEntry,
          buildKey: s.buildKey,
          builderVersion: s.builderVersion,
        },
        resolvedDependencies: [
          {
            uri: i.baseRoot.uri,
            // The snapshot is named by its metadata (suite, arch, mirror, creation time).
            digest: { sha256: sha256Hex(JSON.stringify(i.baseRoot.meta)) },
            annotations: { kind: 'base-root', ...i.baseRoot.meta },
          },
          ...i.toolchainFiles.map((f) => ({ uri: f.url, digest: { sha256: f.sha256 } })),
          ...i.resolved.system.map((p) => ({ name: p, annotations: { kind: 'dpkg' } })),
          ...i.resolved.pip.map((p) => ({ name: p, annotations: { kind: 'pip' } })),
          ...i.resolved.npm.map((p) => ({ name: p, annotations: { kind: 'npm' } })),
        ],
      },
      runDetails: {
        builder: {
          id: `${JOBLET_BUILDER_PREFIX}${encodeURIComponent(i.workerName)}/${s.arch}`,
          version: { 'joblet-runtime-farm': s.builderVersion },
        },
        metadata: {
          invocationId: i.buildId,
          startedOn: i.startedOn.toISOString(),
          finishedOn: i.finishedOn.toISOString(),
        },
      },
    },
  };
}
