// The key grammar shared by both backends. It is deliberately narrower than S3's: a key that is
// valid here maps to the same relative path on every file system, can never leave the directory
// store's root, and can never collide with the directory store's temporary files (which start
// with '.').
import { StorageError } from './errors.js';

/** One path segment: letters, digits, '.', '_', '-'; not starting with '.'; no '..'. */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
/** The longest file name most file systems allow (bytes; keys are ASCII). */
const MAX_SEGMENT_LENGTH = 255;
/** S3's own limit on key length (bytes). */
export const MAX_KEY_LENGTH = 1024;

function bad(message: string, key: string): StorageError {
  return new StorageError('BAD_KEY', message, { key });
}

/** Why `segment` is not a valid key segment, or undefined when it is. */
function segmentProblem(segment: string): string | undefined {
  if (segment === '') return 'has an empty segment';
  if (segment === '.' || segment === '..') return `has a "${segment}" segment`;
  if (segment.length > MAX_SEGMENT_LENGTH) {
    return `has a segment longer than ${MAX_SEGMENT_LENGTH} characters`;
  }
  if (segment.includes('..')) return `has a segment containing ".." ("${segment}")`;
  if (segment.startsWith('.')) return `has a segment starting with "." ("${segment}")`;
  if (!SEGMENT.test(segment)) {
    return `has a segment with characters outside [A-Za-z0-9._-] (${JSON.stringify(segment)})`;
  }
  return undefined;
}

function keyProblem(key: string): string | undefined {
  if (key.length > MAX_KEY_LENGTH) return `is longer than ${MAX_KEY_LENGTH} characters`;
  if (key.startsWith('/')) return 'is absolute (starts with "/")';
  if (key.includes('\\')) return 'contains a backslash';
  if (key.endsWith('/')) return 'ends with "/"';
  for (const segment of key.split('/')) {
    const problem = segmentProblem(segment);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Throws StorageError `BAD_KEY` unless `segment` is a single valid key segment
 * (`[A-Za-z0-9._-]`, non-empty, no '/', not starting with '.', no '..').
 * @param what - names the segment in the message, e.g. "runtime name"
 */
export function assertValidSegment(segment: string, what = 'segment'): void {
  if (typeof segment !== 'string') throw bad(`${what} must be a string`, String(segment));
  const problem = segment.includes('/') ? 'contains "/"' : segmentProblem(segment);
  if (problem) throw bad(`invalid ${what} ${JSON.stringify(segment)}: ${problem}`, segment);
}

/**
 * Throws StorageError `BAD_KEY` unless `key` is a valid object key: '/'-separated valid segments,
 * no leading or trailing '/', no empty, '.' or '..' segments, no backslashes, at most 1024 chars.
 */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key === '') throw bad('key must be a non-empty string', '');
  const problem = keyProblem(key);
  if (problem) throw bad(`invalid key ${JSON.stringify(key)}: ${problem}`, key);
}

/** True when `key` passes `assertValidKey`. */
export function isValidKey(key: string): boolean {
  return typeof key === 'string' && key !== '' && keyProblem(key) === undefined;
}

/**
 * Throws StorageError `BAD_KEY` unless `prefix` is '' or a valid key prefix: a valid key, or a
 * valid key followed by '/', or a valid key whose last segment is cut short (`runtimes/py`).
 * Prefixes match keys as plain strings, as in S3.
 */
export function assertValidPrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw bad('prefix must be a string', String(prefix));
  if (prefix === '') return;
  const body = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  const problem = body === '' ? 'is "/"' : keyProblem(body);
  if (problem) throw bad(`invalid prefix ${JSON.stringify(prefix)}: ${problem}`, prefix);
}
