import { describe, expect, it } from 'vitest';
import { builtinCatalog } from './catalog-builtin.js';
import { SpecSummary } from './contracts/validate.js';
import { summarizeSpec } from './summary.js';
import { exampleSpecs } from './test-support/specs.js';
import { validateRuntimeSpec } from './validate.js';

const spec = (name: string) =>
  validateRuntimeSpec(exampleSpecs().find((e) => e.name === name)!.text).spec!;

describe('summarizeSpec', () => {
  it('summarizes the ML example with its catalog base', () => {
    const s = summarizeSpec(spec('python-3.11-ml'), builtinCatalog, ['amd64']);
    expect(SpecSummary.parse(s)).toEqual(s);
    expect(s).toEqual({
      name: 'python-3.11-ml',
      version: '1.0.0',
      description: 'Python 3.11 with ML packages',
      language: 'python',
      languageVersion: '3.11',
      base: 'debian bookworm',
      architectures: ['amd64'],
      counts: { pip: 3, npm: 0, apt: 0, libraries: 2, environment: 1 },
      hooks: ['pre_install'],
    });
  });

  it('names an upstream base, omits a missing one and uses the spec architectures', () => {
    const s = summarizeSpec(spec('python-3.12-custom'), builtinCatalog, ['amd64']);
    expect(s.base).toBe('python-build-standalone on debian bookworm');
    const empty = { entries: [] };
    expect(summarizeSpec(spec('python-3.12-custom'), empty, ['amd64']).base).toBeUndefined();
    expect(s.hooks).toEqual(['post_install']);
    expect(summarizeSpec(spec('openjdk-17'), builtinCatalog, ['amd64']).architectures).toEqual([
      'amd64',
      'arm64',
    ]);
  });
});
