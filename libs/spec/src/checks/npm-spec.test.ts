import { describe, expect, it } from 'vitest';
import { checkNpmSpec, isNpmRange, npmPackageName } from './npm-spec.js';

describe('checkNpmSpec', () => {
  it.each([
    'typescript',
    'left-pad',
    'lodash.merge',
    'JSONStream',
    '@types/node',
    '@scope/pkg@1.2.3',
    'typescript@5',
    'typescript@^5.4.0',
    'react@~18.2',
    'foo@>=1.0.0 <2.0.0',
    'foo@1.x || 2.x',
    'foo@1.2.3 - 2.3.4',
    'foo@*',
    'foo@latest',
    'foo@next',
    'foo@1.0.0-beta.1',
  ])('accepts %j', (spec) => {
    expect(checkNpmSpec(spec)).toBeUndefined();
  });

  it.each([
    ['', 'invalid package name'],
    ['-g', 'must not start with "-"'],
    ['--unsafe-perm', 'must not start with "-"'],
    ['./local', 'paths, URLs'],
    ['../up', 'paths, URLs'],
    ['/abs/path', 'paths, URLs'],
    ['~/home', 'paths, URLs'],
    ['file:../x', 'paths, URLs'],
    ['user/repo', 'paths, URLs'],
    ['github:user/repo', 'paths, URLs'],
    ['git+https://example.com/r.git', 'paths, URLs'],
    ['https://example.com/x.tgz', 'paths, URLs'],
    ['foo@file:../foo', 'URLs, paths, git and npm: aliases are not allowed'],
    ['foo@npm:bar@1', 'URLs, paths, git and npm: aliases are not allowed'],
    ['foo@github:x/y', 'URLs, paths, git and npm: aliases are not allowed'],
    ['foo@', 'nothing follows "@"'],
    ['foo@$(id)', 'is neither a version range nor a tag'],
    ['foo@1.2.3; rm -rf ~', 'is neither a version range nor a tag'],
    ['@scope', 'a scoped name needs "/"'],
    ['@scope/', 'invalid scoped name'],
    ['.hidden', 'paths, URLs'],
    ['_private', 'invalid package name'],
    ['node_modules', 'reserved name'],
    ['a b', 'invalid package name'],
    [`${'a'.repeat(215)}`, 'longer than 214'],
  ])('rejects %j (%s)', (spec, why) => {
    const message = checkNpmSpec(spec);
    expect(message).toContain('is not an npm package spec');
    expect(message).toContain(why);
  });
});

describe('npm helpers', () => {
  it('extracts package names', () => {
    expect(npmPackageName('@types/node@20')).toBe('@types/node');
    expect(npmPackageName('typescript@5')).toBe('typescript');
    expect(npmPackageName('typescript')).toBe('typescript');
  });

  it('recognizes ranges', () => {
    expect(isNpmRange('^1.2.3 || >=2 <3')).toBe(true);
    expect(isNpmRange('- 1.2.3')).toBe(false);
    expect(isNpmRange('')).toBe(false);
  });
});
