import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareDotted, compareSemver, isSemver, parseSemver, pickVersion } from './semver.js';
import { SpecError } from './spec-error.js';

describe('compareSemver', () => {
  // The precedence example from semver.org, in order.
  const ordered = [
    '1.0.0-alpha',
    '1.0.0-alpha.1',
    '1.0.0-alpha.beta',
    '1.0.0-beta',
    '1.0.0-beta.2',
    '1.0.0-beta.11',
    '1.0.0-rc.1',
    '1.0.0',
    '1.0.1',
    '1.2.0',
    '1.10.0',
    '2.0.0',
    '10.0.0',
  ];

  it('orders versions by precedence', () => {
    const shuffled = [...ordered].reverse();
    expect(shuffled.sort(compareSemver)).toEqual(ordered);
  });

  it('ignores build metadata', () => {
    expect(compareSemver('1.0.0+a', '1.0.0+b')).toBe(0);
  });

  it('is antisymmetric', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ordered), fc.constantFrom(...ordered), (a, b) => {
        expect(Math.sign(compareSemver(a, b)) + Math.sign(compareSemver(b, a))).toBe(0);
      }),
    );
  });

  it('throws SpecError on a non-semver', () => {
    expect(() => compareSemver('1.0', '1.0.0')).toThrow(SpecError);
    expect(() => compareSemver('1.0.0', 'x')).toThrow('not a semantic version: "x"');
  });
});

describe('parseSemver', () => {
  it('parses the parts', () => {
    expect(parseSemver('1.2.3-rc.1+b.5')).toEqual({
      major: 1,
      minor: 2,
      patch: 3,
      prerelease: ['rc', '1'],
      build: ['b', '5'],
    });
  });
  it.each([
    '1.2',
    '01.2.3',
    '1.2.3-',
    '1.2.3+',
    'v1.2.3',
    '1.2.3-01',
    '',
    `1.2.3-${'a'.repeat(70)}`,
  ])('rejects %j', (v) => expect(isSemver(v)).toBe(false));
});

describe('pickVersion', () => {
  const versions = ['1.0.0', '1.10.0', '1.9.0', '2.0.0-rc.1', 'garbage'];
  it('picks the highest release for latest or nothing', () => {
    expect(pickVersion(versions, 'latest')).toBe('1.10.0');
    expect(pickVersion(versions, undefined)).toBe('1.10.0');
  });
  it('falls back to pre-releases when there is no release', () => {
    expect(pickVersion(['0.1.0-a', '0.1.0-b'], 'latest')).toBe('0.1.0-b');
  });
  it('picks exact versions only when present', () => {
    expect(pickVersion(versions, '1.9.0')).toBe('1.9.0');
    expect(pickVersion(versions, '3.0.0')).toBeUndefined();
    expect(pickVersion([], 'latest')).toBeUndefined();
  });
});

describe('compareDotted', () => {
  it('compares numerically', () => {
    expect(['3.13', '3.9', '3.11', '3'].sort(compareDotted)).toEqual(['3', '3.9', '3.11', '3.13']);
  });
});
