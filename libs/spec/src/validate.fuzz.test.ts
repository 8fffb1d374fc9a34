/**
 * Property tests: whatever the input, `validateRuntimeSpec` returns (never throws), returns
 * quickly, and every diagnostic is well-formed. Runs are sized to keep the file to a few seconds.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { RuntimeSpec, SPEC_KEYS } from './runtime-spec.js';
import { exampleSpecs } from './test-support/specs.js';
import { validateRuntimeSpec } from './validate.js';

/** Generous per-call bound: one slow call on a loaded CI machine must not fail the suite. */
const MAX_MS = 250;

function check(source: string | Uint8Array): void {
  const t0 = performance.now();
  const r = validateRuntimeSpec(source, { file: 'fuzz.yaml' });
  const ms = performance.now() - t0;
  expect(ms).toBeLessThan(MAX_MS);
  expect(r.ok).toBe(r.errors.length === 0);
  if (r.ok) expect(RuntimeSpec.safeParse(r.spec).success).toBe(true);
  else expect(r.spec).toBeUndefined();
  for (const d of [...r.errors, ...r.warnings]) {
    expect(Number.isInteger(d.line) && d.line >= 1).toBe(true);
    expect(Number.isInteger(d.column) && d.column >= 1).toBe(true);
    expect(d.path.length).toBeGreaterThan(0);
    expect(d.message.trim().length).toBeGreaterThan(0);
    expect(d.code).toMatch(/^[A-Z_]+$/);
    expect(d.file).toBe('fuzz.yaml');
  }
  for (const d of r.errors) expect(d.severity).toBe('error');
  for (const d of r.warnings) expect(d.severity).toBe('warning');
}

const examples = exampleSpecs().map((e) => e.text);
const YAML_CHARS = [
  ':',
  '-',
  ' ',
  '  ',
  '\n',
  '\t',
  '[',
  ']',
  '{',
  '}',
  ',',
  '"',
  "'",
  '&a',
  '*a',
  '!',
  '!!str ',
  '#',
  '|',
  '>',
  '?',
  '%',
  '@',
  '`',
  '\\',
  '\u0000',
  'é',
  '𝄞',
  '3.10',
  'null',
  '~',
  'true',
];

/** A mutation of a text: delete/duplicate/swap lines, delete/insert/replace characters. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('deleteLine' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicateLine' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swapLines' as const), at: fc.nat(), other: fc.nat() }),
  fc.record({ kind: fc.constant('deleteChar' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.constantFrom(...YAML_CHARS),
  }),
  fc.record({
    kind: fc.constant('replace' as const),
    at: fc.nat(),
    text: fc.constantFrom(...YAML_CHARS),
  }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(text: string, m: Mutation): string {
  const lines = text.split('\n');
  const li = m.at % Math.max(1, lines.length);
  const ci = m.at % Math.max(1, text.length);
  switch (m.kind) {
    case 'deleteLine':
      lines.splice(li, 1);
      return lines.join('\n');
    case 'duplicateLine':
      lines.splice(li, 0, lines[li] ?? '');
      return lines.join('\n');
    case 'swapLines': {
      const lj = m.other % Math.max(1, lines.length);
      [lines[li], lines[lj]] = [lines[lj] ?? '', lines[li] ?? ''];
      return lines.join('\n');
    }
    case 'deleteChar':
      return text.slice(0, ci) + text.slice(ci + 1);
    case 'insert':
      return text.slice(0, ci) + m.text + text.slice(ci);
    case 'replace':
      return text.slice(0, ci) + m.text + text.slice(ci + 1);
  }
}

/** JSON-ish values, biased towards the spec's own keys so that deeper checks get exercised. */
const jsonish = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ maxLength: 20 }),
    fc.constantFrom('python', 'java', '3.11', '1.0.0', 'numpy>=1', '-r x', '../x', 'amd64'),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(
        fc.constantFrom(...SPEC_KEYS, 'language', 'version', 'gpu', 'timeout'),
        fc.string({ maxLength: 8 }),
      ),
      tie('value'),
      { maxKeys: 5 },
    ),
  ),
}));

describe('validateRuntimeSpec never throws and always answers with positioned diagnostics', () => {
  it('random strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400, unit: 'binary' }), check), { numRuns: 400 });
  });

  it('random strings made of YAML syntax', () => {
    const yamlish = fc
      .array(fc.constantFrom(...YAML_CHARS, 'name', 'base', 'pip', 'a'), { maxLength: 120 })
      .map((a) => a.join(''));
    fc.assert(fc.property(yamlish, check), { numRuns: 400 });
  });

  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), check), { numRuns: 400 });
  });

  it('mutated example specs', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...examples),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        (text, ms) => {
          check(ms.reduce(mutate, text));
        },
      ),
      { numRuns: 600 },
    );
  });

  it('random nested structures, as YAML and as JSON', () => {
    fc.assert(
      fc.property(jsonish.value, (v) => {
        check(stringify(v, { aliasDuplicateObjects: false }));
        check(JSON.stringify(v) ?? 'null');
      }),
      { numRuns: 300 },
    );
  });

  it('random objects with every spec key', () => {
    const spec = fc.record(Object.fromEntries(SPEC_KEYS.map((k) => [k, jsonish.value])), {
      requiredKeys: [],
    });
    fc.assert(
      fc.property(spec, (v) => check(stringify(v, { aliasDuplicateObjects: false }))),
      { numRuns: 300 },
    );
  });
});
