/**
 * Invalid specs, part 1: shape (keys, types, enums), names and versions, YAML-level problems.
 * Every case asserts the line, column, field path, code and message of the diagnostic.
 */
import { describe, expect, it } from 'vitest';
import { itRejects, type InvalidCase } from './test-support/invalid-cases.js';
import { BASE, withBase } from './test-support/specs.js';
import { validateRuntimeSpec } from './validate.js';

const replace = (from: string, to: string) => BASE.replace(from, to);

const shapeCases: InvalidCase[] = [
  // Shape: keys, types, enums.
  {
    name: 'misspelled language',
    yaml: replace('language: python', 'language: pyhton'),
    ...{ line: 5, column: 13, path: 'base.language', code: 'INVALID_VALUE' },
    message:
      '"pyhton" is not supported (python, java, node, go, rust, debian) — did you mean "python"?',
  },
  {
    name: 'language alias',
    yaml: replace('language: python', 'language: nodejs'),
    ...{ line: 5, column: 13, path: 'base.language', code: 'INVALID_VALUE' },
    message: 'did you mean "node"?',
  },
  {
    name: 'unknown top-level key',
    yaml: withBase('nmae: demo\n'),
    ...{ line: 7, column: 1, path: 'nmae', code: 'UNKNOWN_KEY' },
    message: 'unknown key "nmae" — did you mean "name"?',
  },
  {
    name: 'unknown key without a close match lists the allowed keys',
    yaml: withBase('colour: blue\n'),
    ...{ line: 7, column: 1, path: 'colour', code: 'UNKNOWN_KEY' },
    message: 'allowed keys: schema_version, name, version, description, base, pip',
  },
  {
    name: 'unknown nested key',
    yaml: replace('  version: "3.11"', '  versoin: "3.11"'),
    ...{ line: 6, column: 3, path: 'base.versoin', code: 'UNKNOWN_KEY' },
    message: 'did you mean "version"?',
  },
  {
    name: 'missing nested key is reported at its mapping',
    yaml: replace('  version: "3.11"\n', ''),
    ...{ line: 5, column: 3, path: 'base.version', code: 'MISSING_KEY' },
    message: 'required key is missing; expected a string',
  },
  {
    name: 'missing top-level key is reported at the top mapping',
    yaml: replace('name: demo\n', ''),
    ...{ line: 1, column: 1, path: 'name', code: 'MISSING_KEY' },
    message: 'required key is missing',
  },
  {
    name: 'missing language lists the languages',
    yaml: replace('  language: python\n', ''),
    ...{ line: 5, column: 3, path: 'base.language', code: 'MISSING_KEY' },
    message: 'expected one of python, java, node, go, rust',
  },
  {
    name: 'wrong schema_version',
    yaml: replace('"1.0"', '"2.0"'),
    ...{ line: 1, column: 17, path: 'schema_version', code: 'INVALID_VALUE' },
    message: 'must be "1.0", got "2.0"',
  },
  {
    name: 'base given as a string',
    yaml: `schema_version: "1.0"\nname: demo\nversion: 1.0.0\nbase: python\n`,
    ...{ line: 4, column: 7, path: 'base', code: 'INVALID_TYPE' },
    message: 'expected a mapping (key: value lines), got "python"',
  },
  {
    name: 'pip given as a string',
    yaml: withBase('pip: numpy\n'),
    ...{ line: 7, column: 6, path: 'pip', code: 'INVALID_TYPE' },
    message: 'expected a list, got "numpy"; write a list, e.g. pip: ["numpy"]',
  },
  {
    name: 'empty list key',
    yaml: withBase('npm:\n'),
    ...{ line: 7, column: 1, path: 'npm', code: 'INVALID_TYPE' },
    message: 'expected a list, got nothing (null); give a value or remove the key',
  },
  {
    name: 'number in a list of strings',
    yaml: withBase('pip:\n  - numpy\n  - 42\n'),
    ...{ line: 9, column: 5, path: 'pip[1]', code: 'INVALID_TYPE' },
    message: 'expected a string, got number 42; quote it: "42"',
  },
  {
    name: 'gpu as a string',
    yaml: withBase('requirements:\n  gpu: "yes"\n'),
    ...{ line: 8, column: 8, path: 'requirements.gpu', code: 'INVALID_TYPE' },
    message: 'expected true or false, got "yes"',
  },
  {
    name: 'unknown hook key',
    yaml: withBase('hooks:\n  pre-install: echo hi\n'),
    ...{ line: 8, column: 3, path: 'hooks.pre-install', code: 'UNKNOWN_KEY' },
    message: 'did you mean "pre_install"?',
  },
  {
    name: 'unknown platform',
    yaml: withBase('platforms: [ubuntu-amd64, windows-amd64]\n'),
    ...{ line: 7, column: 27, path: 'platforms[1]', code: 'INVALID_VALUE' },
    message: '"windows-amd64" is not supported (ubuntu-amd64, ubuntu-arm64,',
  },
  {
    name: 'architecture in the kernel spelling',
    yaml: withBase('architectures: [x86_64]\n'),
    ...{ line: 7, column: 17, path: 'architectures[0]', code: 'INVALID_VALUE' },
    message: '"x86_64" is not supported (amd64, arm64) — did you mean "amd64"?',
  },
  {
    name: 'duplicate architecture',
    yaml: withBase('architectures: [amd64, amd64]\n'),
    ...{ line: 7, column: 24, path: 'architectures[1]', code: 'DUPLICATE_ENTRY' },
    message: '"amd64" is listed twice (first at [0])',
  },
  {
    name: 'empty architectures',
    yaml: withBase('architectures: []\n'),
    ...{ line: 7, column: 16, path: 'architectures', code: 'TOO_SHORT' },
    message: 'must not be empty',
  },
  // Names and versions.
  {
    name: 'upper-case name',
    yaml: replace('name: demo', 'name: Demo'),
    ...{ line: 2, column: 7, path: 'name', code: 'INVALID_NAME' },
    message:
      'is not a valid runtime name: use 1-64 lowercase letters, digits, "." and "-", starting with a letter or digit — did you mean "demo"?',
  },
  {
    name: 'name with a path',
    yaml: replace('name: demo', 'name: ../../etc'),
    ...{ line: 2, column: 7, path: 'name', code: 'INVALID_NAME' },
    message: '"../../etc" must not contain ".."',
  },
  {
    name: 'name too long',
    yaml: replace('name: demo', `name: ${'a'.repeat(65)}`),
    ...{ line: 2, column: 7, path: 'name', code: 'TOO_LONG' },
    message: 'is too long: at most 64 characters (got 65)',
  },
  {
    name: 'two-part version',
    yaml: replace('version: 1.0.0', 'version: "1.0"'),
    ...{ line: 3, column: 10, path: 'version', code: 'INVALID_VERSION' },
    message: 'is not a semantic version (MAJOR.MINOR.PATCH, e.g. "1.0.0") — did you mean "1.0.0"?',
  },
  {
    name: 'version with a v',
    yaml: replace('version: 1.0.0', 'version: v1.2.3'),
    ...{ line: 3, column: 10, path: 'version', code: 'INVALID_VERSION' },
    message: 'did you mean "1.2.3"?',
  },
  {
    name: 'language version with letters',
    yaml: replace('"3.11"', '"3.11-slim"'),
    ...{ line: 6, column: 12, path: 'base.version', code: 'INVALID_VERSION' },
    message: 'is not a language version: use digits separated by dots, e.g. "3.11" or "21"',
  },
  {
    name: 'description too long',
    yaml: withBase(`description: ${'x'.repeat(300)}\n`),
    ...{ line: 7, column: 14, path: 'description', code: 'TOO_LONG' },
    message: 'at most 256 characters (got 300)',
  },
  {
    name: 'description with a terminal escape',
    yaml: withBase('description: "red \\e[31m text"\n'),
    ...{ line: 7, column: 14, path: 'description', code: 'INVALID_TEXT' },
    message: 'must not contain control characters',
  },
  // YAML-level problems.
  {
    name: 'duplicate key',
    yaml: withBase('name: other\n'),
    ...{ line: 7, column: 1, path: 'name', code: 'DUPLICATE_KEY' },
    message: 'duplicate key "name" (first defined on line 2); the first one is used',
  },
  {
    name: 'alias',
    yaml: withBase('description: &d hello\nenvironment:\n  DESC: *d\n'),
    ...{ line: 9, column: 9, path: 'environment.DESC', code: 'YAML_ALIAS' },
    message: 'YAML aliases (*d) are not supported',
  },
  {
    name: 'custom tag',
    yaml: withBase('description: !!binary aGVsbG8=\n'),
    ...{ line: 7, column: 23, path: 'description', code: 'YAML_TAG' },
    message: 'YAML tag "tag:yaml.org,2002:binary" is not supported',
  },
  {
    name: 'tab indentation',
    yaml: withBase('hooks:\n\tpre_install: echo\n'),
    ...{ line: 8, column: 1, path: '(root)', code: 'YAML_SYNTAX' },
    message: 'YAML syntax:',
  },
  {
    name: 'unclosed flow sequence',
    yaml: withBase('pip: [numpy\n'),
    ...{ line: 8, column: 1, path: '(root)', code: 'YAML_SYNTAX' },
    message: 'YAML syntax:',
  },
  {
    name: '__proto__ key',
    yaml: withBase('__proto__:\n  polluted: true\n'),
    ...{ line: 7, column: 1, path: '__proto__', code: 'BAD_KEY' },
    message: '"__proto__" cannot be used as a key',
  },
  {
    name: 'base the server lacks',
    yaml: replace('"3.11"', '"3.8"'),
    options: { catalogMode: 'server' },
    ...{ line: 6, column: 12, path: 'base.version', code: 'UNKNOWN_BASE' },
    message:
      "python 3.8: no base in the server's catalog; available: 3.9, 3.10, 3.11, 3.12, 3.13, 3.14",
  },
  {
    name: 'language the catalog has no version of',
    yaml: replace('language: python\n  version: "3.11"', 'language: go\n  version: "1.21"'),
    options: { catalogMode: 'server' },
    ...{ line: 6, column: 12, path: 'base.version', code: 'UNKNOWN_BASE' },
    message: "go 1.21: no base in the server's catalog; available: 1.19, 1.24",
  },
];

describe('invalid specs: shape, names, YAML', () => {
  itRejects(shapeCases);

  it('reports every error at once, in file order', () => {
    const yaml = `schema_version: "1.0"
name: Bad_Name
version: "1.0"
base:
  language: pyhton
  version: "3.11"
pip:
  - -e .
npm: [./x]
environment:
  LD_AUDIT: x
extra: 1
`;
    const r = validateRuntimeSpec(yaml, { file: 'spec/runtime.yaml' });
    expect(r.errors.map((e) => [e.line, e.path, e.code])).toEqual([
      [2, 'name', 'INVALID_NAME'],
      [3, 'version', 'INVALID_VERSION'],
      [5, 'base.language', 'INVALID_VALUE'],
      [8, 'pip[0]', 'INVALID_PIP'],
      [9, 'npm[0]', 'INVALID_NPM'],
      [11, 'environment.LD_AUDIT', 'RESERVED_ENV_NAME'],
      [12, 'extra', 'UNKNOWN_KEY'],
    ]);
    expect(r.errors.every((e) => e.file === 'spec/runtime.yaml')).toBe(true);
  });

  it('does not report a value twice when the YAML stage already did', () => {
    const r = validateRuntimeSpec(replace('"3.11"', '[3.11'));
    expect(r.errors.map((e) => e.code)).toEqual(['YAML_SYNTAX']);
  });
});
