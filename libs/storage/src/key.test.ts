import { describe, expect, it } from 'vitest';

import { isStorageError } from './errors.js';
import { assertValidKey, assertValidPrefix, assertValidSegment, isValidKey } from './key.js';

function problem(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    expect(isStorageError(err, 'BAD_KEY')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected BAD_KEY');
}

describe('key grammar', () => {
  it('accepts the keys the farm writes', () => {
    for (const key of [
      'runtimes/python-3.11/3.11.0/amd64/runtime.tar.zst',
      'index/node/20.1.0-rc.1.json',
      'builds/0123abcd.json',
      'a',
      'A_b-c.d/e',
    ]) {
      expect(isValidKey(key)).toBe(true);
      assertValidKey(key);
    }
  });

  it('refuses keys that could escape a directory or be ambiguous, naming the problem', () => {
    expect(problem(() => assertValidKey('../x'))).toMatch(/"\.\." segment/);
    expect(problem(() => assertValidKey('a/../b'))).toMatch(/"\.\." segment/);
    expect(problem(() => assertValidKey('./a'))).toMatch(/"\." segment/);
    expect(problem(() => assertValidKey('/abs'))).toMatch(/absolute/);
    expect(problem(() => assertValidKey('a//b'))).toMatch(/empty segment/);
    expect(problem(() => assertValidKey('a/'))).toMatch(/ends with/);
    expect(problem(() => assertValidKey('a\\b'))).toMatch(/backslash/);
    expect(problem(() => assertValidKey(''))).toMatch(/non-empty/);
    expect(problem(() => assertValidKey('.tmp'))).toMatch(/starting with "\."/);
    expect(problem(() => assertValidKey('a..b'))).toMatch(/containing "\.\."/);
    expect(problem(() => assertValidKey('sp ace'))).toMatch(/outside/);
    expect(problem(() => assertValidKey('nul\u0000'))).toMatch(/outside/);
    expect(problem(() => assertValidKey('é'))).toMatch(/outside/);
    expect(problem(() => assertValidKey('x'.repeat(256)))).toMatch(/longer than 255/);
    expect(problem(() => assertValidKey('x/'.repeat(600) + 'x'))).toMatch(/longer than 1024/);
    expect(isValidKey('a//b')).toBe(false);
  });

  it('checks single segments, refusing "/"', () => {
    assertValidSegment('3.11.0');
    expect(problem(() => assertValidSegment('a/b', 'runtime name'))).toMatch(
      /invalid runtime name "a\/b": contains "\/"/,
    );
    expect(problem(() => assertValidSegment('..'))).toMatch(/"\.\." segment/);
    expect(problem(() => assertValidSegment(''))).toMatch(/empty/);
  });

  it('accepts prefixes that are keys, directories or cut-short segments', () => {
    for (const prefix of ['', 'runtimes/', 'runtimes/py', 'runtimes/python/3.11.0/']) {
      assertValidPrefix(prefix);
    }
    for (const prefix of ['/', '../', 'a//', '/a', 'a/../']) {
      problem(() => assertValidPrefix(prefix));
    }
  });
});
