/**
 * HTTP(S) requests for `rnx` over node:http / node:https. (fetch cannot take a client certificate
 * without undici's Agent, which Node bundles but does not export, and undici is not installed.)
 * One keep-alive agent per server configuration carries its CA, client certificate and key.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { ServerConfig } from '../config.js';
import { ServerUnavailableError, UsageError } from '../errors.js';
import { checkClientCert, explainConnectError } from './tls-errors.js';
import { loadSession, saveSession } from './tls-sessions.js';

export interface HttpRequest {
  method: string;
  /** Path and query, resolved against the server URL. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export interface HttpResponse {
  url: string;
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  /** The body stream: read it (`text()`, or iterate) or destroy it. */
  body: IncomingMessage;
}

const agents = new WeakMap<ServerConfig, http.Agent>();

function agentFor(server: ServerConfig, tls: boolean): http.Agent {
  let agent = agents.get(server);
  if (!agent) {
    checkClientCert(server);
    agent = tls
      ? new https.Agent({
          keepAlive: true,
          // Parsed once for every connection of this agent (an SSE reconnect, a follow-up call).
          secureContext: createSecureContext({
            minVersion: 'TLSv1.2',
            ...(server.ca ? { ca: server.ca.pem } : {}),
            ...(server.cert && server.key ? { cert: server.cert.pem, key: server.key.pem } : {}),
          }),
        })
      : new http.Agent({ keepAlive: true });
    agents.set(server, agent);
  }
  return agent;
}

/** The newest TLS session ticket per server: from disk at first, then what the server sent. */
const tickets = new WeakMap<ServerConfig, Buffer | undefined>();
const watched = new WeakSet<object>();

function ticketFor(server: ServerConfig): Buffer | undefined {
  if (!server.tlsSessionDir) return undefined;
  if (!tickets.has(server)) tickets.set(server, loadSession(server.tlsSessionDir, server));
  return tickets.get(server);
}

/** Keeps every ticket a new connection receives, for the next connection and the next command. */
function keepTickets(server: ServerConfig, socket: NodeJS.EventEmitter): void {
  const dir = server.tlsSessionDir;
  if (!dir || watched.has(socket)) return;
  watched.add(socket);
  socket.on('session', (ticket: Buffer) => {
    tickets.set(server, ticket);
    saveSession(dir, server, ticket);
  });
}

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

export function send(server: ServerConfig, req: HttpRequest): Promise<HttpResponse> {
  const url = new URL(req.path, server.url);
  const tls = url.protocol === 'https:';
  if (!tls && url.protocol !== 'http:')
    throw new UsageError(`${server.url} (from ${server.source}): only http:// and https:// URLs`);
  if (server.token && !tls && !isLoopback(url.hostname)) {
    throw new UsageError(
      `refusing to send the token from ${server.token.source} over plain HTTP to ${url.host}; use https://`,
    );
  }
  // Every request says it comes from a program, not a web page: the API refuses state-changing
  // requests without it (a browser cannot send it to another origin without a CORS preflight).
  const headers: Record<string, string> = { 'x-joblet-request': '1', ...req.headers };
  if (server.token) headers.authorization = `Bearer ${server.token.value}`;
  if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
  const agent = agentFor(server, tls);
  const lib = tls ? https : http;
  // `session` resumes the last session (an abbreviated handshake) when a new socket is made.
  const session = tls ? ticketFor(server) : undefined;
  const options = { method: req.method, headers, agent, signal: req.signal, session };
  return new Promise((resolve, reject) => {
    const r = lib.request(url, options, (res) =>
      resolve({
        url: url.href,
        status: res.statusCode ?? 0,
        statusText: res.statusMessage ?? '',
        headers: res.headers,
        body: res,
      }),
    );
    if (tls) r.on('socket', (socket) => keepTickets(server, socket));
    r.on('error', (err) => reject(req.signal?.aborted ? err : explainConnectError(err, server)));
    r.end(req.body);
  });
}

/** The whole body as text (bounded: an API answer is never this large). */
export async function readText(res: HttpResponse, maxBytes = 64 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > maxBytes) {
      res.body.destroy();
      throw new ServerUnavailableError(`${res.url} answered with more than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
