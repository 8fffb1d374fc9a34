import type { ArtifactStore } from './artifact-store.js';
import { DirArtifactStore } from './dir.store.js';
import { StorageError } from './errors.js';
import { S3ArtifactStore } from './s3.store.js';
import { parseStoreUrl, redactUrl, type StoreUrlOptions } from './store-url.js';

/**
 * Creates the store a storage URL names: `file:///abs/path` → `DirArtifactStore`,
 * `s3://[key:secret@]bucket[/prefix]?endpoint=...&region=...` → `S3ArtifactStore`.
 * Credentials in `opts` (the caller's environment; libraries never read `process.env`) win over
 * those in the URL. Performs no I/O: call `ensureReady()` before first use.
 * @throws StorageError `BAD_CONFIG` naming what is wrong; the message never contains secrets
 */
export function createArtifactStore(url: string, opts: StoreUrlOptions = {}): ArtifactStore {
  const config = parseStoreUrl(url, opts);
  try {
    return config.kind === 'dir'
      ? new DirArtifactStore(config.root)
      : new S3ArtifactStore(config.options);
  } catch (err) {
    if (err instanceof StorageError) {
      throw new StorageError(err.code, `storage URL "${redactUrl(url)}": ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
}
