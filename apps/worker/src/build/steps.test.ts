import { describe, expect, it } from 'vitest';
import {
  builtinCatalog,
  findCatalogEntry,
  validateRuntimeSpec,
  type RuntimeSpec,
} from '@joblet/spec';
import type { ChildConfig } from './protocol.js';
import { aptPackages, sourcesList } from './apt.step.js';
import { globToRegExp } from './assemble.step.js';
import { hookTimeoutS } from './hooks.step.js';
import { npmInstallArgs, pipIndexUrl, pipInstallArgs } from './pip-npm.step.js';
import { describeNormalisation } from './package.step.js';
import { emptyNormaliseReport } from '@joblet/artifact';

function spec(body: string): RuntimeSpec {
  const r = validateRuntimeSpec(`schema_version: "1.0"\nname: t\nversion: 1.0.0\n${body}`);
  if (!r.spec) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}
const python = findCatalogEntry(builtinCatalog, 'python', '3.11')!;
const config = { pipIndexUrl: 'http://127.0.0.1:1/simple/', npmRegistry: undefined } as ChildConfig;

describe('build steps', () => {
  it('apt: sources for the official mirror include updates and security', () => {
    expect(sourcesList({ entry: python, mirror: 'http://deb.debian.org/debian' })).toContain(
      'deb http://deb.debian.org/debian-security bookworm-security main',
    );
    expect(
      sourcesList({ entry: python, mirror: 'http://proxy:3142/debian' }).trim().split('\n'),
    ).toEqual([
      '# written by the joblet runtime farm builder',
      'deb http://proxy:3142/debian bookworm main',
    ]);
  });

  it("apt: catalog packages, what pip/npm need, then the spec's, without duplicates", () => {
    const node = findCatalogEntry(builtinCatalog, 'node', '18')!;
    const s = spec('base: {language: node, version: "18"}\npip: [requests]\napt: [curl, npm]\n');
    expect(aptPackages({ entry: node, spec: s })).toEqual(['nodejs', 'npm', 'python3-pip', 'curl']);
  });

  it('pip and npm: requirements after "--", sources from the configuration', () => {
    const s = spec(
      'base: {language: python, version: "3.11"}\npip: ["requests>=2"]\npip_options: ["--pre"]\nnpm: [left-pad]\n',
    );
    const pip = pipInstallArgs({ spec: s, config });
    expect(pip.slice(pip.indexOf('--'))).toEqual(['--', 'requests>=2']);
    expect(pip).toEqual(
      expect.arrayContaining(['--index-url', 'http://127.0.0.1:1/simple/', '--pre']),
    );
    expect(pip.indexOf('--pre')).toBeLessThan(pip.indexOf('--'));
    // A plain-http mirror of the operator's is trusted (pip accepts http only from localhost).
    expect(pip).toEqual(expect.arrayContaining(['--trusted-host', '127.0.0.1:1']));
    const https = pipInstallArgs({
      spec: s,
      config: { ...config, pipIndexUrl: 'https://m/simple/' },
    });
    expect(https).not.toContain('--trusted-host');
    const npm = npmInstallArgs({ spec: s, config: { ...config, npmRegistry: 'http://r/' } });
    expect(npm.slice(-4)).toEqual(['--registry', 'http://r/', '--', 'left-pad']);
    expect(
      pipIndexUrl({
        spec: spec(
          'base: {language: python, version: "3.11"}\npip_options: ["--index-url=https://i/simple"]\n',
        ),
        config,
      }),
    ).toBe('https://i/simple');
  });

  it('hooks: the spec timeout, else 20 minutes (Joblet’s default)', () => {
    expect(
      hookTimeoutS({
        spec: spec('base: {language: python, version: "3.11"}\nhooks: {timeout: 1m30s}\n'),
      }),
    ).toBe(90);
    expect(hookTimeoutS({ spec: spec('base: {language: python, version: "3.11"}\n') })).toBe(1200);
  });

  it('libraries: glob patterns as the shell reads them', () => {
    expect(globToRegExp('libopenblas*').test('libopenblas.so.0')).toBe(true);
    expect(globToRegExp('libopenblas*').test('xlibopenblas.so')).toBe(false);
    expect(globToRegExp('libgfortran.so.?').test('libgfortran.so.5')).toBe(true);
    expect(globToRegExp('lib[!c]*.so').test('libc.so')).toBe(false);
    expect(globToRegExp('lib[a-c]x.so').test('libbx.so')).toBe(true);
    expect(globToRegExp('lib+.so').test('lib+.so')).toBe(true);
  });

  it('package: the build log says what normalising the runtime tree changed', () => {
    const n = emptyNormaliseReport();
    expect(describeNormalisation(n)).toBe('normalised the runtime tree: nothing to change');
    n.scratchDirs = { count: 2, examples: ['isolated/tmp', 'isolated/var/tmp'] };
    n.removedEntries = 3;
    n.worldWritable = { count: 7, examples: ['a', 'b', 'c', 'd', 'e'] };
    n.foreignOwner = { count: 1, examples: ['isolated/home/u'] };
    expect(describeNormalisation(n)).toBe(
      'normalised the runtime tree: 2 scratch dirs emptied (3 entries) as 0755 mount points ' +
        '(isolated/tmp, isolated/var/tmp); 7 world-writable entries packed without o+w ' +
        '(a, b, c, d, e, …); 1 entries of other owners packed as 0:0 (isolated/home/u)',
    );
  });
});
