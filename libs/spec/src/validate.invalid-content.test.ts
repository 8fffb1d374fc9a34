/**
 * Invalid specs, part 2: contents of pip, pip_options, npm, apt, libraries, environment, hooks
 * and requirements. Every case asserts the line, column, field path, code and message.
 */
import { describe } from 'vitest';
import { itRejects, type InvalidCase } from './test-support/invalid-cases.js';
import { withBase } from './test-support/specs.js';

const contentCases: InvalidCase[] = [
  // pip and pip_options.
  {
    name: 'pip option smuggled into pip',
    yaml: withBase('pip:\n  - -r /etc/passwd\n'),
    ...{ line: 8, column: 5, path: 'pip[0]', code: 'INVALID_PIP' },
    message: 'it starts with "-"; pip options belong in pip_options',
  },
  {
    name: 'pip bad operator',
    yaml: withBase('pip:\n  - numpy>>1\n'),
    ...{ line: 8, column: 5, path: 'pip[0]', code: 'INVALID_PIP' },
    message: 'is not a PEP 508 requirement: expected a version at column 7, found ">1"',
  },
  {
    name: 'pip file URL',
    yaml: withBase('pip:\n  - "pkg @ file:///etc/passwd"\n'),
    ...{ line: 8, column: 5, path: 'pip[0]', code: 'INVALID_PIP' },
    message: 'only https:// URLs are allowed after "@"',
  },
  {
    name: 'pip bare git URL',
    yaml: withBase('pip:\n  - git+https://github.com/x/y\n'),
    ...{ line: 8, column: 5, path: 'pip[0]', code: 'INVALID_PIP' },
    message: 'a bare URL is not a requirement; write "name @ https://…"',
  },
  {
    name: 'pip unknown marker variable',
    yaml: withBase(`pip:\n  - "numpy; os == 'linux'"\n`),
    ...{ line: 8, column: 5, path: 'pip[0]', code: 'INVALID_PIP' },
    message: 'unknown marker variable "os"',
  },
  {
    name: 'pip shell injection',
    yaml: withBase('pip:\n  - "numpy; rm -rf /"\n'),
    ...{ line: 8, column: 5, path: 'pip[0]', code: 'INVALID_PIP' },
    message: 'unknown marker variable "rm"',
  },
  {
    name: 'pip option not on the allow-list',
    yaml: withBase('pip: [numpy]\npip_options:\n  - --user\n'),
    ...{ line: 9, column: 5, path: 'pip_options[0]', code: 'PIP_OPTION' },
    message: '"--user" is not allowed in pip_options; allowed: --pre, --no-deps',
  },
  {
    name: 'pip option with a space',
    yaml: withBase('pip: [numpy]\npip_options:\n  - --index-url https://pypi.example.com/simple\n'),
    ...{ line: 9, column: 5, path: 'pip_options[0]', code: 'PIP_OPTION' },
    message:
      'one option per list entry, written --name=value without spaces (here: "--index-url=https://pypi.example.com/simple"), or all options as one string',
  },
  {
    name: 'pip index that is not http(s)',
    yaml: withBase('pip: [numpy]\npip_options: ["--index-url=ftp://example.com/simple"]\n'),
    ...{ line: 8, column: 15, path: 'pip_options[0]', code: 'PIP_OPTION' },
    message: '--index-url needs an http:// or https:// URL',
  },
  {
    name: 'pip short option',
    yaml: withBase('pip: [numpy]\npip_options: ["-i"]\n'),
    ...{ line: 8, column: 15, path: 'pip_options[0]', code: 'PIP_OPTION' },
    message: 'short options are not accepted, use the long form',
  },
  {
    name: 'pip option misspelled',
    yaml: withBase('pip: [numpy]\npip_options: ["--no-dep"]\n'),
    ...{ line: 8, column: 15, path: 'pip_options[0]', code: 'PIP_OPTION' },
    message: 'did you mean "--no-deps"?',
  },
  // npm and apt.
  {
    name: 'npm local path',
    yaml: withBase('npm:\n  - ./local-package\n'),
    ...{ line: 8, column: 5, path: 'npm[0]', code: 'INVALID_NPM' },
    message: 'paths, URLs, git references and GitHub shorthands are not allowed',
  },
  {
    name: 'npm git spec',
    yaml: withBase('npm:\n  - foo@git+https://example.com/foo.git\n'),
    ...{ line: 8, column: 5, path: 'npm[0]', code: 'INVALID_NPM' },
    message: 'URLs, paths, git and npm: aliases are not allowed',
  },
  {
    name: 'npm GitHub shorthand',
    yaml: withBase('npm:\n  - user/repo\n'),
    ...{ line: 8, column: 5, path: 'npm[0]', code: 'INVALID_NPM' },
    message: 'is not an npm package spec',
  },
  {
    name: 'npm option',
    yaml: withBase('npm:\n  - --unsafe-perm\n'),
    ...{ line: 8, column: 5, path: 'npm[0]', code: 'INVALID_NPM' },
    message: 'a name must not start with "-"',
  },
  {
    name: 'apt remove suffix',
    yaml: withBase('apt:\n  - python3-\n'),
    ...{ line: 8, column: 5, path: 'apt[0]', code: 'INVALID_APT' },
    message: 'ends with "-", which apt-get reads as "remove"',
  },
  {
    name: 'apt shell injection',
    yaml: withBase('apt:\n  - curl; rm -rf /\n'),
    ...{ line: 8, column: 5, path: 'apt[0]', code: 'INVALID_APT' },
    message: 'is not a Debian package name[:arch][=version]',
  },
  {
    name: 'apt release pin',
    yaml: withBase('apt:\n  - curl/bookworm-backports\n'),
    ...{ line: 8, column: 5, path: 'apt[0]', code: 'INVALID_APT' },
    message: 'is not a Debian package name',
  },
  // libraries, environment, hooks, requirements.
  {
    name: 'library with ..',
    yaml: withBase('libraries:\n  - "..*"\n'),
    ...{ line: 8, column: 5, path: 'libraries[0]', code: 'INVALID_LIBRARY' },
    message: 'must not be "." or contain ".."',
  },
  {
    name: 'library with a directory',
    yaml: withBase('libraries:\n  - /usr/lib/libfoo.so\n'),
    ...{ line: 8, column: 5, path: 'libraries[0]', code: 'INVALID_LIBRARY' },
    message: 'must not contain "/"',
  },
  {
    name: 'library with an unclosed bracket',
    yaml: withBase('libraries: ["libfoo[0-9"]\n'),
    ...{ line: 7, column: 13, path: 'libraries[0]', code: 'INVALID_LIBRARY' },
    message: 'has an unclosed "["',
  },
  {
    name: 'environment name starting with a digit',
    yaml: withBase('environment:\n  1BAD: x\n'),
    ...{ line: 8, column: 3, path: 'environment["1BAD"]', code: 'INVALID_ENV_NAME' },
    message: '"1BAD" is not a valid variable name',
  },
  {
    name: 'environment LD_PRELOAD',
    yaml: withBase('environment:\n  LD_PRELOAD: /tmp/evil.so\n'),
    ...{ line: 8, column: 3, path: 'environment.LD_PRELOAD', code: 'RESERVED_ENV_NAME' },
    message: 'LD_PRELOAD may not be set by a runtime',
  },
  {
    name: 'environment JOBLET_*',
    yaml: withBase('environment:\n  JOBLET_TOKEN: x\n'),
    ...{ line: 8, column: 3, path: 'environment.JOBLET_TOKEN', code: 'RESERVED_ENV_NAME' },
    message: 'JOBLET_* variables are set by the platform',
  },
  {
    name: 'environment value missing',
    yaml: withBase('environment:\n  FOO:\n'),
    ...{ line: 8, column: 3, path: 'environment.FOO', code: 'INVALID_TYPE' },
    message: 'expected a string, got nothing (null); give a value or remove the key',
  },
  {
    name: 'environment as a list',
    yaml: withBase('environment:\n  - FOO=1\n'),
    ...{ line: 8, column: 3, path: 'environment', code: 'INVALID_TYPE' },
    message: 'expected a mapping (key: value lines), got a list',
  },
  {
    name: 'hook timeout without unit',
    yaml: withBase('hooks:\n  pre_install: echo hi\n  timeout: 300\n'),
    ...{ line: 9, column: 12, path: 'hooks.timeout', code: 'INVALID_DURATION' },
    message:
      'is not a duration: use a number with a unit, e.g. "30s", "10m", "1h30m" — did you mean "300s"?',
  },
  {
    name: 'hook timeout too long',
    yaml: withBase('hooks:\n  pre_install: echo hi\n  timeout: 3h\n'),
    ...{ line: 9, column: 12, path: 'hooks.timeout', code: 'INVALID_DURATION' },
    message: '"3h" is longer than the maximum of 2h',
  },
  {
    name: 'memory without unit',
    yaml: withBase('requirements:\n  min_memory: 512\n'),
    ...{ line: 8, column: 15, path: 'requirements.min_memory', code: 'INVALID_MEMORY' },
    message: 'did you mean "512MB"?',
  },
  {
    name: 'bad CUDA version',
    yaml: withBase('requirements:\n  gpu: true\n  cuda_version: twelve\n'),
    ...{ line: 9, column: 17, path: 'requirements.cuda_version', code: 'INVALID_CUDA' },
    message: '"twelve" is not a CUDA version',
  },
];

describe('invalid specs: contents', () => {
  itRejects(contentCases);
});
