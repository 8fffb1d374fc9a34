import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CPU_PERIOD_US,
  cpuQuotaUs,
  formatBlkioThrottle,
  formatCpuList,
  formatCpuMax,
  formatIoMax,
  isDeviceNumber,
  parseCpuList,
  parseKeyedFile,
  parseNumberFile,
  parseProcs,
  splitDev,
} from './cgroup-format.js';
import { SUPERVISOR_LEAF, subtreeControlLine, v2BaseDir } from './cgroup-v2.js';
import { JOIN_SCRIPT, uniqueDirs } from './cgroup-handle.js';
import { kernelAtLeast } from './host-probe.js';

// Texts as a 6.x kernel writes them (v2 from a pure-v2 host, v1 from this farm's hybrid VM).
const V2_MEMORY_EVENTS = 'low 0\nhigh 0\nmax 1289\noom 3\noom_kill 2\noom_group_kill 1\n';
const V2_CPU_STAT = `usage_usec 2004123
user_usec 1990000
system_usec 14123
core_sched.force_idle_usec 0
nr_periods 40
nr_throttled 39
throttled_usec 1950321
nr_bursts 0
burst_usec 0
`;
const V1_OOM_CONTROL = 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n';

describe('cpu limits', () => {
  it('formats cpu.max as "quota period" in microseconds', () => {
    expect(CPU_PERIOD_US).toBe(100_000);
    expect(formatCpuMax(50)).toBe('50000 100000');
    expect(formatCpuMax(100)).toBe('100000 100000');
    expect(formatCpuMax(150)).toBe('150000 100000');
    expect(formatCpuMax(12.345)).toBe('12345 100000');
    expect(formatCpuMax(50, 200_000)).toBe('100000 200000');
  });

  it('never goes below the kernel minimum quota of 1 ms', () => {
    expect(cpuQuotaUs(0.5)).toBe(1_000);
    expect(cpuQuotaUs(1)).toBe(1_000);
    expect(cpuQuotaUs(2)).toBe(2_000);
  });
});

describe('cpu lists', () => {
  it('parses ranges and singles into sorted unique CPUs', () => {
    expect(parseCpuList('0-3')).toEqual([0, 1, 2, 3]);
    expect(parseCpuList('1,3')).toEqual([1, 3]);
    expect(parseCpuList('5,0-2,2\n')).toEqual([0, 1, 2, 5]);
    expect(parseCpuList('')).toEqual([]);
  });

  it('rejects malformed lists', () => {
    for (const bad of ['3-1', '0-', '-1', 'a', '0,,1', '0 1', '1-2-3']) {
      expect(parseCpuList(bad), bad).toBeUndefined();
    }
  });

  it('formats the shortest list', () => {
    expect(formatCpuList([0, 1, 2, 5])).toBe('0-2,5');
    expect(formatCpuList([3, 1])).toBe('1,3');
    expect(formatCpuList([7])).toBe('7');
    expect(formatCpuList([])).toBe('');
  });
});

describe('io limits', () => {
  it('formats one io.max line per device, max for what is not limited', () => {
    expect(formatIoMax('8:0', 1048576, 2097152)).toBe('8:0 rbps=1048576 wbps=2097152');
    expect(formatIoMax('254:0', undefined, 5)).toBe('254:0 rbps=max wbps=5');
    expect(formatIoMax('254:0', 7)).toBe('254:0 rbps=7 wbps=max');
  });

  it('formats v1 blkio throttle lines per direction', () => {
    expect(
      formatBlkioThrottle([
        { device: '8:0', readBps: 100 },
        { device: '8:16', readBps: 1, writeBps: 2 },
      ]),
    ).toEqual({ read: ['8:0 100', '8:16 1'], write: ['8:16 2'] });
  });

  it('recognises device numbers and splits dev_t', () => {
    expect(isDeviceNumber('254:0')).toBe(true);
    expect(isDeviceNumber('sda')).toBe(false);
    expect(isDeviceNumber('8:')).toBe(false);
    expect(splitDev(0xfe00)).toEqual({ major: 254, minor: 0 });
    expect(splitDev(0x801)).toEqual({ major: 8, minor: 1 });
    // Large numbers use the high bits: major 259 (NVMe), minor 300.
    expect(splitDev((259 << 8) | (300 & 0xff) | ((300 >> 8) << 20))).toEqual({
      major: 259,
      minor: 300,
    });
    // Cross-check with the kernel's own view of /proc (procfs: major 0).
    expect(splitDev(statSync('/proc').dev).major).toBe(0);
  });
});

describe('reading cgroup files', () => {
  it('parses v2 memory.events and cpu.stat, v1 memory.oom_control', () => {
    expect(parseKeyedFile(V2_MEMORY_EVENTS).oom_kill).toBe(2);
    expect(parseKeyedFile(V2_MEMORY_EVENTS).oom_group_kill).toBe(1);
    const cpu = parseKeyedFile(V2_CPU_STAT);
    expect(cpu.usage_usec).toBe(2004123);
    expect(cpu.nr_throttled).toBe(39);
    expect(parseKeyedFile(V1_OOM_CONTROL)).toEqual({
      oom_kill_disable: 0,
      under_oom: 0,
      oom_kill: 1,
    });
  });

  it('parses single numbers (max is no number) and cgroup.procs', () => {
    expect(parseNumberFile('67108864\n')).toBe(67108864);
    expect(parseNumberFile('max\n')).toBeUndefined();
    expect(parseNumberFile('')).toBeUndefined();
    expect(parseProcs('12\n345\n\n')).toEqual([12, 345]);
    expect(parseProcs('')).toEqual([]);
  });
});

describe('v2 layout helpers', () => {
  it('enables only the controllers our cgroup offers', () => {
    expect(subtreeControlLine('cpuset cpu io memory hugetlb pids rdma misc')).toBe(
      '+cpu +cpuset +io +memory +pids',
    );
    expect(subtreeControlLine('memory pids')).toBe('+memory +pids');
    expect(subtreeControlLine('hugetlb')).toBe('');
  });

  it('puts the namespace beside the supervisor leaf, not inside it', () => {
    const u = (ownDir: string) => ({
      mountPoint: '/sys/fs/cgroup',
      ownPath: '',
      ownDir,
      controllers: [],
    });
    expect(v2BaseDir(u('/sys/fs/cgroup/system.slice/agent.service'))).toBe(
      '/sys/fs/cgroup/system.slice/agent.service',
    );
    expect(v2BaseDir(u(`/sys/fs/cgroup/system.slice/agent.service/${SUPERVISOR_LEAF}`))).toBe(
      '/sys/fs/cgroup/system.slice/agent.service',
    );
  });
});

describe('joining', () => {
  it('joins the kill hierarchy first and co-mounted directories once', () => {
    expect(
      uniqueDirs({ memory: '/m/x', cpu: '/cc/x', cpuacct: '/cc/x', unified: '/u/x', pids: '/p/x' }),
    ).toEqual(['/u/x', '/p/x', '/m/x', '/cc/x']);
  });

  it('never expands its parameters into code', () => {
    // Every expansion is double-quoted and the command is run with exec "$@".
    expect(JOIN_SCRIPT).toContain('exec "$@"');
    expect(JOIN_SCRIPT).not.toMatch(/eval|\$\*|[^"]\$@/);
  });
});

describe('kernelAtLeast', () => {
  it('compares major.minor of a release string', () => {
    expect(kernelAtLeast(5, 14, '6.18.44-fc-v669')).toBe(true);
    expect(kernelAtLeast(5, 14, '5.14.0-284.el9.x86_64')).toBe(true);
    expect(kernelAtLeast(5, 14, '5.10.0-28-amd64')).toBe(false);
    expect(kernelAtLeast(5, 14, '4.19.0')).toBe(false);
    expect(kernelAtLeast(5, 2, 'garbage')).toBe(false);
  });
});
