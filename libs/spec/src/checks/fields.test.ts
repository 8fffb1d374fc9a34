import { describe, expect, it } from 'vitest';
import {
  checkEnvName,
  checkEnvNameAllowed,
  checkHookTimeout,
  checkLibraryGlob,
  checkMemorySize,
  checkRuntimeName,
  checkRuntimeVersion,
  formatDuration,
  parseDuration,
  parseMemorySize,
} from './fields.js';

describe('runtime names and versions', () => {
  it.each(['python-3.11-ml', 'openjdk-21', 'a', '0', 'a.b-c', 'x'.repeat(64)])(
    'accepts name %j',
    (name) => expect(checkRuntimeName(name)).toBeUndefined(),
  );
  it.each(['', 'A', '-a', '.a', 'a..b', '../x', 'a/b', 'a b', 'a_b', 'x'.repeat(65), 'a\n'])(
    'rejects name %j',
    (name) => expect(checkRuntimeName(name)).toBeDefined(),
  );
  it.each(['1.0.0', '0.1.0-rc.1', '1.2.3+build.5', '10.20.30'])('accepts version %j', (v) =>
    expect(checkRuntimeVersion(v)).toBeUndefined(),
  );
  it.each([
    ['1', 'did you mean "1.0.0"?'],
    ['1.2', 'did you mean "1.2.0"?'],
    ['v1.2.3', 'did you mean "1.2.3"?'],
    ['01.2.3', 'is not a semantic version'],
    ['1.2.3/../../x', 'is not a semantic version'],
    ['latest', 'is not a semantic version'],
  ])('rejects version %j', (v, why) => expect(checkRuntimeVersion(v)).toContain(why));
});

describe('library globs', () => {
  it.each(['libopenblas*', 'libgfortran*', 'libfoo.so.[0-9]', 'libstdc++.so*', 'lib?z.so'])(
    'accepts %j',
    (g) => expect(checkLibraryGlob(g)).toBeUndefined(),
  );
  it.each([
    ['../lib', '"/"'],
    ['..', '".."'],
    ['.', '"."'],
    ['-exec', 'must not start with "-"'],
    ['lib$(id)', 'is not a file-name pattern'],
    ['lib[[x]]', 'has a "[" inside "[ ]"'],
    ['lib[x', 'unclosed "["'],
  ])('rejects %j', (g, why) => expect(checkLibraryGlob(g)).toContain(why));
});

describe('environment names', () => {
  it.each(['PATH', '_X', 'a1', 'PYTHONUNBUFFERED'])('accepts %j', (n) => {
    expect(checkEnvName(n)).toBeUndefined();
    expect(checkEnvNameAllowed(n)).toBeUndefined();
  });
  it.each(['1A', 'A-B', 'A B', '', 'A=B'])('rejects %j', (n) =>
    expect(checkEnvName(n)).toBeDefined(),
  );
  it.each(['LD_PRELOAD', 'LD_AUDIT', 'BASH_ENV', 'ENV', 'JOBLET_ROLE'])('reserves %j', (n) =>
    expect(checkEnvNameAllowed(n)).toBeDefined(),
  );
});

describe('durations', () => {
  it.each([
    ['30s', 30],
    ['10m', 600],
    ['1h', 3600],
    ['1h30m', 5400],
    ['1h0m5s', 3605],
    ['90m', 5400],
  ])('%j is %d s', (s, n) => expect(parseDuration(s)).toBe(n));
  it.each(['', '10', '1d', '1.5h', '-5s', '10 m', '1m1h'])('%j is not a duration', (s) =>
    expect(parseDuration(s)).toBeUndefined(),
  );
  it('formats seconds back', () => {
    expect([600, 5400, 45, 0, 7200].map(formatDuration)).toEqual([
      '10m',
      '1h30m',
      '45s',
      '0s',
      '2h',
    ]);
  });
  it('bounds hook timeouts to (0, 2h]', () => {
    expect(checkHookTimeout('2h')).toBeUndefined();
    expect(checkHookTimeout('0s')).toBe('must be longer than 0s');
    expect(checkHookTimeout('2h1s')).toContain('longer than the maximum of 2h');
  });
});

describe('memory sizes', () => {
  it.each([
    ['512MB', 512 * 2 ** 20],
    ['2GB', 2 * 2 ** 30],
    ['2G', 2 * 2 ** 30],
    ['256MiB', 256 * 2 ** 20],
    ['512Mi', 512 * 2 ** 20],
    ['1.5GB', 1.5 * 2 ** 30],
    ['1024kb', 2 ** 20],
  ])('%j is %d bytes', (s, n) => expect(parseMemorySize(s)).toBe(n));
  it.each(['512', 'lots', '2 GiB of RAM', '1PB', '-1GB'])('%j is not a size', (s) =>
    expect(parseMemorySize(s)).toBeUndefined(),
  );
  it('bounds min_memory to 1MB..1TB', () => {
    expect(checkMemorySize('512KB')).toContain('less than 1MB');
    expect(checkMemorySize('2TB')).toContain('more than 1TB');
    expect(checkMemorySize('1TB')).toBeUndefined();
  });
});
