import { describe, expect, it } from 'vitest';
import {
  CatalogEntry,
  builtinCatalog,
  catalogVersions,
  findCatalogEntry,
  mergeCatalogs,
  type BaseCatalog,
} from './catalog.js';
import { LANGUAGES } from './constants.js';

describe('builtinCatalog', () => {
  it('maps each language version to the Debian suite that ships it', () => {
    const rows = builtinCatalog.entries.map((e) => [
      e.language,
      e.version,
      e.suite,
      e.packages.join(' '),
    ]);
    expect(rows).toEqual([
      ['python', '3.11', 'bookworm', 'python3 python3-pip python3-venv'],
      ['python', '3.13', 'trixie', 'python3 python3-pip python3-venv'],
      ['java', '17', 'bookworm', 'openjdk-17-jdk-headless'],
      ['java', '21', 'trixie', 'openjdk-21-jdk-headless'],
      ['node', '18', 'bookworm', 'nodejs npm'],
      ['node', '20', 'trixie', 'nodejs npm'],
      ['go', '1.19', 'bookworm', 'golang-go'],
      ['go', '1.24', 'trixie', 'golang-go'],
      ['rust', '1.63', 'bookworm', 'rustc cargo'],
      ['rust', '1.85', 'trixie', 'rustc cargo'],
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
    });
    expect(findCatalogEntry(builtinCatalog, 'java', '21')).toMatchObject({
      binary: 'java',
      versionArgs: ['-version'],
    });
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
      entries: [{ ...builtinCatalog.entries[0]!, version: '3.9', suite: 'bullseye' }],
    });
    expect(catalogVersions(catalog, 'python')).toEqual(['3.9', '3.11', '3.13']);
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
    expect(merged.entries).toHaveLength(builtinCatalog.entries.length + 1);
    expect(findCatalogEntry(merged, 'java', '17')?.mirror).toBe('https://debian.internal/debian');
    expect(catalogVersions(merged, 'python')).toEqual(['3.11', '3.12', '3.13']);
    // Ordered by language (as LANGUAGES lists them), then version.
    expect(merged.entries.slice(0, 3).map((e) => e.version)).toEqual(['3.11', '3.12', '3.13']);
    // The inputs are untouched.
    expect(findCatalogEntry(builtinCatalog, 'java', '17')?.mirror).toBeUndefined();
  });
});
