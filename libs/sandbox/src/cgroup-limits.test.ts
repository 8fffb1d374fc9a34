import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLimits } from './cgroup-limits.js';
import type { CgroupLimits, CgroupSupport } from './cgroup-types.js';
import { SandboxError, SandboxErrorCode } from './errors.js';
import { cleanupTemps, tempDir } from './testing.js';

afterAll(cleanupTemps);

const ALL: CgroupSupport = {
  memory: true,
  cpu: true,
  cpuset: true,
  pids: true,
  io: true,
  kill: true,
  oomGroup: true,
};

/** A fake /sys/dev/block with a disk 8:0, its partition 8:1, and 254:0. */
function sysBlock(): string {
  const dir = tempDir('sysblock');
  for (const d of ['8:0', '8:1', '254:0']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, '8:1', 'partition'), '1\n');
  return dir;
}

function backend(support: Partial<CgroupSupport> = {}, allowedCpus = [0, 1]) {
  return {
    support: { ...ALL, ...support },
    unsupportedReason: (l: keyof CgroupSupport) =>
      `the ${l === 'io' ? 'blkio' : l} controller is not available on this host`,
    allowedCpus,
  };
}

function errorOf(limits: CgroupLimits, b = backend(), dir = sysBlock()): SandboxError {
  try {
    checkLimits(limits, b, dir);
  } catch (e) {
    if (e instanceof SandboxError) return e;
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(limits)}`);
}

describe('checkLimits', () => {
  it('accepts every limit in range', () => {
    expect(() =>
      checkLimits(
        {
          memoryBytes: 64 << 20,
          cpuPercent: 150,
          cpus: '0-1',
          pidsMax: 20,
          ioBps: [
            { device: '8:0', readBps: 1 << 20 },
            { device: '254:0', writeBps: 1 },
          ],
        },
        backend(),
        sysBlock(),
      ),
    ).not.toThrow();
    expect(() => checkLimits({}, backend({ memory: false, io: false }))).not.toThrow();
    expect(() => checkLimits({ ioBps: [] }, backend({ io: false }))).not.toThrow();
  });

  it('refuses a limit the host cannot enforce, naming the limit and the reason', () => {
    const e = errorOf({ ioBps: [{ device: '8:0', readBps: 1 }] }, backend({ io: false }));
    expect(e.code).toBe(SandboxErrorCode.LimitUnsupported);
    expect(e.message).toBe('io limit: the blkio controller is not available on this host');
    const cases: [CgroupLimits, keyof CgroupSupport, string][] = [
      [{ memoryBytes: 64 << 20 }, 'memory', 'memory limit'],
      [{ cpuPercent: 50 }, 'cpu', 'cpu limit'],
      [{ cpus: '0' }, 'cpuset', 'cpus limit'],
      [{ pidsMax: 10 }, 'pids', 'pids limit'],
    ];
    for (const [limits, missing, label] of cases) {
      const err = errorOf(limits, backend({ [missing]: false }));
      expect(err.code).toBe(SandboxErrorCode.LimitUnsupported);
      expect(err.message.startsWith(`${label}: `)).toBe(true);
    }
  });

  it('refuses memory below 4 MiB or not a whole number', () => {
    expect(errorOf({ memoryBytes: 4 * 1024 * 1024 - 1 }).message).toMatch(
      /below the minimum of 4 MiB/,
    );
    expect(errorOf({ memoryBytes: 1.5e7 + 0.5 }).code).toBe(SandboxErrorCode.LimitInvalid);
    expect(() => checkLimits({ memoryBytes: 4 * 1024 * 1024 }, backend())).not.toThrow();
  });

  it('refuses cpu percentages outside 1..100 × CPUs', () => {
    for (const cpuPercent of [0, 0.5, 201, Number.NaN, Infinity]) {
      const e = errorOf({ cpuPercent });
      expect(e.code, String(cpuPercent)).toBe(SandboxErrorCode.LimitInvalid);
      expect(e.message).toMatch(/between 1 and 200 percent \(2 CPUs\)/);
    }
  });

  it('refuses CPUs that are not online and malformed lists', () => {
    const e = errorOf({ cpus: '0-3' });
    expect(e.code).toBe(SandboxErrorCode.LimitInvalid);
    expect(e.message).toBe(
      "cpus limit: CPU 2-3 of '0-3' is not online for this process (available: 0-1)",
    );
    expect(errorOf({ cpus: '1-0' }).message).toMatch(/not a CPU list like '0-3' or '1,3'/);
    expect(errorOf({ cpus: '' }).code).toBe(SandboxErrorCode.LimitInvalid);
  });

  it('refuses bad pid counts', () => {
    for (const pidsMax of [0, -1, 2.5, 1e9]) {
      expect(errorOf({ pidsMax }).code, String(pidsMax)).toBe(SandboxErrorCode.LimitInvalid);
    }
  });

  it('refuses unknown devices, partitions, duplicates and empty or bad rates', () => {
    const msg = (ioBps: CgroupLimits['ioBps']) => errorOf({ ioBps }).message;
    expect(msg([{ device: 'sda', readBps: 1 }])).toMatch(/not a block device number/);
    expect(msg([{ device: '9:9', readBps: 1 }])).toBe('io limit: no block device 9:9 on this host');
    expect(msg([{ device: '8:1', readBps: 1 }])).toMatch(/8:1 is a partition; limit its disk/);
    expect(msg([{ device: '8:0' }])).toMatch(/sets neither readBps nor writeBps/);
    expect(msg([{ device: '8:0', writeBps: 0 }])).toMatch(/writeBps for 8:0 must be a whole/);
    expect(
      msg([
        { device: '8:0', readBps: 1 },
        { device: '8:0', writeBps: 1 },
      ]),
    ).toMatch(/listed twice/);
  });
});
