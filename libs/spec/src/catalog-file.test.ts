import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findCatalogEntry, mergeCatalogs } from './catalog.js';
import { builtinCatalog } from './catalog-builtin.js';
import { loadCatalogFile, parseCatalog } from './catalog-file.js';
import { SpecError } from './spec-error.js';
import { validateRuntimeSpec } from './validate.js';

const dir = mkdtempSync(join(tmpdir(), 'spec-catalog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NOBLE = `entries:
  - language: python
    version: "3.12"
    distro: ubuntu
    suite: noble
    mirror: http://mirror.example.com/ubuntu
    components: [main, universe]
    packages: [python3, python3-pip, python3-venv]
`;

const SHA = 'a'.repeat(64);
const TOOLCHAIN = `entries:
  - language: python
    version: "3.10"
    distro: debian
    suite: bookworm
    packages: []
    commands: { python: /opt/python/bin/python3 }
    toolchain:
      project: python-build-standalone
      archives:
        - into: /opt/python
          amd64: { url: "http://10.0.0.5/cpython-3.10-x86_64-install_only.tar.gz", sha256: ${SHA} }
      note: a test build
`;

describe('parseCatalog', () => {
  it("reads an upstream toolchain entry, strip defaulting to 1, commands replacing the language's", () => {
    const r = parseCatalog(TOOLCHAIN, 'catalog.yaml');
    expect(r.errors).toEqual([]);
    const e = r.ok ? r.catalog.entries[0]! : undefined;
    expect(e?.toolchain?.archives[0]).toEqual({
      into: '/opt/python',
      strip: 1,
      amd64: { url: 'http://10.0.0.5/cpython-3.10-x86_64-install_only.tar.gz', sha256: SHA },
    });
    expect(e?.commands).toEqual({ python: '/opt/python/bin/python3' });
    expect(e?.env).toEqual({ PYTHONDONTWRITEBYTECODE: '1' });
  });

  it('reads YAML and fills the language defaults', () => {
    const r = parseCatalog(NOBLE, 'catalog.yaml');
    expect(r.ok).toBe(true);
    expect(r.ok && r.catalog.entries[0]).toMatchObject({
      suite: 'noble',
      binary: 'python3',
      versionArgs: ['--version'],
      env: { PYTHONDONTWRITEBYTECODE: '1' },
    });
  });

  it('reads JSON', () => {
    const json = JSON.stringify({
      entries: [
        {
          language: 'node',
          version: '22',
          distro: 'debian',
          suite: 'sid',
          packages: ['nodejs', 'npm'],
          binary: '/usr/bin/node',
          versionArgs: ['-v'],
        },
      ],
    });
    const r = parseCatalog(json, 'catalog.json');
    expect(r.ok && r.catalog.entries[0]).toMatchObject({
      binary: '/usr/bin/node',
      versionArgs: ['-v'],
    });
  });

  it.each([
    [
      'unknown key with a hint',
      NOBLE.replace('    suite: noble', '    suite: noble\n    version_args: [-V]'),
      { line: 6, column: 5, path: 'entries[0].version_args', code: 'UNKNOWN_KEY' },
      'did you mean "versionArgs"?',
    ],
    [
      'bad mirror',
      NOBLE.replace('http://mirror.example.com/ubuntu', 'ftp://mirror'),
      { line: 6, column: 13, path: 'entries[0].mirror' },
      'is not an http(s) URL',
    ],
    [
      'bad package',
      NOBLE.replace('python3-venv', '"python3; rm -rf /"'),
      { line: 8, column: 38, path: 'entries[0].packages[2]' },
      'is not a Debian package name',
    ],
    [
      'missing suite',
      NOBLE.replace('    suite: noble\n', ''),
      { line: 2, column: 5, path: 'entries[0].suite', code: 'MISSING_KEY' },
      'required key is missing',
    ],
    [
      'duplicate entry',
      `${NOBLE}${NOBLE.replace('entries:\n', '')}`,
      { line: 9, column: 5, path: 'entries[1]', code: 'DUPLICATE_ENTRY' },
      'python 3.12 is listed twice (first at entries[0])',
    ],
    [
      'unknown language',
      NOBLE.replace('language: python', 'language: pyhton'),
      { line: 2, column: 15, path: 'entries[0].language' },
      'did you mean "python"?',
    ],
    [
      'bad sha256 pin',
      TOOLCHAIN.replace(`sha256: ${SHA}`, 'sha256: abc123'),
      { line: 12, column: 92, path: 'entries[0].toolchain.archives[0].amd64.sha256' },
      'must be 64 lowercase hex digits',
    ],
    [
      'toolchain unpacked outside /opt',
      TOOLCHAIN.replace('into: /opt/python', 'into: /usr/../etc'),
      { line: 11, column: 17, path: 'entries[0].toolchain.archives[0].into' },
      'must be an absolute path under /opt or /tmp',
    ],
    [
      'no packages and no toolchain',
      NOBLE.replace('packages: [python3, python3-pip, python3-venv]', 'packages: []'),
      { line: 8, column: 15, path: 'entries[0].packages' },
      'name at least one package, or give a toolchain',
    ],
    [
      'not a mapping',
      '- a\n',
      { line: 1, column: 1, path: '(root)', code: 'NOT_A_MAPPING' },
      'entries',
    ],
  ])('reports %s at its position', (_name, text, where, message) => {
    const r = parseCatalog(text, 'catalog.yaml');
    expect(r.ok).toBe(false);
    const found = r.errors.find((e) => e.path === where.path);
    expect(found, JSON.stringify(r.errors, null, 2)).toMatchObject({
      file: 'catalog.yaml',
      ...where,
    });
    expect(found!.message).toContain(message);
  });
});

describe('loadCatalogFile', () => {
  it('loads a file that merges over the built-in catalog', () => {
    const path = join(dir, 'catalog.yaml');
    writeFileSync(path, NOBLE);
    const catalog = mergeCatalogs(builtinCatalog, loadCatalogFile(path));
    expect(findCatalogEntry(catalog, 'python', '3.12')?.suite).toBe('noble');
    // …and the spec that warned offline now validates on a server with this catalog.
    const spec = `schema_version: "1.0"\nname: p\nversion: 1.0.0\nbase:\n  language: python\n  version: "3.12"\n`;
    const r = validateRuntimeSpec(spec, { catalog, catalogMode: 'server' });
    expect(r.ok).toBe(true);
    expect(r.warnings).toEqual([]);
  });

  it('throws CATALOG_INVALID listing every problem as file:line:column', () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(
      path,
      NOBLE.replace('suite: noble', 'suite: Noble!').replace('distro: ubuntu', 'distro: arch'),
    );
    let error: unknown;
    try {
      loadCatalogFile(path);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SpecError);
    expect(error).toMatchObject({ code: 'CATALOG_INVALID' });
    const message = (error as Error).message;
    expect(message).toContain(
      `${path}:4:13 entries[0].distro: "arch" is not supported (debian, ubuntu)`,
    );
    expect(message).toContain(`${path}:5:12 entries[0].suite: "Noble!" is not a suite name`);
  });

  it('throws CATALOG_UNREADABLE for a missing file', () => {
    expect(() => loadCatalogFile(join(dir, 'nope.yaml'))).toThrow(
      expect.objectContaining({
        code: 'CATALOG_UNREADABLE',
        message: expect.stringContaining('ENOENT'),
      }),
    );
  });
});
