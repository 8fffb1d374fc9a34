import { describe, expect, it } from 'vitest';
import { checkPipOption, pipOptionUrl } from './pip-options.js';

describe('checkPipOption', () => {
  it.each([
    '--pre',
    '--no-deps',
    '--prefer-binary',
    '--only-binary=:all:',
    '--only-binary=numpy,scipy',
    '--no-binary=:none:',
    '--index-url=https://pypi.example.com/simple',
    '--extra-index-url=http://10.0.0.5:8080/simple',
    '--find-links=https://example.com/wheels/',
    '--trusted-host=pypi.example.com:8080',
    '--timeout=60',
    '--retries=0',
  ])('accepts %j', (option) => {
    expect(checkPipOption(option)).toBeUndefined();
  });

  it.each([
    ['--user', 'is not allowed in pip_options; allowed: --pre'],
    ['--target=/etc', 'is not allowed'],
    ['--prefix=/', 'is not allowed'],
    ['--requirement=/etc/passwd', 'is not allowed'],
    ['--constraint=c.txt', 'is not allowed'],
    ['--editable=.', 'is not allowed'],
    ['-r', 'short options are not accepted'],
    ['numpy', 'is not an option'],
    ['--pre=1', '--pre takes no value'],
    ['--index-url', '--index-url needs a value, written --index-url=…'],
    ['--index-url=file:///etc', 'needs an http:// or https:// URL'],
    ['--index-url=not a url', 'one option per list entry'],
    ['--only-binary=pkg;rm', ':all:, :none: or a comma-separated list'],
    ['--timeout=0', 'a whole number from 1 to 600'],
    ['--retries=-1', 'a whole number from 0 to 20'],
    ['--trusted-host=a b', 'one option per list entry'],
    ['--trusted-host=host/path', 'a host name'],
    ['--no-dpes', 'did you mean "--no-deps"?'],
  ])('rejects %j (%s)', (option, why) => {
    expect(checkPipOption(option)).toContain(why);
  });
});

describe('pipOptionUrl', () => {
  it('finds the URL of index options only', () => {
    expect(pipOptionUrl('--index-url=https://u:p@h/simple')?.username).toBe('u');
    expect(pipOptionUrl('--pre')).toBeUndefined();
  });
});
