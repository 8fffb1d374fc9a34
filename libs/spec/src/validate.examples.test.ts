import { describe, expect, it } from 'vitest';
import { builtinCatalog } from './catalog-builtin.js';
import { findCatalogEntry } from './catalog.js';
import { RuntimeSpec } from './runtime-spec.js';
import { exampleSpecs } from './test-support/specs.js';
import { validateRuntimeSpec } from './validate.js';

const examples = exampleSpecs();

describe('examples/*/runtime.yaml', () => {
  it('has the guide examples and a node runtime', () => {
    expect(examples.map((e) => e.name)).toEqual([
      'java-21',
      'node-20',
      'openjdk-17',
      'openjdk-21',
      'python-3.11',
      'python-3.11-ml',
      'python-3.12-custom',
    ]);
  });

  it.each(examples)('$name is valid, from text and from bytes', ({ file, text }) => {
    for (const source of [text, new TextEncoder().encode(text)]) {
      const r = validateRuntimeSpec(source, { file });
      expect(r.errors).toEqual([]);
      expect(r.ok).toBe(true);
      expect(RuntimeSpec.parse(r.spec)).toEqual(r.spec);
    }
  });

  it('python-3.12-custom validates on a server against the built-in pins (python-build-standalone)', () => {
    const { text } = examples.find((e) => e.name === 'python-3.12-custom')!;
    const offline = validateRuntimeSpec(text);
    expect(offline.ok).toBe(true);
    expect(offline.warnings.map((w) => w.code)).not.toContain('UNKNOWN_BASE');
    const server = validateRuntimeSpec(text, { catalogMode: 'server' });
    expect(server.errors).toEqual([]);
    expect(server.ok).toBe(true);
    expect(findCatalogEntry(builtinCatalog, 'python', '3.12')?.toolchain?.project).toBe(
      'python-build-standalone',
    );
  });

  it('python-3.11-ml keeps the guide hook (with a yum fallback) and warns about its timeout', () => {
    const { text } = examples.find((e) => e.name === 'python-3.11-ml')!;
    const r = validateRuntimeSpec(text);
    expect(r.spec?.hooks?.pre_install).toContain('yum install -y openblas-devel');
    expect(r.warnings.map((w) => w.code)).toEqual(['HOOK_WITHOUT_TIMEOUT']);
    expect(r.spec?.environment).toEqual({ PYTHONUNBUFFERED: '1' });
  });

  it.each(['java-21', 'node-20', 'openjdk-17', 'openjdk-21', 'python-3.11'])(
    '%s has no warnings',
    (name) => {
      const { text } = examples.find((e) => e.name === name)!;
      expect(validateRuntimeSpec(text).warnings).toEqual([]);
    },
  );
});
