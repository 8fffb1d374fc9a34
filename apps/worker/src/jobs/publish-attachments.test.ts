/**
 * The publisher's handling of SBOMs and provenance, on a real directory store: SBOMs are copied
 * only when they hash to what the staged manifest lists, the staged statement is signed into a
 * DSSE envelope that verifies with the publisher's key, and a statement about another artifact
 * is refused.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ATTACHMENT_FILES,
  generateSigningKeyPair,
  parseSigningKey,
  parseTrustedKey,
  provenanceStatement,
  verifyEnvelope,
  type ArtifactManifest,
} from '@joblet/artifact';
import {
  createArtifactStore,
  runtimeAttachmentKey,
  stagingAttachmentKey,
  type ArtifactStore,
} from '@joblet/storage';
import { makeTempDir, uniqueName, type TempDir } from '@joblet/testkit';
import { STATEMENT_STAGING_FILE } from '../build/attest.step.js';
import { promoteAttachments } from './publish-attachments.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let tmp: TempDir;
let store: ArtifactStore;
beforeAll(async () => {
  tmp = await makeTempDir('worker-attach');
  store = createArtifactStore(`file://${tmp.path}/store`);
  await store.ensureReady();
});
afterAll(async () => {
  await store.close();
  await tmp.cleanup();
});

const pair = generateSigningKeyPair();
const key = parseSigningKey(pair.privateKeyPem);

async function stage(name: string, opts: { statementSha?: string } = {}) {
  const buildId = uniqueName('b');
  const spdx = Buffer.from('{"spdxVersion":"SPDX-2.3"}\n');
  const manifest = {
    name,
    version: '1.0.0',
    arch: 'amd64',
    sha256: 'a'.repeat(64),
    treeHash: 'b'.repeat(64),
    attachments: [{ kind: 'sbom-spdx', sha256: sha(spdx), size: spdx.length }],
  } as unknown as ArtifactManifest;
  await store.put(stagingAttachmentKey(buildId, 'amd64', ATTACHMENT_FILES['sbom-spdx']), spdx);
  const statement = provenanceStatement({
    subject: {
      name,
      version: '1.0.0',
      arch: 'amd64',
      sha256: opts.statementSha ?? 'a'.repeat(64),
      treeHash: 'b'.repeat(64),
      buildKey: 'c'.repeat(64),
      builtAt: new Date().toISOString(),
      builderVersion: '2',
    },
    specText: 'x',
    catalogEntry: {},
    baseRoot: { uri: 'joblet-base:debian/bookworm/amd64', meta: {} },
    toolchainFiles: [],
    resolved: { system: [], pip: [], npm: [] },
    workerName: 'w',
    buildId,
    startedOn: new Date(),
    finishedOn: new Date(),
  });
  await store.put(
    stagingAttachmentKey(buildId, 'amd64', STATEMENT_STAGING_FILE),
    JSON.stringify(statement),
  );
  return { buildId, manifest, spdx };
}

describe('promoteAttachments', () => {
  it('copies the SBOMs, signs the statement, and lists every document with its sha256', async () => {
    const { buildId, manifest, spdx } = await stage('att-ok');
    const list = await promoteAttachments(store, buildId, manifest, [key]);
    expect(list.map((a) => a.kind)).toEqual(['sbom-spdx', 'provenance']);
    const copied = await store.getBuffer(
      runtimeAttachmentKey('att-ok', '1.0.0', 'amd64', ATTACHMENT_FILES['sbom-spdx']),
    );
    expect(copied.equals(spdx)).toBe(true);
    const envelope = await store.getBuffer(
      runtimeAttachmentKey('att-ok', '1.0.0', 'amd64', ATTACHMENT_FILES.provenance),
    );
    expect(list[1]).toEqual({ kind: 'provenance', sha256: sha(envelope), size: envelope.length });
    const v = verifyEnvelope(JSON.parse(envelope.toString()), [parseTrustedKey(pair.publicKeyPem)]);
    expect(v).toMatchObject({ ok: true, keyId: pair.keyId });
  });

  it('refuses an SBOM changed in staging (it no longer hashes to what the manifest lists)', async () => {
    const { buildId, manifest } = await stage('att-changed');
    await store.put(
      stagingAttachmentKey(buildId, 'amd64', ATTACHMENT_FILES['sbom-spdx']),
      '{"spdxVersion":"SPDX-2.2"}\n',
    );
    await expect(promoteAttachments(store, buildId, manifest, [key])).rejects.toThrow(
      /sha256|checksum/i,
    );
    expect(
      await store.exists(
        runtimeAttachmentKey('att-changed', '1.0.0', 'amd64', ATTACHMENT_FILES['sbom-spdx']),
      ),
    ).toBe(false);
  });

  it('refuses a statement about another artifact', async () => {
    const { buildId, manifest } = await stage('att-other', { statementSha: 'f'.repeat(64) });
    await expect(promoteAttachments(store, buildId, manifest, [key])).rejects.toThrow(
      'the staged amd64 provenance statement is not about this artifact',
    );
  });
});
