import { sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MANIFEST_SIGNATURE_TYPE,
  manifestSigningPayload,
  signManifest,
  verifyManifestSignatures,
  withManifestSignatures,
  type SignedManifestFields,
} from './manifest-signature.js';
import { generateSigningKeyPair, parseSigningKey, parseTrustedKey } from './signing-keys.js';

function keyPair() {
  const g = generateSigningKeyPair();
  return { signing: parseSigningKey(g.privateKeyPem), trusted: parseTrustedKey(g.publicKeyPem) };
}

const fields: SignedManifestFields = {
  name: 'python-3.11',
  version: '1.2.3',
  arch: 'amd64',
  sha256: 'a'.repeat(64),
  size: 41_000_000,
  treeHash: 'c'.repeat(64),
  treeBytes: 130_000_000,
  buildKey: 'b'.repeat(64),
  builtAt: '2026-01-01T00:00:00.000Z',
};

/** A different value of the same type for every signed field. */
const TAMPERED: { [K in keyof SignedManifestFields]: SignedManifestFields[K] } = {
  name: 'python-3.12',
  version: '1.2.4',
  arch: 'arm64',
  sha256: 'd'.repeat(64),
  size: 41_000_001,
  treeHash: 'e'.repeat(64),
  treeBytes: 130_000_001,
  buildKey: 'f'.repeat(64),
  builtAt: '2026-01-01T00:00:00.001Z',
};

describe('manifest signatures', () => {
  const k1 = keyPair();
  const k2 = keyPair();

  it('sign a fixed-order JSON payload with a type, whatever the object key order', () => {
    const payload = manifestSigningPayload(fields).toString('utf8');
    expect(payload).toBe(
      `{"type":"${MANIFEST_SIGNATURE_TYPE}","name":"python-3.11","version":"1.2.3","arch":"amd64",` +
        `"sha256":"${'a'.repeat(64)}","size":41000000,"treeHash":"${'c'.repeat(64)}",` +
        `"treeBytes":130000000,"buildKey":"${'b'.repeat(64)}","builtAt":"2026-01-01T00:00:00.000Z"}`,
    );
    const reordered = Object.fromEntries(Object.entries(fields).reverse()) as SignedManifestFields;
    expect(manifestSigningPayload(reordered).equals(manifestSigningPayload(fields))).toBe(true);
  });

  it('verify with the signing key, naming it', () => {
    const m = withManifestSignatures(fields, [k1.signing]);
    expect(m.signatures).toEqual([
      { alg: 'ed25519', keyId: k1.signing.keyId, sig: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/) },
    ]);
    expect(verifyManifestSignatures(m, [k1.trusted])).toEqual({
      ok: true,
      keyId: k1.trusted.keyId,
    });
  });

  it.each(Object.keys(TAMPERED) as (keyof SignedManifestFields)[])(
    'fail when %s changed after signing',
    (field) => {
      const m = withManifestSignatures(fields, [k1.signing]);
      const r = verifyManifestSignatures({ ...m, [field]: TAMPERED[field] }, [k1.trusted]);
      expect(r).toEqual({
        ok: false,
        reason: `has no valid signature by a trusted key: ${k1.signing.keyId.slice(0, 16)}… (signature does not verify)`,
      });
    },
  );

  it('fail without a signature, or with signatures by unknown keys only', () => {
    expect(verifyManifestSignatures(fields, [k1.trusted])).toEqual({
      ok: false,
      reason: 'carries no signature',
    });
    expect(verifyManifestSignatures({ ...fields, signatures: [] }, [k1.trusted]).ok).toBe(false);
    const byK2 = withManifestSignatures(fields, [k2.signing]);
    const r = verifyManifestSignatures(byK2, [k1.trusted]);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain(`${k2.signing.keyId.slice(0, 16)}… (not a trusted key)`);
    expect(verifyManifestSignatures(byK2, []).ok).toBe(false);
  });

  it('fail when a signature is by a trusted key id but made with another key', () => {
    const forged = signManifest(fields, [k2.signing]).map((s) => ({
      ...s,
      keyId: k1.signing.keyId,
    }));
    const r = verifyManifestSignatures({ ...fields, signatures: forged }, [k1.trusted]);
    expect(!r.ok && r.reason).toContain('(signature does not verify)');
  });

  it('fail on a malformed signature or an unsupported algorithm, without throwing', () => {
    const good = signManifest(fields, [k1.signing])[0]!;
    for (const bad of [
      { ...good, sig: 'not base64 at all!' },
      { ...good, sig: good.sig.slice(0, 40) },
      { ...good, sig: '' },
    ]) {
      expect(verifyManifestSignatures({ ...fields, signatures: [bad] }, [k1.trusted]).ok).toBe(
        false,
      );
    }
    const rsa = { ...good, alg: 'rsa-sha256' };
    const r = verifyManifestSignatures({ ...fields, signatures: [rsa] }, [k1.trusted]);
    expect(!r.ok && r.reason).toContain('algorithm "rsa-sha256" not supported');
  });

  it('refuse a signature over a payload without the type (another document, same key)', () => {
    const bare = JSON.stringify({ ...fields });
    const sig = sign(null, Buffer.from(bare), k1.signing.privateKey).toString('base64');
    const m = { ...fields, signatures: [{ alg: 'ed25519', keyId: k1.signing.keyId, sig }] };
    expect(verifyManifestSignatures(m, [k1.trusted]).ok).toBe(false);
  });

  it('accept any one valid signature by a trusted key (key rotation)', () => {
    const both = withManifestSignatures(fields, [k1.signing, k2.signing]);
    expect(verifyManifestSignatures(both, [k2.trusted])).toEqual({
      ok: true,
      keyId: k2.trusted.keyId,
    });
    expect(verifyManifestSignatures(both, [k1.trusted, k2.trusted]).ok).toBe(true);
    // A broken signature by one key does not hide a valid one by another.
    const [s1, s2] = both.signatures;
    const broken = { ...s1!, sig: s2!.sig };
    expect(
      verifyManifestSignatures({ ...fields, signatures: [broken, s2!] }, [k1.trusted, k2.trusted])
        .ok,
    ).toBe(true);
  });

  it('cover the attachments: a changed, removed or stripped attachment fails, an old manifest still verifies', () => {
    const attachments = [
      { kind: 'sbom-spdx' as const, sha256: '1'.repeat(64), size: 10 },
      { kind: 'provenance' as const, sha256: '2'.repeat(64), size: 20 },
    ];
    const signed = withManifestSignatures({ ...fields, attachments }, [k1.signing]);
    expect(manifestSigningPayload(signed).toString()).toMatch(
      /^\{"type":"joblet-runtime-manifest\/v2",.*"attachments":\[\{"kind":"provenance",/,
    );
    expect(verifyManifestSignatures(signed, [k1.trusted]).ok).toBe(true);
    // The order of the list is not what is signed; its contents are.
    const reordered = { ...signed, attachments: [...attachments].reverse() };
    expect(verifyManifestSignatures(reordered, [k1.trusted]).ok).toBe(true);
    const changed = {
      ...signed,
      attachments: [{ ...attachments[0]!, sha256: '3'.repeat(64) }, attachments[1]!],
    };
    expect(verifyManifestSignatures(changed, [k1.trusted]).ok).toBe(false);
    expect(
      verifyManifestSignatures({ ...signed, attachments: [attachments[0]!] }, [k1.trusted]).ok,
    ).toBe(false);
    const { attachments: _gone, ...stripped } = signed;
    expect(verifyManifestSignatures(stripped, [k1.trusted]).ok).toBe(false);
    // Manifests of older builds (no attachments) keep the v1 payload.
    expect(manifestSigningPayload(fields).toString()).toMatch(
      /^\{"type":"joblet-runtime-manifest\/v1",/,
    );
  });
});
