/** The table runner for invalid-spec tests: each case names the diagnostic the user must see. */
import { expect, it } from 'vitest';
import { validateRuntimeSpec, type ValidateOptions } from '../validate.js';

export interface InvalidCase {
  name: string;
  yaml: string;
  line: number;
  column: number;
  path: string;
  code: string;
  /** A substring of the message. */
  message: string;
  options?: ValidateOptions;
}

/** One test per case: the spec is invalid and has an error with this position, path and code. */
export function itRejects(cases: InvalidCase[]): void {
  it.each(cases)('$name', ({ yaml, options, line, column, path, code, message }) => {
    const r = validateRuntimeSpec(yaml, options);
    expect(r.ok).toBe(false);
    expect(r.spec).toBeUndefined();
    const found = r.errors.find((e) => e.path === path && e.code === code);
    expect(found, JSON.stringify(r.errors, null, 2)).toBeDefined();
    expect(found).toMatchObject({ severity: 'error', file: 'runtime.yaml', line, column });
    expect(found!.message).toContain(message);
  });
}
