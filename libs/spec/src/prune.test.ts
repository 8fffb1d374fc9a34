/** `prune` in runtime.yaml: what a runtime leaves out, and file:line errors for bad `keep` paths. */
import { describe, expect, it } from 'vitest';
import { isPacked } from './prune.js';
import { itRejects } from './test-support/invalid-cases.js';
import { withBase } from './test-support/specs.js';
import { validateRuntimeSpec } from './validate.js';

describe('isPacked', () => {
  it.each([
    ['usr/share/locale', 'dir', true],
    ['usr/share/locale/de', 'dir', false],
    ['usr/share/locale/locale.alias', 'file', false],
    ['usr/share/man/man1/ls.1.gz', 'file', false],
    ['usr/share/info/dir', 'file', false],
    ['usr/share/lintian/overrides/python3', 'file', false],
    ['usr/share/lintian/profiles', 'dir', true],
    ['usr/share/doc/python3', 'dir', true],
    ['usr/share/doc/libc6', 'symlink', true],
    ['usr/share/doc/python3/copyright', 'file', true],
    ['usr/share/doc/python3/changelog.Debian.gz', 'file', false],
    ['usr/share/doc/python3/examples', 'dir', false],
    ['usr/share/doc/README', 'file', false],
    ['usr/share/localedata', 'dir', true],
    ['usr/lib/python3.11/locale.py', 'file', true],
    ['usr/share/python3/debian_defaults', 'file', true],
  ])('%s (%s) → %s', (rel, type, packed) => {
    expect(isPacked(rel, type)).toBe(packed);
  });

  it('packs kept paths, what is below them and the directories on the way', () => {
    const keep = ['/usr/share/locale/de/LC_MESSAGES', '/usr/share/man/man1/ls.1.gz'];
    expect(isPacked('usr/share/locale/de', 'dir', keep)).toBe(true);
    expect(isPacked('usr/share/locale/de/LC_MESSAGES/python.mo', 'file', keep)).toBe(true);
    expect(isPacked('usr/share/locale/fr', 'dir', keep)).toBe(false);
    expect(isPacked('usr/share/locale/de/foo', 'file', keep)).toBe(false);
    expect(isPacked('usr/share/man/man1', 'dir', keep)).toBe(true);
    expect(isPacked('usr/share/man/man1/ls.1.gz', 'file', keep)).toBe(true);
    expect(isPacked('usr/share/man/man1/cp.1.gz', 'file', keep)).toBe(false);
  });
});

describe('prune in runtime.yaml', () => {
  it('accepts enabled and keep paths', () => {
    const r = validateRuntimeSpec(
      withBase('prune:\n  enabled: true\n  keep:\n    - /usr/share/locale/de\n'),
    );
    expect(r.errors).toEqual([]);
    expect(r.spec?.prune).toEqual({ enabled: true, keep: ['/usr/share/locale/de'] });
  });

  itRejects([
    {
      name: 'a relative keep path',
      yaml: withBase('prune:\n  keep:\n    - usr/share/locale/de\n'),
      ...{ line: 9, column: 7, path: 'prune.keep[0]', code: 'INVALID_PATH' },
      message: '"usr/share/locale/de" must be an absolute path below /usr/share/doc',
    },
    {
      name: 'a keep path that is not left out',
      yaml: withBase('prune:\n  keep:\n    - /usr/lib/python3\n'),
      ...{ line: 9, column: 7, path: 'prune.keep[0]', code: 'INVALID_PATH' },
      message: '"/usr/lib/python3" is not left out, so there is nothing to keep',
    },
    {
      name: 'a keep path with ..',
      yaml: withBase('prune:\n  keep:\n    - /usr/share/locale/../../lib\n'),
      ...{ line: 9, column: 7, path: 'prune.keep[0]', code: 'INVALID_PATH' },
      message: 'must be a plain path',
    },
    {
      name: 'a keep path listed twice',
      yaml: withBase('prune:\n  keep:\n    - /usr/share/man\n    - /usr/share/man\n'),
      ...{ line: 10, column: 7, path: 'prune.keep[1]', code: 'DUPLICATE_ENTRY' },
      message: 'is listed twice',
    },
    {
      name: 'enabled that is not a boolean',
      yaml: withBase('prune:\n  enabled: sometimes\n'),
      ...{ line: 8, column: 12, path: 'prune.enabled', code: 'INVALID_TYPE' },
      message: 'expected true or false, got "sometimes"',
    },
    {
      name: 'a misspelled key',
      yaml: withBase('prune:\n  kep: []\n'),
      ...{ line: 8, column: 3, path: 'prune.kep', code: 'UNKNOWN_KEY' },
      message: 'did you mean "keep"?',
    },
  ]);
});
