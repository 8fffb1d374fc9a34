import { describe, expect, it } from 'vitest';
import { builtinCatalog } from './catalog-builtin.js';
import {
  CatalogEntry,
  catalogVersions,
  findCatalogEntry,
  mergeCatalogs,
  type BaseCatalog,
} from './catalog.js';
import { LANGUAGES } from './constants.js';
import { TOOLCHAIN_PROJECTS, toolchainArches } from './toolchain.js';

describe('builtinCatalog', () => {
  it('maps each language version to a Debian suite or a pinned upstream toolchain', () => {
    const rows = builtinCatalog.entries.map((e) => [
      e.language,
      e.version,
      e.toolchain ? e.toolchain.project : e.suite,
      e.toolchain ? (e.toolchain.path ?? []).join(' ') : e.packages.join(' '),
    ]);
    expect(rows).toEqual([
      ['python', '3.9', 'bullseye', 'python3 python3-pip python3-venv'],
      ['python', '3.10', 'python-build-standalone', '/opt/python/bin'],
      ['python', '3.11', 'bookworm', 'python3 python3-pip python3-venv'],
      ['python', '3.12', 'python-build-standalone', '/opt/python/bin'],
      ['python', '3.13', 'trixie', 'python3 python3-pip python3-venv'],
      ['python', '3.14', 'python-build-standalone', '/opt/python/bin'],
      ['java', '11', 'bullseye', 'openjdk-11-jdk-headless'],
      ['java', '17', 'bookworm', 'openjdk-17-jdk-headless'],
      ['java', '21', 'trixie', 'openjdk-21-jdk-headless'],
      ['node', '18', 'bookworm', 'nodejs npm'],
      ['node', '20', 'trixie', 'nodejs npm'],
      ['node', '22', 'npm-registry', '/opt/node/bin'],
      ['go', '1.19', 'bookworm', 'golang-go'],
      ['go', '1.24', 'trixie', 'golang-go'],
      ['go', '1.25', 'go', '/opt/go/bin'],
      ['rust', '1.63', 'bookworm', 'rustc cargo'],
      ['rust', '1.85', 'trixie', 'rustc cargo'],
      ['rust', '1.92', 'rust', '/opt/rust/bin'],
      ['debian', '12', 'bookworm', 'ca-certificates'],
      ['debian', '13', 'trixie', 'ca-certificates'],
    ]);
  });

  it('has a valid entry with a smoke-test command for every language', () => {
    for (const e of builtinCatalog.entries) {
      expect(CatalogEntry.parse(e)).toEqual(e);
      expect(e.distro).toBe('debian');
    }
    expect(new Set(builtinCatalog.entries.map((e) => e.language))).toEqual(new Set(LANGUAGES));
    expect(findCatalogEntry(builtinCatalog, 'python', '3.11')).toMatchObject({
      binary: 'python3',
      versionArgs: ['--version'],
      commands: { python: 'python3', pip: 'pip3' },
    });
    expect(findCatalogEntry(builtinCatalog, 'java', '21')).toMatchObject({
      binary: 'java',
      versionArgs: ['-version'],
    });
  });

  it('pins every upstream archive for both architectures, with the source of the pins', () => {
    const upstream = builtinCatalog.entries.filter((e) => e.toolchain);
    expect(upstream.length).toBe(6);
    for (const e of upstream) {
      const tc = e.toolchain!;
      expect(tc.note).toMatch(/sha256|sha512/);
      expect(toolchainArches(tc)).toEqual(['amd64', 'arm64']);
      for (const a of tc.archives) {
        for (const f of [a.amd64, a.arm64, a.any].filter((x) => x !== undefined)) {
          expect(f.url.startsWith(`${TOOLCHAIN_PROJECTS[tc.project]}/`)).toBe(true);
        }
      }
      // python, pip / node, npm, npx / go / rustc, cargo: the names users type.
      expect(Object.keys(e.commands ?? {}).length).toBeGreaterThan(0);
    }
    const py = findCatalogEntry(builtinCatalog, 'python', '3.12')!;
    expect(py.toolchain!.archives[0]!.amd64).toEqual({
      url: 'https://github.com/astral-sh/python-build-standalone/releases/download/20260814/cpython-3.12.14%2B20260814-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz',
      sha256: '5acfa3e9ba26b51ae161c83aff278da915b590d22373a424b2ba55b8afe91fcc',
    });
    expect(py.commands).toMatchObject({
      python: '/opt/python/bin/python3',
      pip: '/opt/python/bin/pip3',
    });
    const node = findCatalogEntry(builtinCatalog, 'node', '22')!;
    expect(Object.keys(node.commands!)).toEqual(['node', 'npm', 'npx']);
  });

  it('cannot be changed by a consumer', () => {
    expect(() => builtinCatalog.entries.push(builtinCatalog.entries[0]!)).toThrow(TypeError);
    expect(() => {
      builtinCatalog.entries[0]!.packages.push('evil');
    }).toThrow(TypeError);
  });
});

describe('catalog lookups', () => {
  it('finds exact versions only', () => {
    expect(findCatalogEntry(builtinCatalog, 'java', '17')?.suite).toBe('bookworm');
    expect(findCatalogEntry(builtinCatalog, 'java', '17.0')).toBeUndefined();
    expect(findCatalogEntry(builtinCatalog, 'cobol', '85')).toBeUndefined();
  });

  it('lists versions in numeric order', () => {
    const catalog = mergeCatalogs(builtinCatalog, {
      entries: [{ ...builtinCatalog.entries[0]!, version: '3.8', suite: 'buster' }],
    });
    expect(catalogVersions(catalog, 'python')).toEqual([
      '3.8',
      '3.9',
      '3.10',
      '3.11',
      '3.12',
      '3.13',
      '3.14',
    ]);
    expect(catalogVersions(catalog, 'cobol')).toEqual([]);
  });
});

describe('mergeCatalogs', () => {
  const noble: CatalogEntry = {
    language: 'python',
    version: '3.12',
    distro: 'ubuntu',
    suite: 'noble',
    mirror: 'http://mirror.example.com/ubuntu',
    components: ['main', 'universe'],
    packages: ['python3', 'python3-pip', 'python3-venv'],
    binary: 'python3',
    versionArgs: ['--version'],
  };

  it('adds new entries and replaces same (language, version) ones', () => {
    const privateJava: CatalogEntry = {
      ...findCatalogEntry(builtinCatalog, 'java', '17')!,
      mirror: 'https://debian.internal/debian',
    };
    const extra: BaseCatalog = { entries: [privateJava, noble] };
    const merged = mergeCatalogs(builtinCatalog, extra);
    expect(findCatalogEntry(merged, 'java', '17')?.mirror).toBe('https://debian.internal/debian');
    expect(merged.entries).toHaveLength(builtinCatalog.entries.length);
    expect(findCatalogEntry(merged, 'python', '3.12')?.suite).toBe('noble');
    // Ordered by language (as LANGUAGES lists them), then version.
    expect(merged.entries.slice(0, 3).map((e) => e.version)).toEqual(['3.9', '3.10', '3.11']);
    // The inputs are untouched.
    expect(findCatalogEntry(builtinCatalog, 'java', '17')?.mirror).toBeUndefined();
  });
});
