/**
 * Upstream toolchain archives on the worker: downloaded (from the project's mirror when
 * BUILD_TOOLCHAIN_MIRRORS names one), hashed while streaming, and kept in
 * `<WORKER_CACHE_DIR>/toolchains/<sha256>` only when the bytes match the catalog's pin. A file
 * whose hash differs is deleted at once: the cache only ever holds verified archives, and one is
 * hashed again before each use.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { mirroredUrl, type ToolchainFile, type ToolchainProject } from '@joblet/spec';
import { BuildFailure } from './build-failure.js';

/** Largest toolchain archive accepted (a JDK is ~200 MB, Rust's full installer ~300 MB). */
export const MAX_TOOLCHAIN_BYTES = 2 * 1024 ** 3;
/** Whole download, however slow the mirror (ms). */
const DOWNLOAD_TIMEOUT_MS = 30 * 60_000;

export interface FetchToolchainOptions {
  cacheDir: string;
  file: ToolchainFile;
  project: ToolchainProject;
  mirrors?: Partial<Record<ToolchainProject, string>>;
  signal?: AbortSignal;
  /** PEM bundle TLS trusts (BUILD_CA_BUNDLE: the host's by default, e.g. behind a TLS proxy). */
  caBundle?: string;
  /** Lines for the build log (what was downloaded from where, cache hits). */
  report?: (line: string) => void;
}

/** Where verified archives live: `<cacheDir>/toolchains`. */
export function toolchainCacheDir(cacheDir: string): string {
  return join(cacheDir, 'toolchains');
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * The host path of `file`'s verified archive, downloading it first when the cache lacks it.
 * @throws BuildFailure `TOOLCHAIN_FAILED`: a checksum mismatch (naming the URL, the expected and
 *   the actual sha256; not retried), an HTTP error (retried for 5xx and network errors), or an
 *   archive over {@link MAX_TOOLCHAIN_BYTES}.
 */
export async function fetchToolchainFile(o: FetchToolchainOptions): Promise<string> {
  const dir = toolchainCacheDir(o.cacheDir);
  const dest = join(dir, o.file.sha256);
  const cached = await stat(dest).catch(() => undefined);
  if (cached?.isFile()) {
    if ((await sha256OfFile(dest)) === o.file.sha256) {
      o.report?.(`toolchain archive ${o.file.sha256.slice(0, 12)}… cached on this worker`);
      return dest;
    }
    await rm(dest, { force: true }); // damaged on disk: fetch it again
  }
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const url = mirroredUrl(o.file.url, o.project, o.mirrors);
  o.report?.(`downloading ${url}`);
  const tmp = join(dir, `.tmp-${o.file.sha256}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const actual = await download(url, tmp, o.caBundle, o.signal);
    if (actual !== o.file.sha256) {
      throw new BuildFailure(
        'TOOLCHAIN_FAILED',
        `checksum mismatch for ${url}: expected sha256 ${o.file.sha256}, got ${actual}`,
        {
          details:
            'The file was deleted and nothing was cached. Either the catalog pin is wrong or the ' +
            'server (or mirror) serves other bytes than the project published.',
        },
      );
    }
    await rename(tmp, dest);
    return dest;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** GET `url` following up to 5 redirects; TLS trusts `ca` (BUILD_CA_BUNDLE) when given. */
function get(url: string, ca: Buffer | undefined, signal: AbortSignal, hops = 5) {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    const req = client.get(url, { signal, ...(ca && { ca }) }, (res) => {
      const location = res.headers.location;
      if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location) {
        res.resume();
        if (hops === 0) reject(new Error('too many redirects'));
        else get(new URL(location, url).href, ca, signal, hops - 1).then(resolve, reject);
        return;
      }
      resolve(res);
    });
    req.on('error', reject);
  });
}

/** Streams `url` into `path`; returns the sha256 of what arrived. */
async function download(
  url: string,
  path: string,
  caBundle: string | undefined,
  signal?: AbortSignal,
): Promise<string> {
  const signals = [AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS), ...(signal ? [signal] : [])];
  const ca = caBundle ? await readFile(caBundle) : undefined;
  let res: IncomingMessage;
  try {
    res = await get(url, ca, AbortSignal.any(signals));
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new BuildFailure('TOOLCHAIN_FAILED', `cannot download ${url}: ${causeOf(err)}`, {
      retryable: true,
      cause: err,
    });
  }
  const status = res.statusCode ?? 0;
  if (status !== 200) {
    res.resume();
    throw new BuildFailure('TOOLCHAIN_FAILED', `cannot download ${url}: HTTP ${status}`, {
      retryable: status >= 500 || status === 429,
    });
  }
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > MAX_TOOLCHAIN_BYTES) {
        done(
          new BuildFailure(
            'TOOLCHAIN_FAILED',
            `${url} is larger than ${MAX_TOOLCHAIN_BYTES} bytes: refused`,
          ),
        );
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(res, meter, createWriteStream(path, { mode: 0o644 }));
  } catch (err) {
    if (err instanceof BuildFailure || signal?.aborted) throw err;
    throw new BuildFailure('TOOLCHAIN_FAILED', `download of ${url} broke off: ${causeOf(err)}`, {
      retryable: true,
      cause: err,
    });
  }
  return hash.digest('hex');
}

function causeOf(err: unknown): string {
  const e = err as Error & { code?: string; cause?: { message?: string; code?: string } };
  return e.cause?.code ?? e.code ?? e.cause?.message ?? e.message;
}
