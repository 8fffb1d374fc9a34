import { describe, expect, it } from 'vitest';

import { isStorageError } from './errors.js';
import {
  baseArchiveKey,
  baseManifestKey,
  buildPointerKey,
  indexKey,
  indexPrefix,
  parseIndexKey,
  runtimeArchiveKey,
  runtimeManifestKey,
  runtimePrefix,
} from './layout.js';

describe('store layout', () => {
  it('builds the keys of the architecture page', () => {
    expect(baseArchiveKey('debian', 'bookworm', 'arm64')).toBe(
      'bases/debian/bookworm/arm64/base.tar.zst',
    );
    expect(baseManifestKey('debian', 'trixie', 'amd64')).toBe(
      'bases/debian/trixie/amd64/manifest.json',
    );
    expect(runtimeArchiveKey('python-3.11-ml', '1.2.3', 'amd64')).toBe(
      'runtimes/python-3.11-ml/1.2.3/amd64/runtime.tar.zst',
    );
    expect(runtimeManifestKey('python-3.11-ml', '1.2.3', 'arm64')).toBe(
      'runtimes/python-3.11-ml/1.2.3/arm64/manifest.json',
    );
    expect(runtimePrefix('node')).toBe('runtimes/node/');
    expect(runtimePrefix('node', '20.0.0')).toBe('runtimes/node/20.0.0/');
    expect(indexKey('openjdk-21', '1.0.0-rc.1')).toBe('index/openjdk-21/1.0.0-rc.1.json');
    expect(indexPrefix()).toBe('index/');
    expect(indexPrefix('node')).toBe('index/node/');
    expect(buildPointerKey('ab'.repeat(32))).toBe(`builds/${'ab'.repeat(32)}.json`);
  });

  it('reads an index key back', () => {
    expect(parseIndexKey('index/node/20.1.0.json')).toEqual({ name: 'node', version: '20.1.0' });
    expect(parseIndexKey('index/node/x/20.1.0.json')).toBeUndefined();
    expect(parseIndexKey('runtimes/node/20.1.0/amd64/manifest.json')).toBeUndefined();
  });

  it('refuses segments that would change the key structure, naming the field', () => {
    const cases: [() => string, RegExp][] = [
      [() => runtimeArchiveKey('../etc', '1.0.0', 'amd64'), /runtime name/],
      [() => runtimeArchiveKey('py', '1.0.0/..', 'amd64'), /runtime version/],
      [() => runtimeManifestKey('py', '1.0.0', ''), /architecture/],
      [() => baseArchiveKey('debian', 'book worm', 'amd64'), /suite/],
      [() => baseManifestKey('de/bian', 'bookworm', 'amd64'), /distro/],
      [() => indexKey('py', '..'), /runtime version/],
      [() => buildPointerKey('a/b'), /build key/],
    ];
    for (const [build, what] of cases) {
      let caught: unknown;
      try {
        build();
      } catch (err) {
        caught = err;
      }
      expect(isStorageError(caught, 'BAD_KEY')).toBe(true);
      expect((caught as Error).message).toMatch(what);
    }
  });
});
