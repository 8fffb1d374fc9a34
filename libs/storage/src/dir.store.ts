import { randomBytes } from 'node:crypto';
import { constants, type Dirent } from 'node:fs';
import {
  access,
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  rmdir,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';

import type { ObjectInfo, PutBody, PutOptions, PutResult } from './artifact-store.js';
import { BaseArtifactStore } from './base.store.js';
import { checkPut, toReadable } from './body.js';
import { StorageError } from './errors.js';
import { errnoCode, fsStorageError, MISSING } from './fs-errors.js';
import { checksumMismatch, HashingStream } from './hashing.stream.js';
import { assertValidKey, assertValidPrefix, isValidKey } from './key.js';

/** Temporary files: `.<final name>.<12 hex>.tmp`, in the final file's directory. */
const TEMP_FILE = /^\..+\.[0-9a-f]{12}\.tmp$/;

export interface DirStoreOptions {
  /**
   * `ensureReady` removes temporary files older than this (ms), left by a process killed in the
   * middle of a put. Default: one hour, far longer than any upload.
   */
  staleTempMs?: number;
}

/**
 * An `ArtifactStore` in a local directory: the single-machine default
 * (`file:///var/lib/joblet-farm/store`). Key `a/b/c` is the file `<root>/a/b/c`.
 *
 * A put writes and fsyncs a temporary file next to the target, then `rename(2)`s it into place,
 * so readers see the old file or the whole new one. Symbolic links are never followed at the
 * object itself and never listed.
 */
export class DirArtifactStore extends BaseArtifactStore {
  readonly kind = 'dir' as const;
  readonly url: string;
  readonly root: string;
  private readonly staleTempMs: number;

  constructor(root: string, options: DirStoreOptions = {}) {
    super();
    if (!isAbsolute(root)) {
      throw new StorageError('BAD_CONFIG', `directory store root must be absolute, got "${root}"`);
    }
    this.root = resolve(root);
    this.url = pathToFileURL(this.root).href;
    this.staleTempMs = options.staleTempMs ?? 60 * 60 * 1000;
  }

  async put(key: string, body: PutBody, opts?: PutOptions): Promise<PutResult> {
    let temp: string | undefined;
    let fh: FileHandle | undefined;
    try {
      const target = this.pathFor(key);
      const checked = checkPut(key, body, opts);
      const dir = dirname(target);
      temp = join(dir, `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
      const hasher = new HashingStream(checked.maxBytes, key);
      fh = await openTemp(dir, temp);
      // `flush`: fsync before the stream closes the file, so the data is on disk before the
      // rename makes it visible (after a crash the key holds old or new bytes, never zeros).
      await pipeline(toReadable(body), hasher, fh.createWriteStream({ flush: true }));
      fh = undefined; // closed by the write stream
      const sha256 = hasher.digest();
      if (checked.expectedSha256 !== undefined && sha256 !== checked.expectedSha256) {
        throw checksumMismatch(key, checked.expectedSha256, sha256);
      }
      await rename(temp, target);
      await syncDir(dir);
      return { key, size: hasher.bytes, sha256 };
    } catch (err) {
      if (body instanceof Readable && !body.destroyed) body.destroy();
      await fh?.close().catch(() => undefined);
      if (temp !== undefined) await rm(temp, { force: true }).catch(() => undefined);
      throw fsStorageError(err, key, 'put');
    }
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathFor(key);
    let fh: FileHandle | undefined;
    try {
      // O_NOFOLLOW: a symlink planted in the store is not an object and must not lead outside.
      fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
      if (!(await fh.stat()).isFile())
        throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
    } catch (err) {
      await fh?.close().catch(() => undefined);
      const code = errnoCode(err);
      if (code !== undefined && (MISSING.has(code) || code === 'ELOOP')) {
        throw new StorageError('NOT_FOUND', `object ${key} not found`, { key, cause: err });
      }
      throw fsStorageError(err, key, 'get');
    }
    // The open descriptor keeps reading this version even if a put renames a new one over it.
    return fh.createReadStream();
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const path = this.pathFor(key);
    try {
      const info = await lstat(path);
      return info.isFile() ? { key, size: info.size, lastModified: info.mtime } : undefined;
    } catch (err) {
      if (MISSING.has(errnoCode(err) ?? '')) return undefined;
      throw fsStorageError(err, key, 'stat');
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    // Start in the deepest directory the prefix names; its last, partial segment filters there.
    const cut = prefix.lastIndexOf('/') + 1;
    const dirPart = prefix.slice(0, cut);
    const start = join(this.root, ...dirPart.split('/').filter(Boolean));
    yield* this.walk(start, dirPart, prefix.slice(cut));
  }

  async delete(key: string): Promise<void> {
    const path = this.pathFor(key);
    try {
      await unlink(path);
    } catch (err) {
      const code = errnoCode(err) ?? '';
      if (MISSING.has(code) || code === 'EISDIR') return; // a directory is no object either
      throw fsStorageError(err, key, 'delete');
    }
    await this.pruneEmptyDirs(dirname(path));
  }

  async ensureReady(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true });
      await access(this.root, constants.R_OK | constants.W_OK | constants.X_OK);
    } catch (err) {
      throw fsStorageError(err, this.root, 'preparing directory store');
    }
    await this.sweepStaleTemps(this.root, Date.now() - this.staleTempMs);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The file of `key`, checked to lie inside the root. */
  private pathFor(key: string): string {
    assertValidKey(key);
    const path = join(this.root, ...key.split('/'));
    const rel = relative(this.root, path);
    // Unreachable with a valid key; kept so no future change of the key grammar can escape.
    if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
      throw new StorageError('BAD_KEY', `key ${key} resolves outside the store`, { key });
    }
    return path;
  }

  private async *walk(
    dir: string,
    keyPrefix: string,
    namePrefix: string,
  ): AsyncGenerator<ObjectInfo> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (MISSING.has(errnoCode(err) ?? '')) return; // no such prefix, or removed meanwhile
      throw fsStorageError(err, keyPrefix, 'list');
    }
    // Sorting directories as "name/" yields keys in plain lexicographic order, like S3.
    const visible = entries
      .filter((e) => e.name.startsWith(namePrefix) && !e.name.startsWith('.'))
      .filter((e) => e.isFile() || e.isDirectory())
      .map((e) => ({ e, sortKey: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    for (const { e } of visible) {
      const key = keyPrefix + e.name;
      if (e.isDirectory()) {
        yield* this.walk(join(dir, e.name), `${key}/`, '');
        continue;
      }
      if (!isValidKey(key)) continue; // not written through this store
      const info = await this.stat(key);
      if (info) yield info; // else deleted since readdir
    }
  }

  /** Removes now-empty parent directories of a deleted object, up to (not including) the root. */
  private async pruneEmptyDirs(dir: string): Promise<void> {
    for (let d = dir; d !== this.root && d.startsWith(this.root + sep); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return; // not empty (ENOTEMPTY), already gone, or in use: stop climbing
      }
    }
  }

  private async sweepStaleTemps(dir: string, olderThanMs: number): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        await this.sweepStaleTemps(path, olderThanMs);
      } else if (e.isFile() && TEMP_FILE.test(e.name)) {
        const info = await lstat(path).catch(() => undefined);
        if (info && info.mtimeMs < olderThanMs) await rm(path, { force: true });
      }
    }
  }
}

/**
 * Creates the temporary file exclusively, creating its directory first. A concurrent `delete`
 * may prune the directory between mkdir and open (ENOENT): then try again.
 */
async function openTemp(dir: string, temp: string): Promise<FileHandle> {
  for (let attempt = 1; ; attempt++) {
    await mkdir(dir, { recursive: true });
    try {
      return await open(temp, 'wx', 0o644);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || attempt >= 5) throw err;
    }
  }
}

/** fsync a directory so a rename in it survives a crash. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
