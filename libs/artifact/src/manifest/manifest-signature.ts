/**
 * Signatures of artifact manifests. The publisher signs, agents verify before they download, so
 * an artifact replaced in the store — even with a manifest whose checksums were updated to match —
 * is refused unless whoever replaced it also holds a signing key.
 *
 * What is signed (the payload): the UTF-8 bytes of this JSON, keys in exactly this order, no
 * whitespace —
 *   {"type":"joblet-runtime-manifest/v1","name":…,"version":…,"arch":…,"sha256":…,"size":…,
 *    "treeHash":…,"treeBytes":…,"buildKey":…,"builtAt":…}
 * The `type` keeps a signature from being valid for any other document signed with the same
 * key. A manifest with attachments (SBOMs, provenance) is signed as
 * `joblet-runtime-manifest/v2`: the same fields, then
 *   "attachments":[{"kind":…,"sha256":…,"size":…},…]  (sorted by kind)
 * so the documents beside the archive are covered too, and a manifest stripped of its
 * attachments no longer matches its signature. Ed25519 (node:crypto) signs the payload itself (no pre-hash).
 */
import { sign, verify } from 'node:crypto';
import type { ArtifactManifest, ManifestAttachment, ManifestSignature } from './manifest.js';
import { SIGNATURE_ALG, type SigningKey, type TrustedKey } from './signing-keys.js';

export const MANIFEST_SIGNATURE_TYPE = 'joblet-runtime-manifest/v1';
/** The payload type of manifests with attachments. */
export const MANIFEST_SIGNATURE_TYPE_V2 = 'joblet-runtime-manifest/v2';

/** The manifest fields a signature covers. */
export type SignedManifestFields = Pick<
  ArtifactManifest,
  | 'name'
  | 'version'
  | 'arch'
  | 'sha256'
  | 'size'
  | 'treeHash'
  | 'treeBytes'
  | 'buildKey'
  | 'builtAt'
> & { attachments?: readonly ManifestAttachment[] | undefined };

/** The exact bytes that are signed (see the top of this file). */
export function manifestSigningPayload(m: SignedManifestFields): Buffer {
  // Built field by field: the order is the one above, whatever the manifest object's order.
  const attachments = [...(m.attachments ?? [])].sort((a, b) =>
    a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0,
  );
  const payload = {
    type: attachments.length > 0 ? MANIFEST_SIGNATURE_TYPE_V2 : MANIFEST_SIGNATURE_TYPE,
    name: m.name,
    version: m.version,
    arch: m.arch,
    sha256: m.sha256,
    size: m.size,
    treeHash: m.treeHash,
    treeBytes: m.treeBytes,
    buildKey: m.buildKey,
    builtAt: m.builtAt,
    ...(attachments.length > 0 && {
      attachments: attachments.map((a) => ({ kind: a.kind, sha256: a.sha256, size: a.size })),
    }),
  };
  return Buffer.from(JSON.stringify(payload), 'utf8');
}

/** One signature per key, over the manifest's payload. */
export function signManifest(
  m: SignedManifestFields,
  keys: readonly SigningKey[],
): ManifestSignature[] {
  const payload = manifestSigningPayload(m);
  return keys.map((k) => ({
    alg: SIGNATURE_ALG,
    keyId: k.keyId,
    sig: sign(null, payload, k.privateKey).toString('base64'),
  }));
}

/** The manifest with its signatures replaced by ones made with `keys`. */
export function withManifestSignatures<M extends SignedManifestFields>(
  m: M,
  keys: readonly SigningKey[],
): M & { signatures: ManifestSignature[] } {
  return { ...m, signatures: signManifest(m, keys) };
}

export type ManifestVerification =
  | { ok: true; keyId: string }
  | {
      ok: false;
      /** Why, for an operator: which signatures there are and why none counts. */
      reason: string;
    };

/** A key id shortened for messages: its first 16 hex digits (the full id is in the manifest). */
export function shortKeyId(keyId: string): string {
  return keyId.length > 16 ? `${keyId.slice(0, 16)}…` : keyId;
}

/**
 * Valid when at least one signature is an Ed25519 signature, by one of `trusted`, that verifies
 * over the payload. Signatures by other keys are ignored (a manifest signed by both the old and
 * the new key during a rotation is valid for agents that trust either).
 */
export function verifyManifestSignatures(
  m: SignedManifestFields & { signatures?: readonly ManifestSignature[] | undefined },
  trusted: readonly TrustedKey[],
): ManifestVerification {
  const signatures = m.signatures ?? [];
  if (signatures.length === 0) return { ok: false, reason: 'carries no signature' };
  const payload = manifestSigningPayload(m);
  const seen: string[] = [];
  for (const s of signatures) {
    const key = trusted.find((k) => k.keyId === s.keyId);
    if (s.alg !== SIGNATURE_ALG) {
      seen.push(`${shortKeyId(s.keyId)} (algorithm ${JSON.stringify(s.alg)} not supported)`);
    } else if (!key) {
      seen.push(`${shortKeyId(s.keyId)} (not a trusted key)`);
    } else if (verifies(payload, key, s.sig)) {
      return { ok: true, keyId: key.keyId };
    } else {
      seen.push(`${shortKeyId(s.keyId)} (signature does not verify)`);
    }
  }
  return { ok: false, reason: `has no valid signature by a trusted key: ${seen.join(', ')}` };
}

function verifies(payload: Buffer, key: TrustedKey, sigBase64: string): boolean {
  const sig = Buffer.from(sigBase64, 'base64');
  if (sig.length !== 64) return false; // Ed25519 signatures are 64 bytes
  try {
    return verify(null, payload, key.publicKey, sig);
  } catch {
    return false;
  }
}
