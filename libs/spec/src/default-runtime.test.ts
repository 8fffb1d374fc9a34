import { describe, expect, it } from 'vitest';
import { builtinCatalog } from './catalog-builtin.js';
import { DEFAULT_RUNTIME_NAME, DEFAULT_RUNTIME_SPEC, isSystemRoot } from './default-runtime.js';
import { validateRuntimeSpec } from './validate.js';

describe('the default runtime spec', () => {
  it('validates against the built-in catalog as the server checks it', () => {
    const r = validateRuntimeSpec(DEFAULT_RUNTIME_SPEC, {
      file: 'runtime.yaml',
      catalog: builtinCatalog,
      catalogMode: 'server',
    });
    expect(r.errors).toEqual([]);
    expect(r.spec?.name).toBe(DEFAULT_RUNTIME_NAME);
    expect(r.spec?.base).toEqual({ language: 'debian', version: '12' });
    expect(r.spec?.hooks?.post_install).toContain('APT::Sandbox::User "root";');
  });

  it('is a system root; language runtimes are not', () => {
    expect(isSystemRoot('debian')).toBe(true);
    expect(isSystemRoot('python')).toBe(false);
  });
});
