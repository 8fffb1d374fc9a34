/**
 * Specs written for Joblet validate here: `pip_options` as Joblet's one string (or our list),
 * unquoted numbers read from their source text with a warning that names the quoting, and
 * Joblet's 20-minute hook timeout. Every fix a message suggests is itself accepted.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_HOOK_TIMEOUT_S } from './constants.js';
import { BASE, withBase } from './test-support/specs.js';
import { validateRuntimeSpec } from './validate.js';

const spec = (extra: string) => validateRuntimeSpec(withBase(`pip: [numpy]\n${extra}\n`));
const at = (d: { line: number; column: number; path: string; message: string }) =>
  `${d.line}:${d.column} ${d.path}: ${d.message}`;

describe('pip_options as a string (Joblet) or a list', () => {
  it.each([
    [
      '--index-url https://pypi.example.com/simple --pre',
      ['--index-url=https://pypi.example.com/simple', '--pre'],
    ],
    [
      "--extra-index-url 'https://a.example.com/simple' --trusted-host a.example.com --timeout 60",
      [
        '--extra-index-url=https://a.example.com/simple',
        '--trusted-host=a.example.com',
        '--timeout=60',
      ],
    ],
    ['--only-binary=:all: --no-deps', ['--only-binary=:all:', '--no-deps']],
    ['', []],
  ])('splits %j as a shell would, joining each option to its value', (text, list) => {
    const r = spec(`pip_options: ${JSON.stringify(text)}`);
    expect(r.errors).toEqual([]);
    expect(r.spec?.pip_options).toEqual(list);
  });

  it('checks each split option as a list entry would be checked', () => {
    const r = spec('pip_options: "--pre --target /etc"');
    expect(r.errors.map(at)).toEqual([
      expect.stringMatching(/^8:14 pip_options\[1\]: "--target" is not allowed in pip_options/),
      expect.stringMatching(/^8:14 pip_options\[2\]: "\/etc" is not an option/),
    ]);
  });

  it('says where a quote is left open', () => {
    const r = spec(`pip_options: "--pre '--no-deps"`);
    expect(r.errors.map(at)).toEqual([
      `8:14 pip_options: "--pre '--no-deps": a quote is not closed; write the options as a shell would`,
    ]);
  });

  it('suggests fixes for a list entry with a space, and each one is accepted', () => {
    const r = spec('pip_options: ["--index-url https://pypi.example.com/simple"]');
    const message = r.errors[0]?.message ?? '';
    expect(message).toContain('(here: "--index-url=https://pypi.example.com/simple")');
    expect(message).toContain('or all options as one string');
    const asEntry = spec('pip_options: ["--index-url=https://pypi.example.com/simple"]');
    const asString = spec('pip_options: "--index-url https://pypi.example.com/simple"');
    for (const fixed of [asEntry, asString]) {
      expect(fixed.errors).toEqual([]);
      expect(fixed.spec?.pip_options).toEqual(['--index-url=https://pypi.example.com/simple']);
    }
  });

  it('accepts the option a misspelling is pointed to, and the long form of a short option', () => {
    expect(spec('pip_options: ["--no-dep"]').errors[0]?.message).toContain(
      'did you mean "--no-deps"?',
    );
    expect(spec('pip_options: ["--no-deps"]').ok).toBe(true);
    expect(spec('pip_options: "-i https://x.example.com/simple"').errors[0]?.message).toContain(
      'use the long form',
    );
    expect(spec('pip_options: "--index-url https://x.example.com/simple"').ok).toBe(true);
  });
});

describe('a string where a list belongs', () => {
  it.each([
    ['pip: numpy', 'pip: ["numpy"]'],
    ['pip: "numpy>=1.24, pandas"', 'pip: ["numpy>=1.24", "pandas"]'],
    ['apt: libgomp1 libopenblas0', 'apt: ["libgomp1", "libopenblas0"]'],
  ])('%s: suggests %s, which validates', (line, fix) => {
    const r = validateRuntimeSpec(withBase(`${line}\n`));
    expect(r.errors[0]?.message).toContain(`write a list, e.g. ${fix}`);
    const fixed = validateRuntimeSpec(withBase(`${fix}\n`));
    expect(fixed.errors).toEqual([]);
  });

  it('suggests no entries when no reading of the string is valid', () => {
    const r = validateRuntimeSpec(withBase('pip: "-r requirements.txt"\n'));
    expect(r.errors[0]?.message).toContain(
      'write a list, one entry per item (pip: [first, second])',
    );
  });
});

describe('unquoted numbers', () => {
  it('reads base.version 3.10 as written, warning at file:line with the quoting to use', () => {
    const r = validateRuntimeSpec(BASE.replace('"3.11"', '3.10'), { file: 'py/runtime.yaml' });
    expect(r.errors).toEqual([]);
    expect(r.spec?.base.version).toBe('3.10');
    const lossy = r.warnings.find((w) => w.code === 'LOSSY_NUMBER');
    expect(lossy).toMatchObject({
      file: 'py/runtime.yaml',
      line: 6,
      column: 12,
      path: 'base.version',
    });
    expect(lossy?.message).toBe(
      '3.10 is read by YAML as the number 3.1; taken as written ("3.10"), but write it quoted so every YAML reader agrees: version: "3.10"',
    );
  });

  it('does the same for schema_version and environment values; numbers YAML keeps need nothing', () => {
    const r = validateRuntimeSpec(
      withBase('environment:\n  MASK: 0x10\n  RETRIES: 3\n').replace('"1.0"', '1.0'),
    );
    expect(r.errors).toEqual([]);
    expect(r.spec?.schema_version).toBe('1.0');
    expect(r.spec?.environment).toEqual({ MASK: '0x10', RETRIES: '3' });
    expect(r.warnings.filter((w) => w.code === 'LOSSY_NUMBER').map(at)).toEqual([
      expect.stringMatching(/^1:17 schema_version: .*: schema_version: "1\.0"$/),
      expect.stringMatching(
        /^8:9 environment\.MASK: 0x10 is read by YAML as the number 16; .*: MASK: "0x10"$/,
      ),
    ]);
  });
});

describe('hooks.timeout', () => {
  it('defaults to 20 minutes, as Joblet, and the warning says so', () => {
    expect(DEFAULT_HOOK_TIMEOUT_S).toBe(1200);
    const r = validateRuntimeSpec(withBase('hooks:\n  post_install: echo hi\n'));
    expect(r.warnings.map(at)).toEqual([
      '8:3 hooks.post_install: no hooks.timeout: the default of 20m applies; set one, e.g. timeout: 5m',
    ]);
  });
});
