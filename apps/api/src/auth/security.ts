/**
 * What `buildApp()` needs to serve securely: the auth mode, the TLS material (absent: plain HTTP),
 * the Host names it serves and the request bounds. `securityFromEnv()` reads the PEM files named
 * by API_TLS_*.
 */
import { readFileSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import type { ApiEnv } from '../env.js';
import type { RateLimit } from '../limits/rate-limiter.js';
import type { StreamLimits } from '../limits/stream-slots.js';
import type { AuthMode } from './auth-mode.js';
import { hostPolicy, type HostPolicy } from './host-policy.js';

export interface TlsMaterial {
  cert: string | Buffer;
  key: string | Buffer;
  /** CA(s) that sign client certificates; without it no client certificate is asked for. */
  ca?: string | Buffer;
  /** Fail the handshake without a valid client certificate (API_TLS_REQUIRED). */
  requireClientCert: boolean;
  /** 48 bytes shared by the replicas (API_TLS_TICKET_KEYS_FILE); default: per process. */
  ticketKeys?: Buffer;
  /** Lifetime of a resumable session, seconds (API_TLS_SESSION_TIMEOUT_S); default 300. */
  sessionTimeoutS?: number;
}

export interface SecurityOptions {
  mode: AuthMode;
  tls?: TlsMaterial;
  /** Host header names served (DNS-rebinding protection; see host-policy.ts). */
  hosts: HostPolicy;
  rateLimit: RateLimit;
  streams: StreamLimits;
}

/**
 * What `buildApp()` uses when given nothing — in-process test APIs whose subject is not
 * authentication: plain HTTP, every request the local admin (`API_AUTH=none`, which a real API
 * runs only when its operator sets it), loopback Host names only. The process itself takes its
 * settings from the environment (`securityFromEnv`), whose default is `token`.
 */
export const DEFAULT_SECURITY: SecurityOptions = {
  mode: 'none',
  hosts: { loopback: true, names: [] },
  rateLimit: { requests: 300, windowS: 10 },
  streams: { max: 200, perClient: 8 },
};

/** Node's TLS server options: TLS 1.2 or newer, client certificates per the material. */
export function httpsOptions(tls: TlsMaterial): SecureContextOptions & {
  requestCert: boolean;
  rejectUnauthorized: boolean;
} {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca ? { ca: tls.ca } : {}),
    minVersion: 'TLSv1.2',
    ...(tls.ticketKeys ? { ticketKeys: tls.ticketKeys } : {}),
    ...(tls.sessionTimeoutS !== undefined ? { sessionTimeout: tls.sessionTimeoutS } : {}),
    requestCert: Boolean(tls.ca),
    rejectUnauthorized: Boolean(tls.ca) && tls.requireClientCert,
  };
}

/** Ticket keys from a file holding 48 bytes in base64 (whitespace ignored). */
export function readTicketKeys(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`API_TLS_TICKET_KEYS_FILE: cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const compact = text.replace(/\s+/g, '');
  const keys = Buffer.from(compact, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || keys.length !== 48) {
    throw new Error(
      `API_TLS_TICKET_KEYS_FILE: ${path} must hold 48 bytes in base64 (openssl rand -base64 48), not ${keys.length}`,
    );
  }
  return keys;
}

function readPem(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${variable}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export function securityFromEnv(env: ApiEnv): SecurityOptions {
  return {
    mode: env.API_AUTH,
    tls:
      env.API_TLS_CERT && env.API_TLS_KEY
        ? {
            cert: readPem('API_TLS_CERT', env.API_TLS_CERT),
            key: readPem('API_TLS_KEY', env.API_TLS_KEY),
            ...(env.API_TLS_CA ? { ca: readPem('API_TLS_CA', env.API_TLS_CA) } : {}),
            requireClientCert: env.API_TLS_REQUIRED,
            ...(env.API_TLS_TICKET_KEYS_FILE
              ? { ticketKeys: readTicketKeys(env.API_TLS_TICKET_KEYS_FILE) }
              : {}),
            sessionTimeoutS: env.API_TLS_SESSION_TIMEOUT_S,
          }
        : undefined,
    hosts: hostPolicy(env.API_HOST, env.API_ALLOWED_HOSTS),
    rateLimit: { requests: env.API_RATE_LIMIT_REQUESTS, windowS: env.API_RATE_LIMIT_WINDOW_S },
    streams: { max: env.API_SSE_MAX_STREAMS, perClient: env.API_SSE_MAX_STREAMS_PER_CLIENT },
  };
}
