import { describe, expect, it } from 'vitest';
import { canonicalJson, computeBuildKey } from './build-key.js';
import { findCatalogEntry } from './catalog.js';
import { builtinCatalog } from './catalog-builtin.js';
import { BASE } from './test-support/specs.js';
import { validateRuntimeSpec } from './validate.js';

describe('build keys', () => {
  const entry = findCatalogEntry(builtinCatalog, 'python', '3.11')!;
  const spec = validateRuntimeSpec(BASE).spec!;
  const key = (s = spec, arch: 'amd64' | 'arm64' = 'amd64', builderVersion = '1') =>
    computeBuildKey({ spec: s, arch, catalogEntry: entry, builderVersion });

  it('ignores formatting, comments and key order', () => {
    const reformatted = validateRuntimeSpec(
      `# a comment\nbase: {version: "3.11", language: python}\nversion: 1.0.0\nname: demo\nschema_version: "1.0"\n`,
    ).spec!;
    expect(key(reformatted)).toBe(key());
    expect(key()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with the content, the architecture and the builder', () => {
    const other = validateRuntimeSpec(BASE.replace('1.0.0', '1.0.1')).spec!;
    expect(new Set([key(), key(other), key(spec, 'arm64'), key(spec, 'amd64', '2')]).size).toBe(4);
  });

  it('writes canonical JSON', () => {
    expect(canonicalJson({ b: 1, a: [{ d: undefined, c: 'x' }] })).toBe('{"a":[{"c":"x"}],"b":1}');
  });
});
