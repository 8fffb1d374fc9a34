/**
 * TLS and connection failures in words a user can act on. Node reports certificate problems as
 * OpenSSL codes (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`) or alerts the server sent
 * (`ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED`); each maps to what is wrong and what to change.
 */
import { X509Certificate } from 'node:crypto';
import type { ServerConfig } from '../config.js';
import { CliError, ServerUnavailableError } from '../errors.js';
import { EXIT } from '../exit-codes.js';

/** A certificate problem: the connection was refused during the TLS handshake. */
export class TlsError extends CliError {
  override name = 'TlsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.UNAVAILABLE, options);
  }
}

const UNTRUSTED_SERVER = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

function errCode(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } } | undefined;
  return e?.code ?? e?.cause?.code ?? '';
}

/** Maps a failed request to the error `rnx` prints. */
export function explainConnectError(err: unknown, server: ServerConfig): CliError {
  const code = errCode(err);
  const msg = (err as Error | undefined)?.message ?? String(err);
  const at = `${server.url} (from ${server.source})`;
  const clientCert = server.cert
    ? `the client certificate ${server.cert.path}`
    : 'no client certificate';
  if (UNTRUSTED_SERVER.has(code)) {
    return new TlsError(
      server.ca
        ? `the server's certificate is not signed by the CA in ${server.ca.path} (${at}: ${code})`
        : `the server's certificate is not signed by a CA this machine trusts (${at}: ${code}); set ca: in rnx-config.yml or RNX_CA`,
      { cause: err },
    );
  }
  if (code === 'CERT_HAS_EXPIRED')
    return new TlsError(`the server's certificate has expired (${at})`, { cause: err });
  if (code === 'CERT_NOT_YET_VALID')
    return new TlsError(`the server's certificate is not valid yet (${at}); check the clocks`, {
      cause: err,
    });
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return new TlsError(`the server's certificate does not name this host: ${msg}`, { cause: err });
  if (code === 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED')
    return new TlsError(`the server rejected ${clientCert}: expired`, { cause: err });
  if (code === 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA')
    return new TlsError(`the server rejected ${clientCert}: not signed by a CA it trusts (${at})`, {
      cause: err,
    });
  if (
    code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' ||
    (code.includes('ALERT_') && !server.cert)
  )
    return new TlsError(
      `the server requires a client certificate (${at}); set cert: and key: in rnx-config.yml, or RNX_CERT and RNX_KEY`,
      { cause: err },
    );
  if (code.includes('ALERT_BAD_CERTIFICATE') || code.includes('ALERT_CERTIFICATE'))
    return new TlsError(`the server rejected ${clientCert} (${code})`, { cause: err });
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/.test(msg))
    return new ServerUnavailableError(`the server at ${at} does not speak HTTPS; try http://`, {
      cause: err,
    });
  if (code === 'ECONNRESET' && server.url.startsWith('https:') && server.cert) {
    // Node's TLS server drops a connection whose client certificate does not verify, without
    // an alert: a reset right at the start is the only sign.
    return new TlsError(
      `the server closed the connection: it most likely rejected the client certificate ${server.cert.path}` +
        ` (${certHint(server) ?? 'not signed by a CA the server trusts, or revoked'}) (${at})`,
      { cause: err },
    );
  }
  if (code === 'ECONNRESET' && server.url.startsWith('http:'))
    return new ServerUnavailableError(
      `cannot reach the server at ${at}: ECONNRESET (if it serves HTTPS, use https://)`,
      { cause: err },
    );
  const reason = code || msg;
  return new ServerUnavailableError(`cannot reach the server at ${at}: ${reason}`, { cause: err });
}

/** Our own look at the client certificate's dates, before the server says it more vaguely. */
export function checkClientCert(server: ServerConfig, now = Date.now()): void {
  if (!server.cert) return;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(server.cert.pem);
  } catch (err) {
    throw new CliError(
      `${server.cert.path} is not a PEM certificate: ${(err as Error).message}`,
      EXIT.USAGE,
    );
  }
  if (Date.parse(cert.validTo) < now) {
    throw new TlsError(
      `the client certificate ${server.cert.path} expired on ${new Date(cert.validTo).toISOString()}; ask an admin for a new one`,
    );
  }
  if (Date.parse(cert.validFrom) > now) {
    throw new TlsError(
      `the client certificate ${server.cert.path} is not valid until ${new Date(cert.validFrom).toISOString()}`,
    );
  }
}

/** Why the server would refuse our client certificate, when we can tell from here. */
function certHint(server: ServerConfig): string | undefined {
  if (!server.cert || !server.ca) return undefined;
  try {
    const cert = new X509Certificate(server.cert.pem);
    const ca = new X509Certificate(server.ca.pem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey))
      return `it is not signed by the CA in ${server.ca.path}; if the server trusts only that CA, that is why`;
  } catch {
    return undefined;
  }
  return undefined;
}
