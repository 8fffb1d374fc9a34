/**
 * Hostile input: each case must come back as a clear, positioned error, without throwing. How
 * fast is measured by bench/validate.bench.ts, not asserted here (shared, noisy machines).
 */
import { describe, expect, it } from 'vitest';
import { MAX_DIAGNOSTICS, MAX_SPEC_BYTES, MAX_YAML_DEPTH, MAX_YAML_TOKENS } from './constants.js';
import { BASE, withBase } from './test-support/specs.js';
import { validateRuntimeSpec, type ValidationResult } from './validate.js';

function validated(source: string | Uint8Array): { r: ValidationResult } {
  return { r: validateRuntimeSpec(source) };
}

function onlyError(r: ValidationResult) {
  expect(r.ok).toBe(false);
  expect(r.errors).toHaveLength(1);
  return r.errors[0]!;
}

/** The classic "billion laughs": 9 levels of 9 aliases each. */
export function aliasBomb(levels = 9): string {
  const lines = ['a0: &a0 "lol"'];
  for (let i = 1; i <= levels; i++) {
    const refs = Array.from({ length: 9 }, () => `*a${i - 1}`).join(', ');
    lines.push(`a${i}: &a${i} [${refs}]`);
  }
  return `${lines.join('\n')}\n`;
}

describe('size', () => {
  it('rejects a spec over 256 KiB without parsing it', () => {
    const text = withBase(`description: "${'x'.repeat(MAX_SPEC_BYTES)}"\n`);
    for (const source of [text, new TextEncoder().encode(text)]) {
      const { r } = validated(source);
      expect(onlyError(r)).toMatchObject({ code: 'TOO_LARGE', line: 1, column: 1, path: '(root)' });
      expect(r.errors[0]!.message).toContain(
        'a runtime spec may be at most 256.0 KiB (262144 bytes)',
      );
    }
  });

  it('measures strings in UTF-8 bytes', () => {
    // 100,000 three-byte characters: 300,000 bytes, though only 100,000 UTF-16 units.
    const { r } = validated(withBase(`description: "${'€'.repeat(100_000)}"\n`));
    expect(onlyError(r).code).toBe('TOO_LARGE');
  });

  it('accepts exactly 256 KiB', () => {
    const filler = `# ${'x'.repeat(78)}\n`;
    let text = BASE;
    while (text.length + filler.length <= MAX_SPEC_BYTES) text += filler;
    text += '#'.repeat(MAX_SPEC_BYTES - text.length - 1) + '\n';
    expect(Buffer.byteLength(text)).toBe(MAX_SPEC_BYTES);
    const { r } = validated(text);
    expect(r.ok).toBe(true);
  });

  it('caps the number of diagnostics and says how many were left out', () => {
    const pip = Array.from({ length: 900 }, (_, i) => `  - "-r file${i}"`).join('\n');
    const { r } = validated(withBase(`pip:\n${pip}\n`));
    expect(r.errors).toHaveLength(MAX_DIAGNOSTICS + 1);
    expect(r.errors.at(-1)).toMatchObject({
      code: 'TOO_MANY_DIAGNOSTICS',
      message: `${900 - MAX_DIAGNOSTICS} more errors not shown (at most ${MAX_DIAGNOSTICS} are reported)`,
    });
  });

  it('counts characters as code points: astral text near a limit is still checked', () => {
    // 61 code points but 65 UTF-16 units: once let through unchecked, then a 500 in the API
    // when the server looked the version up in the store (found by the API's fuzz run).
    const A = '\u{10000}';
    const version = `1.0.${A}${A}${A}ndescripti${A} Lightweight Python for general development`;
    const r = validateRuntimeSpec(
      `schema_version: "1.0"\nname: python-3.11\nversion: ${version}\nbase:\n  language: python\n  version: "3.11"\n`,
      { file: 'runtime.yaml' },
    );
    expect(onlyError(r)).toMatchObject({ code: 'INVALID_VERSION', path: 'version', line: 3 });
    // Over the limit in code points: too long, and the count says so in characters.
    const long = validateRuntimeSpec(
      `schema_version: "1.0"\nname: python-3.11\nversion: 1.0.${A.repeat(61)}\nbase:\n  language: python\n  version: "3.11"\n`,
      { file: 'runtime.yaml' },
    );
    expect(onlyError(long).message).toBe('is too long: at most 64 characters (got 65)');
  });

  it('rejects too many environment variables', () => {
    const env = Array.from({ length: 300 }, (_, i) => `  V${i}: x`).join('\n');
    const { r } = validated(withBase(`environment:\n${env}\n`));
    expect(onlyError(r)).toMatchObject({ code: 'TOO_LONG', path: 'environment', line: 8 });
    expect(r.errors[0]!.message).toBe('has too many variables: at most 256 (got 300)');
  });

  it.each([
    ['20,000 keys', Array.from({ length: 20_000 }, (_, i) => `k${i}: 1`).join('\n')],
    ['200,000 blank lines', `${BASE}${'\n'.repeat(200_000)}`],
    ['a flow list of 60,000 numbers', `${BASE}pip: [${'1,'.repeat(60_000)}1]\n`],
    ['syntax errors on every line', '- a: b\n: : -\n'.repeat(15_000)],
  ])('stops early on %s (token budget)', (_name, text) => {
    const { r } = validated(text);
    const e = onlyError(r);
    expect(e.code).toBe('TOO_COMPLEX');
    expect(e.message).toContain(`more than ${MAX_YAML_TOKENS} YAML tokens by here`);
    expect(e.line).toBeGreaterThan(1);
  });

  it('accepts the largest spec the field limits allow', () => {
    const list = (n: number, f: (i: number) => string) =>
      `${Array.from({ length: n }, (_, i) => f(i)).join('\n')}\n`;
    const text = withBase(
      `apt:\n${list(1000, (i) => `  - pkg${i}`)}npm:\n${list(1000, (i) => `  - p${i}@^1.0.${i}`)}` +
        `pip:\n${list(1000, (i) => `  - p${i}>=1.${i}`)}environment:\n${list(256, (i) => `  V${i}: "x${i}"`)}` +
        `libraries:\n${list(256, (i) => `  - lib${i}.so*`)}`,
    );
    const { r } = validated(text);
    expect(r.errors).toEqual([]);
  });
});

describe('aliases and anchors', () => {
  it('rejects a billion-laughs document at once, without expanding it', () => {
    const { r } = validated(aliasBomb());
    expect(r.ok).toBe(false);
    expect(r.errors.filter((e) => e.code === 'YAML_ALIAS').length).toBeGreaterThan(0);
    expect(r.errors[0]).toMatchObject({ line: 1, column: 1 });
  });

  it('rejects a merge key with an alias', () => {
    const { r } = validated(withBase('environment:\n  <<: *defaults\n'));
    expect(r.ok).toBe(false);
    expect(r.errors.some((e) => e.code === 'YAML_SYNTAX' || e.code === 'YAML_ALIAS')).toBe(true);
  });
});

describe('nesting', () => {
  it.each([
    ['10,000 open brackets', '['.repeat(10_000)],
    ['balanced brackets', `${'['.repeat(5000)}${']'.repeat(5000)}`],
    ['nested flow mappings', `a: ${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}`],
    ['compact block sequences', `${'- '.repeat(100_000)}x`],
    [
      'indented block mappings',
      Array.from({ length: 600 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'),
    ],
  ])('%s: a clear error, no stack overflow', (_name, text) => {
    const { r } = validated(text);
    const e = onlyError(r);
    expect(e.code).toBe('TOO_DEEP');
    expect(e.message).toContain(`nested more than ${MAX_YAML_DEPTH} levels deep`);
    expect(e.line).toBeGreaterThanOrEqual(1);
  });

  it('accepts the nesting a spec needs', () => {
    expect(validateRuntimeSpec(withBase('requirements: {gpu: false}\n')).ok).toBe(true);
  });
});

describe('encoding and binary content', () => {
  it('reports the position of the first invalid UTF-8 byte', () => {
    const bytes = new TextEncoder().encode(withBase('description: "caf\u00e9 ok"\n'));
    const bad = Uint8Array.from([
      ...bytes.subarray(0, bytes.length - 5),
      0xff,
      ...bytes.subarray(bytes.length - 5),
    ]);
    const e = onlyError(validateRuntimeSpec(bad));
    // Line 7 is `description: "café ok"`; the bad byte is inserted right after `café` (18 characters).
    expect(e).toMatchObject({ code: 'ENCODING', line: 7, column: 19, path: '(root)' });
    expect(e.message).toContain('invalid UTF-8 (byte 0xff');
  });

  it('puts a bad first byte at 1:1 even when a newline follows', () => {
    const bytes = Uint8Array.from([0xff, 0xfe, 0x00, 0x41, 0x80, 0x0a, 0x41]);
    expect(onlyError(validateRuntimeSpec(bytes))).toMatchObject({
      code: 'ENCODING',
      line: 1,
      column: 1,
    });
  });

  it.each([
    ['overlong encoding', [0xc0, 0xaf]],
    ['UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['truncated sequence', [0xe2, 0x82]],
    ['beyond U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ])('rejects an %s', (_name, seq) => {
    const bytes = Uint8Array.from([...new TextEncoder().encode('name: x'), ...seq]);
    expect(onlyError(validateRuntimeSpec(bytes))).toMatchObject({
      code: 'ENCODING',
      line: 1,
      column: 8,
    });
  });

  it('rejects a string with an unpaired surrogate', () => {
    expect(onlyError(validateRuntimeSpec('name: a\ndescription: \ud800\n'))).toMatchObject({
      code: 'ENCODING',
      line: 2,
      column: 14,
    });
  });

  it('rejects NUL bytes as binary content, with their position', () => {
    const e = onlyError(validateRuntimeSpec(withBase('description: a\u0000b\n')));
    expect(e).toMatchObject({ code: 'BINARY', line: 7, column: 15 });
    expect(e.message).toContain('NUL byte');
  });

  it('rejects binary garbage', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);
    const r = validateRuntimeSpec(png);
    expect(['ENCODING', 'BINARY']).toContain(onlyError(r).code);
    const elf = Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
    expect(onlyError(validateRuntimeSpec(elf)).code).toBe('BINARY');
  });

  it('accepts a byte-order mark and CRLF line endings, keeping positions right', () => {
    const crlf = `\ufeff${BASE.replace(/\n/g, '\r\n')}`;
    expect(validateRuntimeSpec(crlf).ok).toBe(true);
    expect(validateRuntimeSpec(new TextEncoder().encode(crlf)).ok).toBe(true);
    const bad = validateRuntimeSpec(crlf.replace('python', 'pyhton'));
    expect(bad.errors[0]).toMatchObject({ line: 5, column: 13, path: 'base.language' });
  });
});

describe('document structure', () => {
  it('rejects a second document at its separator', () => {
    const e = onlyError(validateRuntimeSpec(`${BASE}---\n${BASE}`));
    expect(e).toMatchObject({ code: 'MULTIPLE_DOCUMENTS', line: 7, column: 1 });
  });

  it('rejects YAML directives', () => {
    expect(onlyError(validateRuntimeSpec(`%YAML 1.1\n---\n${BASE}`)).code).toBe('YAML_DIRECTIVE');
  });

  it.each([
    ['an empty file', ''],
    ['only whitespace', '  \n\n   \n'],
    ['only comments', '# nothing here\n# still nothing\n'],
    ['an empty document', '---\n...\n'],
  ])('rejects %s', (_name, text) => {
    const e = onlyError(validateRuntimeSpec(text));
    expect(e).toMatchObject({ code: 'EMPTY', line: 1, column: 1, path: '(root)' });
    expect(e.message).toContain('the file is empty');
  });

  it.each([
    ['a scalar', 'hello world\n', 'a string'],
    ['a number', '42\n', 'a number'],
    ['a list', '- name: demo\n- version: 1.0.0\n', 'a list'],
    ['null', '~\n', 'nothing (null)'],
  ])('rejects %s at the top level', (_name, text, kind) => {
    const e = onlyError(validateRuntimeSpec(text));
    expect(e).toMatchObject({ code: 'NOT_A_MAPPING', line: 1, column: 1 });
    expect(e.message).toContain(`this file holds ${kind}`);
  });

  it('does not let __proto__ reach a prototype', () => {
    const r = validateRuntimeSpec(
      withBase('__proto__:\n  polluted: true\nenvironment:\n  __proto__: x\n'),
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(r.errors.map((e) => [e.path, e.code])).toEqual([
      ['__proto__', 'BAD_KEY'],
      ['environment.__proto__', 'BAD_KEY'],
    ]);
  });

  it('never throws for non-string, non-bytes input from untyped callers', () => {
    const r = validateRuntimeSpec(42 as unknown as string);
    expect(r.ok).toBe(false);
    expect(r.errors[0]!.line).toBe(1);
  });
});
