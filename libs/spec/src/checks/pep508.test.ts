import { describe, expect, it } from 'vitest';
import { checkPipRequirement, pipProjectName } from './pep508.js';

describe('checkPipRequirement', () => {
  it.each([
    'numpy',
    'scikit-learn',
    'A',
    'zope.interface',
    'numpy==1.26.2',
    'numpy>=1.24.3,<2.0',
    'numpy >= 1.24 , < 2',
    'pandas~=2.1',
    'foo===1.0+local',
    'foo!=1.2.*',
    'requests[security]',
    'requests[security, socks]>=2.31',
    'requests[]',
    'foo (>=1.0,<2)',
    'numpy; python_version < "3.12"',
    "numpy>=1.24; python_version >= '3.9' and sys_platform == 'linux'",
    'pywin32; sys_platform == "win32" or (platform_machine in "x86_64 aarch64" and os_name != "nt")',
    'foo; "linux" in sys_platform',
    'foo; extra not in "bar"',
    'pkg @ https://files.example.com/pkg-1.0-py3-none-any.whl',
    'pkg[extra] @ https://example.com/pkg.tar.gz ; python_version >= "3.8"',
  ])('accepts %j', (req) => {
    expect(checkPipRequirement(req)).toBeUndefined();
  });

  it.each([
    ['', 'expected a package name'],
    ['-e .', 'starts with "-"'],
    ['--index-url=https://evil', 'starts with "-"'],
    ['-rrequirements.txt', 'starts with "-"'],
    ['./local/path', 'expected a package name'],
    ['/abs/path.whl', 'expected a package name'],
    ['https://example.com/x.whl', 'a bare URL is not a requirement'],
    ['pkg @ http://example.com/x.whl', 'only https:// URLs'],
    ['pkg @ file:///tmp/x.whl', 'only https:// URLs'],
    ['pkg @ git+https://github.com/x/y', 'only https:// URLs'],
    ['pkg @ https://example.com/x.whl;python_version>"3"', 'expected a space after the URL'],
    ['numpy>>1', 'expected a version'],
    ['numpy=1.0', 'expected a version operator'],
    ['numpy==', 'expected a version at column 8, found the end'],
    ['numpy>=1,', 'expected a version operator'],
    ['requests[security', '"]" closing the extras'],
    ['foo (>=1.0', 'expected ")"'],
    ['numpy; python_version', 'expected a marker operator'],
    ['numpy; python_version < 3.12', 'expected a marker variable or a quoted string at column 25'],
    ['numpy; platform == "x"', 'unknown marker variable "platform"'],
    ['numpy; python_version < "3.12', 'expected a closing "'],
    ['numpy; (python_version < "3"', 'expected ")"'],
    ['numpy && rm -rf /', 'expected a version specifier, ";" and a marker, or the end'],
    ['numpy\nmalicious', 'or the end'],
    ['numpy $(id)', 'or the end'],
    [`numpy; ${'('.repeat(20)}python_version > "3"${')'.repeat(20)}`, 'nested too deeply'],
  ])('rejects %j (%s)', (req, why) => {
    const message = checkPipRequirement(req);
    expect(message).toContain('is not a PEP 508 requirement');
    expect(message).toContain(why);
  });

  it('ends on long hostile input (catastrophic backtracking would take hours, not seconds)', () => {
    const t0 = performance.now();
    checkPipRequirement(`a${'.'.repeat(500)}!`);
    checkPipRequirement(`a; ${'python_version > "3" and '.repeat(20)}`);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});

describe('pipProjectName', () => {
  it.each([
    ['Scikit_Learn>=1', 'scikit-learn'],
    ['zope.interface', 'zope-interface'],
    ['requests[socks]', 'requests'],
    ['--pre', undefined],
  ])('%j → %j', (req, name) => {
    expect(pipProjectName(req)).toBe(name);
  });
});
