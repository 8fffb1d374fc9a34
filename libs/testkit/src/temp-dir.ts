import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A directory under `os.tmpdir()` owned by one test. */
export interface TempDir {
  /** Absolute path of the directory. */
  readonly path: string;
  /** Removes the directory and everything in it; safe to call more than once. */
  cleanup(): Promise<void>;
}

/**
 * Creates a fresh, empty directory under `os.tmpdir()` named `<prefix>-XXXXXX`.
 * Each test should take its own and call `cleanup()` in its `afterEach`/`afterAll`.
 */
export async function makeTempDir(prefix = 'joblet-test'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), `${sanitize(prefix)}-`));
  return {
    path,
    cleanup: () => rm(path, { recursive: true, force: true }),
  };
}

/**
 * A name unique to this process and call, safe as an S3 bucket name, a key segment, a Redis key
 * part or a file name: lowercase letters, digits and `-`, at most 63 characters.
 * Use it for per-test buckets, prefixes and queue names.
 */
export function uniqueName(prefix = 'test'): string {
  counter += 1;
  const suffix = `${Date.now().toString(36)}-${process.pid.toString(36)}-${counter.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  // Bucket names must start with a letter or digit and are limited to 63 characters.
  const head = sanitize(prefix).slice(0, Math.max(1, 62 - suffix.length)) || 't';
  return `${head}-${suffix}`;
}

let counter = 0;

function sanitize(prefix: string): string {
  return prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
