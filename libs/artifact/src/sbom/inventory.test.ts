import { PackageURL } from 'packageurl-js';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTemps, tempDir } from '../testing.js';
import { parseDpkgStatus } from './dpkg-status.js';
import { readInventory } from './inventory.js';
import { REMOVED_STANZA, realDpkgStatus, writeRuntimeTree } from './sbom.fixture.js';

afterAll(cleanupTemps);

const toolchain = {
  project: 'nodejs',
  version: '22',
  files: [
    {
      url: 'https://nodejs.org/dist/v22.11.0/node-v22.11.0-linux-x64.tar.xz',
      sha256: 'a'.repeat(64),
    },
  ],
};

describe('readInventory on a runtime tree', () => {
  it('lists every installed dpkg package of the real status file, with purls, and no removed one', async () => {
    const root = tempDir('sbom-tree-');
    writeRuntimeTree(root);
    const pkgs = await readInventory(root, { distro: 'debian', toolchain });
    const debs = pkgs.filter((p) => p.ecosystem === 'deb');
    const status = parseDpkgStatus(realDpkgStatus().text);
    expect(status.length).toBeGreaterThan(50);
    expect(debs.map((d) => d.name).sort()).toEqual(status.map((s) => s.name).sort());
    expect(debs.some((d) => d.name === 'gone-pkg')).toBe(false);
    expect(REMOVED_STANZA).toContain('gone-pkg');
    const libc = debs.find((d) => d.name === 'libc6')!;
    expect(libc.purl).toBe(`pkg:deb/debian/libc6@${libc.version}?arch=amd64`);
    expect(libc.version).toMatch(/^2\.\d+/);
  });

  it('reads pip dist-info, egg-info files and npm package.json files, scoped and nested', async () => {
    const root = tempDir('sbom-tree-');
    writeRuntimeTree(root);
    const pkgs = await readInventory(root, { distro: 'debian' });
    const find = (e: string, n: string) => pkgs.find((p) => p.ecosystem === e && p.name === n);
    expect(find('pypi', 'six')).toMatchObject({
      version: '1.16.0',
      purl: 'pkg:pypi/six@1.16.0',
      license: 'MIT',
    });
    expect(find('pypi', 'Typing_Extensions')).toMatchObject({
      purl: 'pkg:pypi/typing-extensions@4.9.0',
      license: 'PSF-2.0',
    });
    expect(find('pypi', 'chardet')?.version).toBe('5.1.0');
    expect(find('npm', 'left-pad')).toMatchObject({
      version: '1.3.0',
      purl: 'pkg:npm/left-pad@1.3.0',
    });
    expect(find('npm', '@types/node')?.purl).toBe('pkg:npm/%40types/node@20.11.0');
    expect(find('npm', 'is-odd')?.path).toBe(
      'usr/local/lib/node_modules/left-pad/node_modules/is-odd/package.json',
    );
    // The broken package.json is skipped; the symlink to the host's node_modules is not followed.
    expect(
      pkgs
        .filter((p) => p.ecosystem === 'npm')
        .map((p) => p.name)
        .sort(),
    ).toEqual(['@types/node', 'is-odd', 'left-pad']);
  });

  it('names each toolchain file by its URL and sha256', async () => {
    const root = tempDir('sbom-tree-');
    const [tc] = await readInventory(root, { distro: 'debian', toolchain });
    expect(tc).toMatchObject({
      ecosystem: 'generic',
      name: 'node-v22.11.0-linux-x64.tar.xz',
      sha256: 'a'.repeat(64),
      downloadLocation: toolchain.files[0]!.url,
    });
    const purl = PackageURL.fromString(tc!.purl);
    expect(purl).toMatchObject({ type: 'generic', namespace: 'nodejs', version: '22' });
    expect(purl.qualifiers).toEqual({
      checksum: `sha256:${'a'.repeat(64)}`,
      download_url: toolchain.files[0]!.url,
    });
  });
});
