import { describe, expect, it } from 'vitest';
import { editDistance, suggest } from './suggest.js';

describe('suggest', () => {
  const keys = ['name', 'version', 'pip_options', 'pip', 'environment', 'architectures'];
  it.each([
    ['nmae', 'name'],
    ['verison', 'version'],
    ['pip-options', 'pip_options'],
    ['PipOptions', 'pip_options'],
    ['enviroment', 'environment'],
    ['architecture', 'architectures'],
    ['pips', 'pip'],
    ['colour', undefined],
    ['', undefined],
  ])('%j → %j', (input, expected) => {
    expect(suggest(input, keys)).toBe(expected);
  });

  it('knows common aliases', () => {
    expect(suggest('x86_64', ['amd64', 'arm64'])).toBe('amd64');
    expect(suggest('golang', ['python', 'go'])).toBe('go');
  });

  it('counts a swap of adjacent letters as one edit', () => {
    expect(editDistance('pyhton', 'python')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('abc', 'abcdefgh', 2)).toBe(3);
  });
});
