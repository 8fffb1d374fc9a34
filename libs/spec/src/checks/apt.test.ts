import { describe, expect, it } from 'vitest';
import { aptPackageName, checkAptPackage } from './apt.js';

describe('checkAptPackage', () => {
  it.each([
    'curl',
    'libopenblas-dev',
    'g++',
    'libstdc++6',
    'python3.11',
    'curl=7.88.1-10+deb12u5',
    'libc6:arm64',
    'libc6:amd64=2.36-9+deb12u4',
    'tzdata=2024a-0+deb12u1',
    'openjdk-17-jdk-headless=17.0.12+7-2~deb12u1',
    'foo=1:2.0~rc1-3',
  ])('accepts %j', (pkg) => {
    expect(checkAptPackage(pkg)).toBeUndefined();
  });

  it.each([
    ['', 'is not a Debian package name'],
    ['a', 'is not a Debian package name'],
    ['-y', 'options are not accepted'],
    ['--allow-unauthenticated', 'options are not accepted'],
    ['Curl', 'is not a Debian package name'],
    ['python3-', 'reads as "remove"'],
    ['curl/bookworm', 'is not a Debian package name'],
    ['curl:i386', 'is not a Debian package name'],
    ['curl=', 'is not a Debian package name'],
    ['curl=latest', 'is not a Debian package name'],
    ['curl && id', 'is not a Debian package name'],
    ['lib*', 'is not a Debian package name'],
    ['x'.repeat(201), 'too long'],
  ])('rejects %j (%s)', (pkg, why) => {
    expect(checkAptPackage(pkg)).toContain(why);
  });

  it('extracts package names', () => {
    expect(aptPackageName('libc6:arm64=2.36')).toBe('libc6');
    expect(aptPackageName('curl=7.88')).toBe('curl');
    expect(aptPackageName('npm')).toBe('npm');
  });
});
