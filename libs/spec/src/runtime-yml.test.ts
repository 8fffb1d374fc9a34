import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { findCatalogEntry } from './catalog.js';
import { builtinCatalog } from './catalog-builtin.js';
import type { Arch } from './constants.js';
import { RuntimeYml, parseRuntimeYml, serializeRuntimeYml } from './runtime-yml.js';
import { buildRuntimeYml, type BuildRuntimeYmlInput } from './runtime-yml-build.js';
import { SpecError } from './spec-error.js';
import { exampleSpecs } from './test-support/specs.js';
import { validateRuntimeSpec } from './validate.js';

const examples = exampleSpecs();

function inputFor(
  name: string,
  arch: Arch,
  extra: Partial<BuildRuntimeYmlInput> = {},
): BuildRuntimeYmlInput {
  const { text } = examples.find((e) => e.name === name)!;
  const { spec } = validateRuntimeSpec(text);
  // python-3.12-custom needs an operator's entry; take Ubuntu noble's, as a catalog file would add.
  const catalogEntry = findCatalogEntry(
    builtinCatalog,
    spec!.base.language,
    spec!.base.version,
  ) ?? {
    ...findCatalogEntry(builtinCatalog, 'python', '3.13')!,
    version: '3.12',
    distro: 'ubuntu' as const,
    suite: 'noble',
  };
  return {
    spec: spec!,
    originalYaml: text,
    arch,
    catalogEntry,
    resolved: {
      pip: ['numpy==1.26.2', 'pandas==2.1.3', 'scikit-learn==1.3.2'],
      npm: [],
      system: ['libopenblas0-pthread=0.3.21+ds-4', 'python3=3.11.2-1+b1'],
    },
    presentDirs: [
      'usr/bin',
      'usr/lib',
      'usr/share',
      'lib',
      'lib64',
      'bin',
      'etc/ssl',
      'etc/alternatives',
      'proc',
      'etc/java-21-openjdk',
    ],
    builtAt: new Date('2025-12-22T17:43:00.123Z'),
    builderVersion: '0.1.0',
    buildKey: 'a'.repeat(64),
    ...extra,
  };
}

describe('buildRuntimeYml', () => {
  it.each([
    ['amd64', 'x86_64-linux-gnu'],
    ['arm64', 'aarch64-linux-gnu'],
  ] as const)(
    'python on %s: library paths, requirements and build info for that architecture',
    (arch, triplet) => {
      const y = buildRuntimeYml(inputFor('python-3.11-ml', arch));
      expect(y.environment.LD_LIBRARY_PATH).toBe(
        `/usr/local/lib:/lib/${triplet}:/usr/lib/${triplet}:/lib:/usr/lib`,
      );
      expect(y.requirements).toEqual({ architectures: [arch], gpu: false });
      expect(y.build_info).toEqual({
        built_at: '2025-12-22T17:43:00Z',
        built_with: 'joblet-runtime-farm',
        builder_version: '0.1.0',
        platform: `debian-${arch}`,
        arch,
        suite: 'bookworm',
        build_key: 'a'.repeat(64),
      });
      expect(y).toMatchObject({
        name: 'python-3.11-ml',
        language: 'python',
        language_version: '3.11',
        version: '1.0.0',
        description: 'Python 3.11 with ML packages',
        packages: ['numpy==1.26.2', 'pandas==2.1.3', 'scikit-learn==1.3.2'],
        system_packages: ['libopenblas0-pthread=0.3.21+ds-4', 'python3=3.11.2-1+b1'],
        libraries: ['libopenblas*', 'libgfortran*'],
      });
      expect(y.environment).toMatchObject({
        PYTHONUNBUFFERED: '1',
        PYTHONDONTWRITEBYTECODE: '1',
        LANG: 'C.UTF-8',
      });
      expect(y.environment.JAVA_HOME).toBeUndefined();
    },
  );

  it('mounts only the directories that exist, read-only, never sandbox ones', () => {
    const y = buildRuntimeYml(inputFor('python-3.11-ml', 'amd64'));
    expect(y.mounts).toEqual(
      ['bin', 'lib', 'lib64', 'usr/bin', 'usr/lib', 'usr/share', 'etc/ssl', 'etc/alternatives'].map(
        (d) => ({
          source: `isolated/${d}`,
          target: `/${d}`,
          readonly: true,
        }),
      ),
    );
  });

  it.each([
    ['amd64', '/usr/lib/jvm/java-21-openjdk-amd64'],
    ['arm64', '/usr/lib/jvm/java-21-openjdk-arm64'],
  ] as const)('java on %s: JAVA_HOME and its bin on PATH, JDK config mounted', (arch, home) => {
    const y = buildRuntimeYml(
      inputFor('openjdk-21', arch, { resolved: { pip: [], npm: [], system: [] } }),
    );
    expect(y.environment.JAVA_HOME).toBe(home);
    expect(y.environment.PATH).toBe(`${home}/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`);
    expect(y.environment.JAVA_TOOL_OPTIONS).toBe('-XX:+UseContainerSupport');
    expect(y.mounts.at(-1)).toEqual({
      source: 'isolated/etc/java-21-openjdk',
      target: '/etc/java-21-openjdk',
      readonly: true,
    });
    expect(y.requirements).toEqual({ architectures: [arch], gpu: false, min_memory: '512MB' });
  });

  it('applies the spec environment last', () => {
    const input = inputFor('python-3.11', 'arm64');
    input.spec = { ...input.spec, environment: { PATH: '/opt/bin:/usr/bin', LANG: 'de_DE.UTF-8' } };
    const y = buildRuntimeYml(input);
    expect(y.environment.PATH).toBe('/opt/bin:/usr/bin');
    expect(y.environment.LANG).toBe('de_DE.UTF-8');
    expect(Object.keys(y.environment)).toEqual([...Object.keys(y.environment)].sort());
  });

  it('normalizes presentDirs spellings', () => {
    const y = buildRuntimeYml(
      inputFor('node-20', 'amd64', { presentDirs: ['./usr/bin/', 'isolated/lib', '/lib64'] }),
    );
    expect(y.mounts.map((m) => m.target)).toEqual(['/lib', '/lib64', '/usr/bin']);
    expect(y.environment.NODE_PATH).toContain('/usr/local/lib/node_modules');
  });

  it('rejects inputs that would produce an invalid runtime.yml', () => {
    expect(() =>
      buildRuntimeYml(inputFor('python-3.11', 'amd64', { buildKey: 'not-a-hash' })),
    ).toThrow(SpecError);
    expect(() =>
      buildRuntimeYml(inputFor('python-3.11', 'amd64', { builtAt: new Date('nope') })),
    ).toThrow(/build_info\.built_at/);
  });
});

describe('serializeRuntimeYml / parseRuntimeYml', () => {
  it.each(examples.map((e) => e.name))('%s round-trips on both architectures', (name) => {
    for (const arch of ['amd64', 'arm64'] as const) {
      const y = buildRuntimeYml(inputFor(name, arch));
      const text = serializeRuntimeYml(y);
      const back = parseRuntimeYml(text);
      expect(back.errors).toEqual([]);
      expect(back.value).toEqual(y);
      expect(RuntimeYml.parse(back.value)).toEqual(y);
    }
  });

  it('writes the guide layout: quoted versions, original_yaml as a literal block, no aliases', () => {
    const text = serializeRuntimeYml(buildRuntimeYml(inputFor('python-3.11-ml', 'amd64')));
    expect(text).toMatch(
      /^# runtime\.yml: generated by joblet-runtime-farm 0\.1\.0; do not edit\n/,
    );
    expect(text).toContain('language_version: "3.11"\n');
    expect(text).toContain('original_yaml: |\n  schema_version: "1.0"\n  name: python-3.11-ml\n');
    expect(text).toContain('PYTHONUNBUFFERED: "1"');
    expect(text).not.toMatch(/[&*][a-z]\w*\b/);
    expect(text.indexOf('name:')).toBeLessThan(text.indexOf('mounts:'));
    expect(text.indexOf('build_info:')).toBeLessThan(text.indexOf('original_yaml:'));
  });

  it('keeps any original_yaml and environment text exactly', () => {
    const base = buildRuntimeYml(inputFor('python-3.11', 'amd64'));
    fc.assert(
      fc.property(fc.string(), fc.string({ maxLength: 40 }), (originalYaml, value) => {
        const y = {
          ...base,
          original_yaml: originalYaml,
          environment: { ...base.environment, X: value },
        };
        const back = parseRuntimeYml(serializeRuntimeYml(y));
        if (!back.ok) {
          // Only text the spec validator would never have accepted may fail to load.
          expect(back.errors[0]!.code).toMatch(/BINARY|ENCODING/);
          return;
        }
        expect(back.value).toEqual(y);
      }),
      { numRuns: 200 },
    );
  });

  it.each([
    [
      'a mount escaping isolated/',
      (t: string) => t.replace('source: isolated/usr/bin', 'source: isolated/../../etc'),
      'mounts[3].source',
      'must be a normalized path inside isolated/',
    ],
    [
      'a mount over /proc',
      (t: string) => t.replace('target: /usr/bin', 'target: /proc/self'),
      'mounts[3].target',
      'inside /proc, which the sandbox provides',
    ],
    [
      'a writable mount',
      (t: string) => t.replace('readonly: true', 'readonly: false'),
      'mounts[0].readonly',
      'must be true',
    ],
    [
      'an unquoted language version',
      (t: string) => t.replace('language_version: "3.11"', 'language_version: 3.11'),
      'language_version',
      'quote it',
    ],
    [
      'a bad architecture',
      (t: string) => t.replace('    - amd64', '    - x86'),
      'requirements.architectures[0]',
      'is not supported (amd64, arm64)',
    ],
  ])('rejects %s with its position', (_name, mutate, path, message) => {
    const text = mutate(serializeRuntimeYml(buildRuntimeYml(inputFor('python-3.11-ml', 'amd64'))));
    const r = parseRuntimeYml(text, '/opt/joblet/runtimes/x/1.0.0/runtime.yml');
    expect(r.ok).toBe(false);
    const found = r.errors.find((e) => e.path === path);
    expect(found, JSON.stringify(r.errors, null, 2)).toBeDefined();
    expect(found!.message).toContain(message);
    expect(found!.file).toBe('/opt/joblet/runtimes/x/1.0.0/runtime.yml');
    const line = text.split('\n')[found!.line - 1]!;
    expect(line.length).toBeGreaterThanOrEqual(found!.column);
  });

  it('ignores keys from newer builders', () => {
    const text = `${serializeRuntimeYml(buildRuntimeYml(inputFor('python-3.11', 'amd64')))}future_field: 1\n`;
    expect(parseRuntimeYml(text).ok).toBe(true);
  });
});
