/**
 * The publisher's part of an artifact's attachments: the SBOMs are copied from staging to
 * their final keys (verified against the sha256 the staged manifest lists), and the staged
 * provenance statement is checked against the artifact, signed with the farm's keys as a DSSE
 * envelope and stored beside them. Returns the manifest's full attachment list, which the
 * manifest signature then covers.
 */
import { createHash } from 'node:crypto';
import {
  ATTACHMENT_FILES,
  IN_TOTO_PAYLOAD_TYPE,
  ProvenanceStatement,
  signEnvelope,
  type ArtifactManifest,
  type ManifestAttachment,
  type SigningKey,
} from '@joblet/artifact';
import {
  runtimeAttachmentKey,
  stagingAttachmentKey,
  withRetry,
  type ArtifactStore,
} from '@joblet/storage';
import { STATEMENT_STAGING_FILE } from '../build/attest.step.js';

/** Largest staged statement read back (bytes): a statement with thousands of packages is ~1 MB. */
const MAX_STATEMENT_BYTES = 32 * 1024 * 1024;

export async function promoteAttachments(
  store: ArtifactStore,
  buildId: string,
  manifest: ArtifactManifest,
  keys: readonly SigningKey[],
): Promise<ManifestAttachment[]> {
  const { name, version, arch } = manifest;
  const out: ManifestAttachment[] = [];
  for (const a of manifest.attachments ?? []) {
    if (a.kind === 'provenance') continue; // signed here, never taken from staging
    const file = ATTACHMENT_FILES[a.kind];
    await withRetry(() =>
      store.copy(
        stagingAttachmentKey(buildId, arch, file),
        runtimeAttachmentKey(name, version, arch, file),
        {
          expectedSha256: a.sha256,
        },
      ),
    );
    out.push(a);
  }
  const raw = await withRetry(() =>
    store
      .getBuffer(stagingAttachmentKey(buildId, arch, STATEMENT_STAGING_FILE), MAX_STATEMENT_BYTES)
      .catch((err: unknown) => {
        if ((err as { code?: string }).code === 'NOT_FOUND') return undefined;
        throw err;
      }),
  );
  // A build of an older worker stages none: its artifact is published without provenance.
  if (raw === undefined) return out;
  const statement = ProvenanceStatement.parse(JSON.parse(raw.toString('utf8')));
  const digests = statement.subject.map((s) => s.digest.sha256);
  if (!digests.includes(manifest.sha256) || !digests.includes(manifest.treeHash)) {
    throw new Error(`the staged ${arch} provenance statement is not about this artifact`);
  }
  const envelope = Buffer.from(
    `${JSON.stringify(signEnvelope(IN_TOTO_PAYLOAD_TYPE, raw, keys), null, 2)}\n`,
    'utf8',
  );
  const sha256 = createHash('sha256').update(envelope).digest('hex');
  await withRetry(() =>
    store.put(runtimeAttachmentKey(name, version, arch, ATTACHMENT_FILES.provenance), envelope, {
      expectedSha256: sha256,
      contentType: 'application/json',
    }),
  );
  out.push({ kind: 'provenance', sha256, size: envelope.length });
  return out;
}
