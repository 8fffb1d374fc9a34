/**
 * What `--server` and `RNX_SERVER` accept: a URL (`https://farm.example.com:7070`), or, as Joblet's
 * `rnx` takes it, `host:port` or a bare `host` (port 7070, the API's default).
 *
 * A scheme-less address becomes the URL of the config file's entry for that host and port when
 * there is one (so its scheme and credentials apply), else `https://` when the environment gives
 * TLS material (RNX_CA or RNX_CERT), else `http://` (the single-machine farm).
 */
import { UsageError } from './errors.js';

/** The API's port when an address names none. */
export const DEFAULT_API_PORT = 7070;

/** `host[:port]`: a DNS name or IPv4 address, or an IPv6 address in brackets. */
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))(?::(\d{1,5}))?$/;

export interface AddressContext {
  /** Where the address came from, for the error message (`RNX_SERVER`, `--server`). */
  source: string;
  /** URLs of the config file's entries. */
  knownUrls: readonly string[];
  /** The environment gives a CA or a client certificate. */
  tls: boolean;
}

function hostPortOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    const port = u.port || (u.protocol === 'https:' ? '443' : '80');
    return `${u.hostname.toLowerCase()}:${port}`;
  } catch {
    return undefined;
  }
}

/** The URL an address stands for; a UsageError naming its source when it is neither form. */
export function serverUrl(address: string, ctx: AddressContext): string {
  const text = address.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new UsageError(`${ctx.source}: ${JSON.stringify(address)} is not a valid URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new UsageError(
        `${ctx.source}: ${JSON.stringify(address)}: use http:// or https:// (or host:port)`,
      );
    return text;
  }
  const m = HOST_PORT.exec(text);
  const port = m?.[2] === undefined ? DEFAULT_API_PORT : Number(m[2]);
  if (!m || port < 1 || port > 65535)
    throw new UsageError(
      `${ctx.source}: ${JSON.stringify(address)} is not a server address; use host:port (e.g. farm.example.com:7070) or a URL (https://farm.example.com:7070)`,
    );
  const hostPort = `${m[1]!.toLowerCase()}:${port}`;
  const known = ctx.knownUrls.find((u) => hostPortOf(u) === hostPort);
  if (known) return known;
  return `${ctx.tls ? 'https' : 'http'}://${m[1]}:${port}`;
}
