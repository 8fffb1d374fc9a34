/**
 * DSSE envelopes (https://github.com/secure-systems-lab/dsse, protocol v1) signed with the
 * farm's Ed25519 keys (the manifest-signing keys, see signing-keys.ts). What is signed is the
 * pre-authentication encoding (PAE) of the payload type and body —
 *   "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 * with LEN the byte length in ASCII decimal — so a signature binds the type too, and a
 * signature over a manifest payload is never valid for an envelope or the other way round.
 */
import { sign, verify } from 'node:crypto';
import { z } from 'zod';
import { shortKeyId } from '../manifest/manifest-signature.js';
import type { SigningKey, TrustedKey } from '../manifest/signing-keys.js';

/** The payload type of in-toto statements. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** A DSSE envelope as JSON. Loose lengths, strict shape: malformed ones are refused by name. */
export const DsseEnvelope = z.object({
  payload: z.string().max(16 * 1024 * 1024),
  payloadType: z.string().max(256),
  signatures: z.array(z.object({ keyid: z.string().max(128), sig: z.string().max(512) })).max(16),
});
export type DsseEnvelope = z.infer<typeof DsseEnvelope>;

/** The bytes a DSSE signature covers. */
export function pae(payloadType: string, body: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'utf8'),
    type,
    Buffer.from(` ${body.length} `, 'utf8'),
    body,
  ]);
}

/** An envelope of `body` signed by every key of `keys` (at least one). */
export function signEnvelope(
  payloadType: string,
  body: Buffer,
  keys: readonly SigningKey[],
): DsseEnvelope {
  if (keys.length === 0) throw new Error('no signing key: a DSSE envelope needs a signature');
  const bytes = pae(payloadType, body);
  return {
    payload: body.toString('base64'),
    payloadType,
    signatures: keys.map((k) => ({
      keyid: k.keyId,
      sig: sign(null, bytes, k.privateKey).toString('base64'),
    })),
  };
}

export type EnvelopeVerification =
  { ok: true; keyId: string; payload: Buffer } | { ok: false; reason: string };

/** Strict base64 (what `Buffer.toString('base64')` writes): anything else is not ours. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Valid when the envelope has the expected payload type and at least one signature by a key
 * of `trusted` verifies over its PAE. Anything else is refused with the reason: not an
 * envelope, another payload type, no signature, only unknown keys, or signatures that do not
 * verify (a changed payload, type or signature).
 */
export function verifyEnvelope(
  raw: unknown,
  trusted: readonly TrustedKey[],
  expectedType: string = IN_TOTO_PAYLOAD_TYPE,
): EnvelopeVerification {
  const parsed = DsseEnvelope.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      reason: `not a DSSE envelope (${issue?.path.join('.') || 'document'}: ${issue?.message ?? 'invalid'})`,
    };
  }
  const env = parsed.data;
  if (env.payloadType !== expectedType) {
    return {
      ok: false,
      reason: `payloadType is ${JSON.stringify(env.payloadType)}, expected ${JSON.stringify(expectedType)}`,
    };
  }
  if (!BASE64.test(env.payload)) return { ok: false, reason: 'payload is not base64' };
  if (env.signatures.length === 0) return { ok: false, reason: 'the envelope is not signed' };
  const body = Buffer.from(env.payload, 'base64');
  const bytes = pae(env.payloadType, body);
  const seen: string[] = [];
  for (const s of env.signatures) {
    const key = trusted.find((k) => k.keyId === s.keyid);
    const sig = Buffer.from(s.sig, 'base64');
    if (!key) seen.push(`${shortKeyId(s.keyid)} (not a trusted key)`);
    else if (sig.length === 64 && BASE64.test(s.sig) && verifies(bytes, key, sig))
      return { ok: true, keyId: key.keyId, payload: body };
    else seen.push(`${shortKeyId(s.keyid)} (signature does not verify)`);
  }
  return { ok: false, reason: `no valid signature by a trusted key: ${seen.join(', ')}` };
}

function verifies(bytes: Buffer, key: TrustedKey, sig: Buffer): boolean {
  try {
    return verify(null, bytes, key.publicKey, sig);
  } catch {
    return false;
  }
}
