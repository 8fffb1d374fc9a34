/**
 * The identity a TLS client certificate proves. Node's TLS layer has verified the chain against
 * API_TLS_CA (`socket.authorized`); here we only read the verdict and the subject: OU names the
 * role, CN the client.
 */
import type { TLSSocket } from 'node:tls';
import { ROLES, type Role } from '@joblet/spec';
import type { Identity } from './identity.js';

export type CertResult =
  | { ok: true; identity: Identity }
  | { ok: false; reason: string }
  /** No certificate on this connection (or not a TLS connection). */
  | { ok: false; reason: undefined };

/** Node's verification codes, in the words a user needs. */
const REASONS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'the client certificate has expired',
  CERT_NOT_YET_VALID: 'the client certificate is not valid yet',
  UNABLE_TO_GET_ISSUER_CERT: 'the client certificate is not signed by the farm’s CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the client certificate is not signed by the farm’s CA',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the client certificate is not signed by the farm’s CA',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the client certificate is self-signed, not signed by the farm’s CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'the client certificate is not signed by the farm’s CA',
  CERT_SIGNATURE_FAILURE: 'the client certificate’s signature does not verify',
  CERT_REVOKED: 'the client certificate is revoked',
};

/** Per connection: a keep-alive connection carries the same certificate for every request. */
const cache = new WeakMap<TLSSocket, CertResult>();

export function certIdentity(socket: TLSSocket): CertResult {
  const hit = cache.get(socket);
  if (hit) return hit;
  const result = readCert(socket);
  cache.set(socket, result);
  return result;
}

function readCert(socket: TLSSocket): CertResult {
  if (typeof socket.getPeerCertificate !== 'function') return { ok: false, reason: undefined };
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return { ok: false, reason: undefined };
  if (!socket.authorized) {
    const code = String(socket.authorizationError ?? 'unverified');
    return {
      ok: false,
      reason: REASONS[code] ?? `the client certificate was not accepted (${code})`,
    };
  }
  const ou = [cert.subject?.OU ?? []].flat();
  const cn = [cert.subject?.CN ?? []].flat()[0] ?? cert.fingerprint256;
  if (ou.length !== 1 || !ROLES.includes(ou[0] as Role)) {
    return {
      ok: false,
      reason: `the client certificate’s OU (${ou.join(', ') || 'none'}) must be exactly one role: ${ROLES.join(', ')}`,
    };
  }
  return { ok: true, identity: { kind: 'cert', subject: cn, role: ou[0] as Role } };
}
