/**
 * What a runtime contains and how it was built, end to end through the real `rnx` binary: one
 * runtime with an apt, a pip and an npm package is built once; its SBOMs (SPDX 2.3, CycloneDX
 * 1.5) list each of them with its version, `runtime info` and `runtime list --with-package`
 * answer from them, and its provenance verifies with the farm's key — and stops verifying,
 * with a clear error, once a byte of it is changed in the store.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArtifactManifest,
  ATTACHMENT_FILES,
  readTrustedKeyFile,
  verifyManifestSignatures,
} from '@joblet/artifact';
import {
  createArtifactStore,
  runtimeAttachmentKey,
  runtimeManifestKey,
  type ArtifactStore,
} from '@joblet/storage';
import { startFarm, type Farm } from './farm-fixture.js';

const NAME = 'e2e-sbom';
const SPEC = `schema_version: "1.0"
name: ${NAME}
version: 1.0.0
description: SBOM and provenance test runtime
base:
  language: python
  version: "3.11"
apt:
  - python3-six
pip:
  - joblet-hello
npm:
  - left-pad@1.3.0
`;

/** A real build takes minutes on a loaded 2-core machine. */
const BUILD_WAIT_MS = 900_000;

let farm: Farm;
let store: ArtifactStore;
let build: { code: number; stdout: string; stderr: string };

beforeAll(async () => {
  farm = await startFarm();
  store = createArtifactStore(farm.s3.url(farm.bucket));
  const specFile = join(farm.tmp.path, 'runtime.yaml');
  await writeFile(specFile, SPEC);
  build = await farm.rnx(['runtime', 'build', specFile], { timeoutMs: BUILD_WAIT_MS });
}, BUILD_WAIT_MS + 300_000);

afterAll(async () => {
  await store?.close();
  await farm?.down();
}, 120_000);

interface SpdxDoc {
  spdxVersion: string;
  dataLicense: string;
  SPDXID: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: {
    SPDXID: string;
    name: string;
    versionInfo: string;
    downloadLocation: string;
    externalRefs: { referenceType: string; referenceLocator: string }[];
  }[];
}

interface CdxDoc {
  bomFormat: string;
  specVersion: string;
  serialNumber: string;
  components: { name: string; group?: string; version: string; purl: string }[];
}

describe('runtime SBOMs and provenance', () => {
  it('builds the runtime', () => {
    expect(build.code, `${build.stdout}\n${build.stderr}`).toBe(0);
  });

  it('rnx runtime sbom prints an SPDX 2.3 document listing the apt, pip and npm packages with versions', async () => {
    const r = await farm.rnx(['runtime', 'sbom', NAME, '--arch', 'amd64']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as SpdxDoc;
    expect(doc).toMatchObject({
      spdxVersion: 'SPDX-2.3',
      dataLicense: 'CC0-1.0',
      SPDXID: 'SPDXRef-DOCUMENT',
    });
    expect(doc.documentNamespace).toMatch(
      /^https:\/\/joblet\.dev\/spdx\/e2e-sbom\/1\.0\.0\/amd64\/[0-9a-f-]{36}$/,
    );
    expect(doc.creationInfo.creators[0]).toMatch(/^Tool: joblet-runtime-farm-/);
    for (const p of doc.packages) {
      expect(p.SPDXID).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
      expect(p.versionInfo).not.toBe('');
      expect(p.downloadLocation).not.toBe('');
      expect(p.externalRefs[0]?.referenceType).toBe('purl');
    }
    const purls = doc.packages.map((p) => p.externalRefs[0]!.referenceLocator);
    expect(purls).toContain('pkg:pypi/joblet-hello@0.1.0');
    expect(purls).toContain('pkg:npm/left-pad@1.3.0');
    expect(purls.some((p) => /^pkg:deb\/debian\/python3-six@[^?]+\?arch=all$/.test(p))).toBe(true);
    expect(purls.some((p) => /^pkg:deb\/debian\/libc6@2\.\d+[^?]*\?arch=amd64$/.test(p))).toBe(
      true,
    );
  });

  it('rnx runtime sbom --format cyclonedx prints a CycloneDX 1.5 BOM of the same packages', async () => {
    const r = await farm.rnx(['runtime', 'sbom', NAME, '--format', 'cyclonedx']);
    expect(r.code).toBe(0);
    const bom = JSON.parse(r.stdout) as CdxDoc;
    expect(bom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.5' });
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(bom.components.find((c) => c.purl === 'pkg:npm/left-pad@1.3.0')?.version).toBe('1.3.0');
    expect(bom.components.find((c) => c.name === 'joblet-hello')?.version).toBe('0.1.0');
    const bad = await farm.rnx(['runtime', 'sbom', NAME, '--format', 'xml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--format must be one of spdx, cyclonedx');
  });

  it('the signed manifest lists each document with its sha256', async () => {
    const manifest = ArtifactManifest.parse(
      await store.getJson(runtimeManifestKey(NAME, '1.0.0', 'amd64')),
    );
    const farmKey = readTrustedKeyFile(join(farm.dir, 'signing', 'farm.pub.pem'));
    expect(verifyManifestSignatures(manifest, [farmKey]).ok).toBe(true);
    expect(manifest.attachments?.map((a) => a.kind).sort()).toEqual([
      'provenance',
      'sbom-cyclonedx',
      'sbom-spdx',
    ]);
    for (const a of manifest.attachments!) {
      const bytes = await store.getBuffer(
        runtimeAttachmentKey(NAME, '1.0.0', 'amd64', ATTACHMENT_FILES[a.kind]),
      );
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(a.sha256);
    }
  });

  it('rnx runtime info lists the package versions', async () => {
    const r = await farm.rnx(['runtime', 'info', NAME]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Packages \(SBOM, amd64\): \d+ deb, \d+ pypi, \d+ npm, 0 toolchain/m);
    expect(r.stdout).toMatch(/^ {2}pypi +joblet-hello +0\.1\.0$/m);
    expect(r.stdout).toMatch(/^ {2}npm +left-pad +1\.3\.0$/m);
    expect(r.stdout).toMatch(/^ {2}deb +python3-six +\S+$/m);
  });

  it('rnx runtime list --with-package says which runtimes ship a package, at which versions', async () => {
    const pad = await farm.rnx(['runtime', 'list', '--with-package', 'left-pad']);
    expect(pad.code).toBe(0);
    expect(pad.stdout).toMatch(
      new RegExp(`^${NAME} +1\\.0\\.0 +amd64 +npm +left-pad +1\\.3\\.0$`, 'm'),
    );
    // openssl: Debian ships it as libssl3 (source package openssl), found by its source.
    const ssl = await farm.rnx(['runtime', 'list', '--with-package', 'openssl']);
    expect(ssl.code).toBe(0);
    expect(ssl.stdout).toMatch(
      new RegExp(`^${NAME} +1\\.0\\.0 +amd64 +deb +libssl3 +3\\.\\S+$`, 'm'),
    );
    const none = await farm.rnx(['runtime', 'list', '--with-package', 'no-such-package']);
    expect(none.code).toBe(0);
    expect(none.stderr).toContain(
      "no published runtime's SBOM lists a package named no-such-package",
    );
  });

  it('rnx runtime provenance --verify checks it with the farm key and names the key', async () => {
    const farmKey = readTrustedKeyFile(join(farm.dir, 'signing', 'farm.pub.pem'));
    const r = await farm.rnx(['runtime', 'provenance', NAME, '--verify']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `✓ the provenance of ${NAME}@1.0.0 (amd64) verified: signed by key ${farmKey.keyId}`,
    );
    expect(r.stdout).toMatch(/^ {2}builder +https:\/\/joblet\.dev\/builders\/.+\/amd64$/m);
    const statement = JSON.parse((await farm.rnx(['runtime', 'provenance', NAME])).stdout) as {
      predicateType: string;
      subject: { digest: { sha256: string } }[];
    };
    expect(statement.predicateType).toBe('https://slsa.dev/provenance/v1');
  });

  it('a changed byte of the provenance fails verification with a clear error', async () => {
    const key = runtimeAttachmentKey(NAME, '1.0.0', 'amd64', ATTACHMENT_FILES.provenance);
    const envelope = JSON.parse((await store.getBuffer(key)).toString()) as { payload: string };
    const payload = Buffer.from(envelope.payload, 'base64');
    const at = payload.indexOf('"predicateType"');
    payload[at + 1] = 'P'.charCodeAt(0);
    const tampered = Buffer.from(
      JSON.stringify({ ...envelope, payload: payload.toString('base64') }, null, 2),
    );
    await store.put(key, tampered);
    // The server refuses a document whose sha256 is not the one the signed manifest lists.
    const served = await farm.rnx(['runtime', 'provenance', NAME, '--verify']);
    expect(served.code).not.toBe(0);
    expect(served.stderr).toContain('does not match the sha256 its signed manifest lists');
    // Rewrite the manifest's list to match, as someone with write access to the store could:
    // the envelope's own signature is then what refuses it.
    const mKey = runtimeManifestKey(NAME, '1.0.0', 'amd64');
    const manifest = ArtifactManifest.parse(await store.getJson(mKey));
    const sha256 = createHash('sha256').update(tampered).digest('hex');
    await store.putJson(mKey, {
      ...manifest,
      attachments: manifest.attachments!.map((a) =>
        a.kind === 'provenance' ? { ...a, sha256, size: tampered.length } : a,
      ),
    });
    const r = await farm.rnx(['runtime', 'provenance', NAME, '--verify']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /the provenance of e2e-sbom@1\.0\.0 \(amd64\) does not verify: no valid signature by a trusted key: [0-9a-f]{16}… \(signature does not verify\)/,
    );
  });
});
