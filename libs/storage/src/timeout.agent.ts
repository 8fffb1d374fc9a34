import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';

// minio-js sets no timeout on its requests, and Node's socket `timeout` only emits an event: a
// server that accepts connections but never answers would hang a put or get forever. These
// agents destroy a socket that has been silent (connecting, sending or waiting) for
// `idleTimeoutMs`, failing the request with ETIMEDOUT, which s3.errors.ts maps to a retryable
// TIMEOUT.

function idleError(ms: number): Error {
  return Object.assign(new Error(`socket idle for more than ${ms} ms`), { code: 'ETIMEDOUT' });
}

function watch(socket: Duplex | null | undefined, ms: number): void {
  // The agent re-arms `timeout` on pooled sockets itself (its `timeout` option); we only add
  // the missing reaction to it.
  socket?.on('timeout', () => socket.destroy(idleError(ms)));
}

class IdleTimeoutHttpAgent extends http.Agent {
  constructor(private readonly idleMs: number) {
    super({ keepAlive: true, timeout: idleMs });
  }
  override createConnection(
    options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const socket = super.createConnection(options, callback);
    watch(socket, this.idleMs);
    return socket;
  }
}

class IdleTimeoutHttpsAgent extends https.Agent {
  constructor(private readonly idleMs: number) {
    super({ keepAlive: true, timeout: idleMs });
  }
  override createConnection(
    options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const socket = super.createConnection(options, callback);
    watch(socket, this.idleMs);
    return socket;
  }
}

/** A keep-alive agent whose sockets fail with ETIMEDOUT after `idleMs` of silence. */
export function createIdleTimeoutAgent(useSSL: boolean, idleMs: number): http.Agent {
  return useSSL ? new IdleTimeoutHttpsAgent(idleMs) : new IdleTimeoutHttpAgent(idleMs);
}
