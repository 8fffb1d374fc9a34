import { describe, expect, it } from 'vitest';
import {
  capDiagnostics,
  describeValue,
  formatDiagnostic,
  formatPath,
  sortDiagnostics,
  type Diagnostic,
} from './diagnostic.js';

const d = (line: number, column: number, message = 'm'): Diagnostic => ({
  severity: 'error',
  code: 'X',
  file: 'runtime.yaml',
  line,
  column,
  path: 'p',
  message,
});

describe('diagnostics', () => {
  it('formats like compilers do', () => {
    expect(
      formatDiagnostic({
        ...d(4, 10),
        path: 'base.language',
        message:
          '"pyhton" is not supported (python, java, node, go, rust) — did you mean "python"?',
      }),
    ).toBe(
      'runtime.yaml:4:10 base.language: "pyhton" is not supported (python, java, node, go, rust) — did you mean "python"?',
    );
  });

  it.each([
    [[], '(root)'],
    [['base', 'language'], 'base.language'],
    [['pip', 2], 'pip[2]'],
    [['environment', 'FOO'], 'environment.FOO'],
    [['environment', 'A B'], 'environment["A B"]'],
    [['environment', 'a.b'], 'environment["a.b"]'],
  ])('formatPath(%j) = %j', (path, text) => {
    expect(formatPath(path)).toBe(text);
  });

  it('sorts by position, stably', () => {
    const sorted = sortDiagnostics([d(3, 1, 'a'), d(1, 5, 'b'), d(1, 2, 'c'), d(1, 2, 'd')]);
    expect(sorted.map((x) => x.message)).toEqual(['c', 'd', 'b', 'a']);
  });

  it('caps and counts the rest', () => {
    const many = Array.from({ length: 7 }, (_, i) => d(i + 1, 1));
    const capped = capDiagnostics(many, 5);
    expect(capped).toHaveLength(6);
    expect(capped[5]).toMatchObject({
      line: 6,
      code: 'TOO_MANY_DIAGNOSTICS',
      message: '2 more errors not shown (at most 5 are reported)',
    });
    expect(capDiagnostics(many, 10)).toBe(many);
  });

  it('describes values briefly', () => {
    expect(describeValue('x'.repeat(100))).toBe(`"${'x'.repeat(60)}…"`);
    expect(describeValue(null)).toBe('nothing (null)');
    expect(describeValue([1])).toBe('a list');
    expect(describeValue({})).toBe('a mapping');
    expect(describeValue(true)).toBe('boolean true');
  });
});
