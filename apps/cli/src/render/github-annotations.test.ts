/** GitHub Actions workflow commands for spec diagnostics, escaped as the runner's toolkit does. */
import { describe, expect, it } from 'vitest';
import { githubAnnotation } from './github-annotations.js';

describe('githubAnnotation', () => {
  it('places an error on its file, line and column, with the code in the title', () => {
    expect(
      githubAnnotation({
        severity: 'error',
        code: 'UNKNOWN_FIELD',
        file: 'runtimes/py/runtime.yaml',
        line: 7,
        column: 3,
        path: 'pip_option',
        message: 'unknown field "pip_option"; did you mean "pip_options"?',
      }),
    ).toBe(
      '::error file=runtimes/py/runtime.yaml,line=7,col=3,title=runtime.yaml UNKNOWN_FIELD at pip_option::unknown field "pip_option"; did you mean "pip_options"?',
    );
  });

  it('escapes what would end a property or the command', () => {
    expect(
      githubAnnotation({
        severity: 'warning',
        code: 'W',
        file: 'a,b:c.yaml',
        line: 1,
        column: 1,
        path: '',
        message: '100% sure\nsecond line',
      }),
    ).toBe(
      '::warning file=a%2Cb%3Ac.yaml,line=1,col=1,title=runtime.yaml W::100%25 sure%0Asecond line',
    );
  });
});
