import { StorageError } from './errors.js';

/** The errno code of a Node file-system error, if `err` is one. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Errno codes that mean "this key has no object". */
export const MISSING = new Set(['ENOENT', 'ENOTDIR']);

/**
 * Maps a file-system error to a StorageError (StorageErrors pass through unchanged).
 * Resource exhaustion that clears by itself (EMFILE, EAGAIN, EBUSY) is retryable; a full disk
 * is not, since retrying without an operator rarely helps.
 */
export function fsStorageError(err: unknown, key: string, action: string): StorageError {
  if (err instanceof StorageError) return err;
  const code = errnoCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  const make = (storageCode: StorageError['code'], retryable = false) =>
    new StorageError(storageCode, `${action} ${key} failed: ${detail}`, {
      key,
      cause: err,
      retryable,
    });
  switch (code) {
    case 'ENOENT':
      return make('NOT_FOUND');
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return make('ACCESS_DENIED');
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EEXIST':
    case 'ENOTEMPTY':
      // S3 allows both "a" and "a/b"; a directory tree cannot hold both.
      return make('CONFLICT');
    case 'EMFILE':
    case 'ENFILE':
    case 'EAGAIN':
    case 'EBUSY':
    case 'EINTR':
      return make('IO', true);
    default:
      return make('IO');
  }
}
