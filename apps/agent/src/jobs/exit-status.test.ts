import { describe, expect, it } from 'vitest';
import { classifyExit, setupFailed, type ExitObservation } from './exit-status.js';

const base: ExitObservation = {
  code: 0,
  signal: null,
  stopped: false,
  shutdown: false,
  timedOut: false,
  oomKills: 0,
  stderrHead: [],
};

describe('classifyExit', () => {
  it('exit 0 is COMPLETED; another code is FAILED exited with it', () => {
    expect(classifyExit(base)).toEqual({ state: 'COMPLETED', exitCode: 0 });
    expect(classifyExit({ ...base, code: 3 })).toEqual({
      state: 'FAILED',
      reason: 'exited',
      exitCode: 3,
      message: 'exited with code 3',
    });
  });

  it('a command missing from the runtime is exit 127 "command not found", not a sandbox failure', () => {
    const o = {
      ...base,
      code: 1,
      stderrHead: ['bwrap: execvp python: No such file or directory'],
      runtime: 'python-3.11@1.0.0',
    };
    expect(classifyExit(o)).toEqual({
      state: 'FAILED',
      reason: 'exited',
      exitCode: 127,
      message: 'python: command not found in runtime python-3.11@1.0.0',
    });
    // Any other bwrap failure is still one of the sandbox.
    expect(
      classifyExit({ ...o, stderrHead: ['bwrap: execvp /etc/passwd: Permission denied'] }),
    ).toMatchObject({ reason: 'start-failed' });
  });

  it('128+N is a death by signal N, named', () => {
    expect(classifyExit({ ...base, code: 137 })).toMatchObject({
      state: 'FAILED',
      reason: 'signaled',
      exitCode: 137,
      signal: 'SIGKILL',
      message: 'killed by SIGKILL',
    });
    expect(classifyExit({ ...base, code: null, signal: 'SIGKILL' })).toMatchObject({
      reason: 'signaled',
      exitCode: 137,
    });
  });

  it('stop, shutdown, timeout and OOM win over the exit code, in that order', () => {
    const killed = { ...base, code: null, signal: 'SIGKILL' as const };
    expect(classifyExit({ ...killed, stopped: true, timedOut: true })).toMatchObject({
      state: 'STOPPED',
      reason: 'stopped',
    });
    expect(classifyExit({ ...killed, shutdown: true })).toMatchObject({
      state: 'STOPPED',
      message: expect.stringContaining('agent stopped'),
    });
    expect(classifyExit({ ...killed, timedOut: true, timeoutS: 5, oomKills: 1 })).toMatchObject({
      state: 'FAILED',
      reason: 'timeout',
      message: expect.stringContaining('5 s'),
    });
    expect(classifyExit({ ...base, code: 137, oomKills: 1, memoryMB: 64 })).toMatchObject({
      state: 'FAILED',
      reason: 'out-of-memory',
      message: expect.stringContaining('limit 64 MB'),
    });
    // Even a job that survived the kill of one of its processes ran out of memory.
    expect(classifyExit({ ...base, code: 0, oomKills: 2 })).toMatchObject({
      reason: 'out-of-memory',
    });
  });

  it('a sandbox that could not be set up is start-failed, with bwrap’s reason', () => {
    const o = { ...base, code: 1, stderrHead: ["bwrap: Can't mount proc on /newroot/proc"] };
    expect(setupFailed(o)).toBe(true);
    expect(classifyExit(o)).toMatchObject({
      state: 'FAILED',
      reason: 'start-failed',
      message: expect.stringContaining("Can't mount proc"),
    });
    const join = { ...base, code: 125, stderrHead: ['cgroup-join: cannot join /sys/x'] };
    expect(classifyExit(join).reason).toBe('start-failed');
    // The job's own exit 1 with other stderr is its own failure.
    expect(classifyExit({ ...base, code: 1, stderrHead: ['oops'] }).reason).toBe('exited');
  });
});
