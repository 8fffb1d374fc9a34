// Installing an archive we do not trust: verify its sha256 while streaming, extract with the
// zstd CLI and GNU tar into a fresh staging directory next to the destination, refuse it whole
// on any unsafe member, and only then rename(2) the staging directory into place. A destination
// is either complete and checked, or absent.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ExtractError, ExtractErrorCode } from './errors.js';
import { commandError, spawnProcess, type RunResult } from '@joblet/sandbox';
import { removeTree } from './fs-safe.js';
import { ListingChecker, type SymlinkPolicy, type TreeRules } from './tar-listing.js';
import { tarExtractArgs, tarListArgs, toolEnv, zstdDecompressArgs } from './tar-flags.js';
import { checkTree } from './tree-check.js';
import { hashTreeEntries } from './tree-hash.js';
import { walkTree } from './tree-walk.js';

/** Options of {@link safeExtract}. */
export interface ExtractOptions {
  /** sha256 (hex) the compressed archive must have. */
  expectedSha256?: string;
  /** Refuse an archive whose uncompressed tar stream exceeds this many bytes (zip bombs). */
  maxBytes?: number;
  /** How symlink targets are judged. Default `'contained'`. */
  symlinks?: SymlinkPolicy;
  /**
   * Require a normalised runtime tree: nothing writable by others, every member owned by 0:0
   * (see {@link TreeRules}). Default true; false only for trees that are not runtimes.
   */
  normalised?: boolean;
  /** Compute the {@link treeHash} of the extracted tree (reads every file once more). */
  treeHash?: boolean;
  /** Refuse the tree unless its tree hash is this (implies `treeHash`). */
  expectedTreeHash?: string;
  /** Mode of the destination directory itself. Default 0o755 (jobs run as a non-root uid). */
  mode?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** What {@link safeExtract} installed. */
export interface ExtractResult {
  /** sha256 (hex) of the compressed archive as read. */
  sha256: string;
  /** Compressed bytes read. */
  bytes: number;
  /** Uncompressed tar bytes. */
  unpackedBytes: number;
  /** Members in the archive. */
  files: number;
  treeHash?: string;
}

/** Marker in the names of staging directories (`.<dest>.staging-<pid>-<hex>`). */
export const STAGING_INFIX = '.staging-';

/**
 * Extracts `archive` (a tar.zst stream or file path) to `destDir`, which must not exist yet.
 * Work happens in a staging directory created next to `destDir` (same filesystem, so the final
 * rename is atomic); on any failure it is removed and an {@link ExtractError} says why:
 * CHECKSUM_MISMATCH, UNSAFE_ENTRY (with the entry), TOO_LARGE, CORRUPT_ARCHIVE, EXTRACT_FAILED,
 * TREE_HASH_MISMATCH, DEST_EXISTS, SOURCE_FAILED or EXTRACT_ABORTED.
 * Members are checked from GNU tar's own listing (see {@link ListingChecker}) and the extracted
 * tree once more on disk (see {@link checkTree}); by default the tree must be a normalised one.
 */
export async function safeExtract(
  archive: Readable | string,
  destDir: string,
  opts: ExtractOptions = {},
): Promise<ExtractResult> {
  if (await exists(destDir)) {
    throw new ExtractError(`${destDir} already exists`, ExtractErrorCode.DestinationExists);
  }
  const staging = join(
    dirname(destDir),
    `.${basename(destDir)}${STAGING_INFIX}${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  await mkdir(staging, { mode: 0o700 });
  try {
    const streamed = await streamInto(archive, staging, opts);
    const result = await verifyTree(staging, streamed, opts);
    await chmod(staging, opts.mode ?? 0o755);
    if (await exists(destDir)) {
      throw new ExtractError(`${destDir} already exists`, ExtractErrorCode.DestinationExists);
    }
    try {
      await rename(staging, destDir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTEMPTY') {
        throw new ExtractError(`${destDir} already exists`, ExtractErrorCode.DestinationExists);
      }
      throw e;
    }
    return result;
  } catch (e) {
    await removeTree(staging);
    throw e;
  }
}

/**
 * Removes staging directories left in `parentDir` by extractions whose process is gone (a crash
 * or SIGKILL mid-install). Returns the names removed. Call at start-up, under the caller's lock.
 */
export async function cleanupStaging(parentDir: string): Promise<string[]> {
  const removed: string[] = [];
  const names = await readdir(parentDir).catch(() => []);
  for (const name of names) {
    const m = /^\..+\.staging-(\d+)-[0-9a-f]+$/.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    await removeTree(join(parentDir, name));
    removed.push(name);
  }
  return removed;
}

interface Streamed {
  sha256: string;
  bytes: number;
  unpackedBytes: number;
  files: number;
}

/** input → sha256 → zstd -d → (tar --extract, tar --list) with every check of the stream. */
async function streamInto(
  archive: Readable | string,
  staging: string,
  opts: ExtractOptions,
): Promise<Streamed> {
  const checker = new ListingChecker(treeRules(opts));
  const common = {
    env: toolEnv(),
    signal: opts.signal,
    timeoutMs: opts.timeoutMs,
    maxBufferBytes: 64 * 1024,
  };
  const zstd = spawnProcess('zstd', zstdDecompressArgs(), {
    ...common,
    stdin: 'pipe',
    stdout: 'pipe',
  });
  const untar = spawnProcess('tar', tarExtractArgs(staging), { ...common, stdin: 'pipe' });
  const list = spawnProcess('tar', tarListArgs(), {
    ...common,
    stdin: 'pipe',
    onLine: (line, stream) => {
      if (stream === 'stdout') checker.addLine(line);
    },
  });
  const procs = [zstd, untar, list];
  const killAll = (): void => procs.forEach((p) => p.kill());

  const hash = createHash('sha256');
  let bytes = 0;
  let inputComplete = false;
  let sourceError: unknown;
  const feed = async (): Promise<void> => {
    const input = typeof archive === 'string' ? createReadStream(archive) : archive;
    let zstdAlive = true;
    try {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        hash.update(chunk);
        bytes += chunk.length;
        if (zstdAlive) zstdAlive = await writeChunk(zstd.stdin!, chunk);
        // Once zstd is gone, only a checksum verdict is still worth reading the rest for.
        if (!zstdAlive && opts.expectedSha256 === undefined) return;
        if (opts.signal?.aborted) return;
      }
      inputComplete = true;
    } catch (e) {
      sourceError = e;
      killAll();
    } finally {
      zstd.stdin?.end();
    }
  };

  let unpackedBytes = 0;
  let tooLarge = false;
  const fanOut = async (): Promise<void> => {
    const sinks = [untar.stdin!, list.stdin!];
    const alive = [true, true];
    for await (const chunk of zstd.stdout! as AsyncIterable<Buffer>) {
      unpackedBytes += chunk.length;
      if (opts.maxBytes !== undefined && unpackedBytes > opts.maxBytes) {
        tooLarge = true;
        killAll();
        break;
      }
      await Promise.all(
        sinks.map(async (s, i) => {
          if (alive[i]) alive[i] = await writeChunk(s, chunk);
        }),
      );
      if (!alive[0] && !alive[1]) {
        zstd.kill();
        break;
      }
    }
    for (const s of sinks) s.end();
  };

  // A tool that cannot even start (SPAWN_FAILED) must not leave the others waiting on stdin.
  const guard = (p: Promise<RunResult>): Promise<RunResult> =>
    p.catch((e: unknown) => {
      killAll();
      for (const q of procs) q.stdin?.destroy();
      throw e;
    });
  const [zr, xr, lr] = await Promise.all([
    guard(zstd.result),
    guard(untar.result),
    guard(list.result),
    feed(),
    fanOut().catch(killAll),
  ]);

  const sha256 = hash.digest('hex');
  if (opts.signal?.aborted) throw new ExtractError('extraction aborted', ExtractErrorCode.Aborted);
  if (sourceError !== undefined) {
    throw new ExtractError(
      `reading the archive failed: ${(sourceError as Error).message}`,
      ExtractErrorCode.SourceFailed,
      undefined,
      { cause: sourceError },
    );
  }
  if (
    opts.expectedSha256 !== undefined &&
    inputComplete &&
    sha256 !== opts.expectedSha256.toLowerCase()
  ) {
    throw new ExtractError(
      `archive sha256 ${sha256} does not match the expected ${opts.expectedSha256}`,
      ExtractErrorCode.ChecksumMismatch,
    );
  }
  if (tooLarge) {
    throw new ExtractError(
      `archive unpacks to more than ${opts.maxBytes} bytes`,
      ExtractErrorCode.TooLarge,
    );
  }
  if (checker.violation) {
    const { entry, reason } = checker.violation;
    throw new ExtractError(
      `unsafe archive member '${entry}': ${reason}`,
      ExtractErrorCode.UnsafeEntry,
      entry,
    );
  }
  // A process that exited non-zero on its own explains the failure; one killed by a signal was
  // usually killed by us because another one failed first.
  const verdicts: [RunResult, ExtractErrorCode, string][] = [
    [zr, ExtractErrorCode.CorruptArchive, 'decompressing the archive failed'],
    [lr, ExtractErrorCode.CorruptArchive, 'reading the archive failed'],
    [xr, ExtractErrorCode.ExtractFailed, 'extracting the archive failed'],
  ];
  for (const [r, code, what] of verdicts) if (r.code !== null) failIf(r, code, what);
  for (const [r, code, what] of verdicts) failIf(r, code, what);
  if (opts.expectedSha256 !== undefined && !inputComplete) {
    throw new ExtractError('the archive was not read to its end', ExtractErrorCode.CorruptArchive);
  }
  return { sha256, bytes, unpackedBytes, files: checker.count };
}

/** The on-disk checks, then the optional tree hash. */
async function verifyTree(
  staging: string,
  s: Streamed,
  opts: ExtractOptions,
): Promise<ExtractResult> {
  const walk = await walkTree(staging);
  const violation = await checkTree(staging, treeRules(opts), walk);
  if (violation) {
    throw new ExtractError(
      `unsafe archive member '${violation.entry}': ${violation.reason}`,
      ExtractErrorCode.UnsafeEntry,
      violation.entry,
    );
  }
  if (!opts.treeHash && opts.expectedTreeHash === undefined) return s;
  const tree = await hashTreeEntries(staging, walk.entries);
  if (opts.expectedTreeHash !== undefined && tree !== opts.expectedTreeHash) {
    throw new ExtractError(
      `tree hash ${tree} does not match the expected ${opts.expectedTreeHash}`,
      ExtractErrorCode.TreeHashMismatch,
    );
  }
  return { ...s, treeHash: tree };
}

function treeRules(opts: ExtractOptions): TreeRules {
  return { symlinks: opts.symlinks ?? 'contained', normalised: opts.normalised ?? true };
}

function failIf(r: RunResult, code: ExtractErrorCode, what: string): void {
  if (r.code === 0 && !r.timedOut && !r.aborted) return;
  const err = commandError(r);
  throw new ExtractError(`${what}: ${err.message}`, code, undefined, { cause: err });
}

/** Writes with backpressure; resolves false once the stream is closed or broken. */
function writeChunk(stream: Writable, chunk: Buffer): Promise<boolean> {
  if (stream.destroyed || stream.writableEnded) return Promise.resolve(false);
  if (stream.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => (): void => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    stream.on('drain', onDrain);
    stream.on('close', onClose);
    stream.on('error', onClose);
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
