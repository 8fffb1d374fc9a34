import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  hostAptMirror,
  parseDeb822Sources,
  parseOneLineSources,
  pickDebianMirror,
} from './apt-sources.js';
import { cleanupTemps, tempDir } from '@joblet/sandbox/testing';

afterAll(cleanupTemps);

const DEB822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;

describe('apt sources', () => {
  it('parses deb822 paragraphs and the one-line format with options', () => {
    const s = parseDeb822Sources(DEB822, 'debian.sources');
    expect(s).toHaveLength(2);
    expect(s[0]).toMatchObject({
      types: ['deb'],
      uris: ['http://deb.debian.org/debian'],
      suites: ['bookworm', 'bookworm-updates'],
      components: ['main'],
      enabled: true,
    });
    const l = parseOneLineSources(
      '# comment\ndeb [arch=amd64,i386 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main contrib\ndeb-src http://x/debian bookworm main\n',
      'sources.list',
    );
    expect(l[0]).toMatchObject({
      types: ['deb'],
      uris: ['http://mirror.example/debian/'],
      architectures: ['amd64', 'i386'],
      components: ['main', 'contrib'],
    });
    expect(l[1]?.types).toEqual(['deb-src']);
  });

  it('picks the Debian archive, not security, third-party, disabled or other-arch entries', () => {
    const third = parseDeb822Sources(
      'Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n',
      'n',
    );
    const off = parseDeb822Sources(
      'Enabled: no\nTypes: deb\nURIs: http://off/debian\nSuites: bookworm\nComponents: main\n',
      'o',
    );
    const amd = parseOneLineSources('deb [arch=amd64] http://amd-only/debian bookworm main', 'a');
    const all = [...third, ...off, ...amd, ...parseDeb822Sources(DEB822, 'd')].reverse();
    expect(pickDebianMirror(all)).toBe('http://deb.debian.org/debian');
    expect(pickDebianMirror([...third, ...off, ...amd], 'amd64')).toBe('http://amd-only/debian');
    expect(pickDebianMirror([...third, ...off, ...amd], 'arm64')).toBeUndefined();
  });

  it('reads a system root: sources.list plus sources.list.d/*.list and *.sources', async () => {
    const root = tempDir('apt-root');
    mkdirSync(join(root, 'etc/apt/sources.list.d'), { recursive: true });
    writeFileSync(join(root, 'etc/apt/sources.list.d/debian.sources'), DEB822);
    writeFileSync(
      join(root, 'etc/apt/sources.list.d/old.list.disabled'),
      'deb http://nope/debian bookworm main',
    );
    expect(await hostAptMirror({ root })).toBe('http://deb.debian.org/debian');
    writeFileSync(join(root, 'etc/apt/sources.list'), 'deb http://first/debian bookworm main\n');
    expect(await hostAptMirror({ root })).toBe('http://first/debian');
  });

  it.skipIf(!existsSync('/etc/apt'))(
    'finds a mirror on this host [requires /etc/apt]',
    async () => {
      expect(await hostAptMirror()).toMatch(/^https?:\/\//);
    },
  );
});
