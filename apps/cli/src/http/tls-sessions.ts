/**
 * TLS session resumption across `rnx` processes. Every `rnx` command is a new process, so without
 * this each one makes a full mTLS handshake (certificate signatures both ways, ~3.5 ms at p50 on
 * this farm's benchmark); resuming the last session's ticket makes it an abbreviated one (~1.5 ms),
 * which is what a CI script calling `rnx` in a loop sees. The server still knows the client's
 * certificate (and so its role) on a resumed session: it is part of the session.
 *
 * A session ticket is as good as the client key for as long as the server accepts it (the API's
 * default ticket lifetime is 5 minutes), so it is kept like the key: a file readable by its owner
 * only (0600, directory 0700), one per (server URL, CA, client certificate), written atomically.
 * A missing, unreadable, stale or foreign ticket only costs a full handshake. `RNX_TLS_SESSIONS`
 * moves the directory, or turns the cache `off`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerConfig } from '../config.js';

/** Tickets larger than this are not written (a normal TLS 1.3 ticket with a client cert: ~1.5 KB). */
const MAX_TICKET_BYTES = 64 * 1024;

/** The file holding the ticket for this server and identity. */
export function sessionFile(dir: string, server: ServerConfig): string {
  const h = createHash('sha256');
  h.update(new URL(server.url).origin);
  h.update('\0');
  if (server.ca) h.update(server.ca.pem);
  h.update('\0');
  if (server.cert) h.update(server.cert.pem);
  return join(dir, `${h.digest('hex').slice(0, 32)}.tls-session`);
}

/** The saved ticket, if there is a usable one. */
export function loadSession(dir: string, server: ServerConfig): Buffer | undefined {
  try {
    const buf = readFileSync(sessionFile(dir, server));
    return buf.length > 0 && buf.length <= MAX_TICKET_BYTES ? buf : undefined;
  } catch {
    return undefined;
  }
}

/** Saves a ticket the server sent; failures are ignored (the cache is an optimisation). */
export function saveSession(dir: string, server: ServerConfig, ticket: Buffer): void {
  if (ticket.length === 0 || ticket.length > MAX_TICKET_BYTES) return;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = sessionFile(dir, server);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, ticket, { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // a read-only home, a full disk: the next command makes a full handshake
  }
}
