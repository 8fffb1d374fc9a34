import { describe, expect, it } from 'vitest';
import type { RunResult } from '@joblet/sandbox';
import { packageFailure } from './classify.js';

const result = (stdout: string, stderr = '', code = 100): RunResult => ({
  command: ['x'],
  code,
  signal: null,
  stdout,
  stderr,
  stdoutTruncated: false,
  stderrTruncated: false,
  timedOut: false,
  aborted: false,
  durationMs: 1,
});

describe('packageFailure', () => {
  it('apt: a missing package is permanent and named', () => {
    const f = packageFailure(
      'apt',
      'apt-get install',
      result('', 'E: Unable to locate package nope-pkg'),
    );
    expect(f.retryable).toBe(false);
    expect(f.code).toBe('PACKAGE_INSTALL_FAILED');
    expect(f.message).toBe('apt-get install: package "nope-pkg" does not exist');
    expect(f.toData().details).toContain('Unable to locate package');
  });

  it('apt: a missing version is permanent', () => {
    const f = packageFailure('apt', 'apt', result('', "E: Version '9.9' for 'curl' was not found"));
    expect(f).toMatchObject({
      retryable: false,
      message: 'apt: version 9.9 of package "curl" does not exist',
    });
  });

  it('apt: mirror trouble is retried', () => {
    const out =
      'Err:1 http://deb.debian.org/debian bookworm/main amd64 python3 amd64\n  503  Service Unavailable\nE: Failed to fetch http://deb.debian.org/...';
    expect(packageFailure('apt', 'apt', result('', out)).retryable).toBe(true);
  });

  it('pip: no distribution is permanent unless the index was unreachable', () => {
    const missing = 'ERROR: No matching distribution found for nope==1.0';
    expect(packageFailure('pip', 'pip', result('', missing))).toMatchObject({
      retryable: false,
      message: 'pip: no distribution of "nope==1.0" matches',
    });
    const offline = `WARNING: Retrying (Retry(total=0)) after connection broken by 'NewConnectionError(...: Failed to establish a new connection: [Errno 111] Connection refused')'\n${missing}`;
    expect(packageFailure('pip', 'pip', result('', offline)).retryable).toBe(true);
  });

  it('npm: E404 and ETARGET are permanent, network errors retried', () => {
    expect(
      packageFailure(
        'npm',
        'npm',
        result(
          '',
          'npm ERR! code E404\nnpm ERR! 404 Not Found - GET https://registry.npmjs.org/nope - Not found',
        ),
      ).retryable,
    ).toBe(false);
    expect(
      packageFailure(
        'npm',
        'npm',
        result(
          '',
          'npm ERR! code ETARGET\nnpm ERR! notarget No matching version found for left-pad@99.',
        ),
      ).message,
    ).toBe('npm: no version of left-pad@99. matches');
    expect(packageFailure('npm', 'npm', result('', 'npm ERR! code ECONNRESET')).retryable).toBe(
      true,
    );
    expect(packageFailure('npm', 'npm', result('', 'npm ERR! code E503')).retryable).toBe(true);
  });

  it('unknown failures and timeouts are retried', () => {
    expect(packageFailure('apt', 'apt', result('', 'something odd')).retryable).toBe(true);
    expect(packageFailure('pip', 'pip', { ...result(''), timedOut: true }).message).toBe(
      'pip: timed out',
    );
  });
});
