import { existsSync, statfsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectCgroupLayout, layoutFrom, parseMountInfo, parseProcCgroup } from './cgroups.js';

// Real texts: this farm's hybrid VM, and a pure v2 systemd host running in a service's cgroup.
const HYBRID_MOUNTINFO = `22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HYBRID_CGROUP = `9:name=systemd:/
8:pids:/
4:memory:/process_api/451fe6faf05bc1c36145dde4622c6ac0
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`;
const V2_MOUNTINFO = `26 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw
35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;
const V2_CGROUP = '0::/system.slice/joblet-agent.service\n';
const V1_MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
`;
const V1_CGROUP = '3:cpu,cpuacct:/docker/abc\n2:memory:/docker/abc/job\n';

const files = (m: Record<string, string>) => (p: string) => Promise.resolve(m[p]);

describe('cgroup parsing', () => {
  it('parses mountinfo (optional fields, escapes) and /proc/self/cgroup', () => {
    const m = parseMountInfo(
      '36 35 0:31 / /mnt/a\\040b rw shared:2 master:1 - cgroup cgroup rw,cpu,cpuacct\n',
    );
    expect(m).toEqual([
      {
        root: '/',
        mountPoint: '/mnt/a b',
        fsType: 'cgroup',
        source: 'cgroup',
        superOptions: ['rw', 'cpu', 'cpuacct'],
      },
    ]);
    expect(parseProcCgroup(HYBRID_CGROUP)[2]).toEqual({
      id: 4,
      controllers: ['memory'],
      path: '/process_api/451fe6faf05bc1c36145dde4622c6ac0',
    });
    expect(parseProcCgroup('0::/\n')).toEqual([{ id: 0, controllers: [], path: '/' }]);
  });

  it('recognises this farm’s hybrid layout with the nested memory cgroup', async () => {
    const l = await layoutFrom({
      mountinfo: HYBRID_MOUNTINFO,
      procCgroup: HYBRID_CGROUP,
      readFile: files({ '/sys/fs/cgroup/unified/cgroup.controllers': 'hugetlb\n' }),
    });
    expect(l.version).toBe('hybrid');
    expect(l.root).toBe('/sys/fs/cgroup');
    expect(l.unified).toEqual({
      mountPoint: '/sys/fs/cgroup/unified',
      ownPath: '/',
      ownDir: '/sys/fs/cgroup/unified',
      controllers: ['hugetlb'],
    });
    expect(l.v1.memory?.ownDir).toBe(
      '/sys/fs/cgroup/memory/process_api/451fe6faf05bc1c36145dde4622c6ac0',
    );
    expect(l.v1.cpu?.ownDir).toBe('/sys/fs/cgroup/cpu');
    expect(l.controllers).toEqual(['cpu', 'cpuacct', 'cpuset', 'hugetlb', 'memory', 'pids']);
  });

  it('recognises a pure v2 host', async () => {
    const dir = '/sys/fs/cgroup/system.slice/joblet-agent.service';
    const l = await layoutFrom({
      mountinfo: V2_MOUNTINFO,
      procCgroup: V2_CGROUP,
      readFile: files({ [`${dir}/cgroup.controllers`]: 'cpuset cpu io memory pids\n' }),
    });
    expect(l).toMatchObject({ version: 'v2', root: '/sys/fs/cgroup', v1: {} });
    expect(l.unified?.ownDir).toBe(dir);
    expect(l.controllers).toEqual(['cpu', 'cpuset', 'io', 'memory', 'pids']);
  });

  it('recognises pure v1 with co-mounted controllers and a container sub-tree mount', async () => {
    const l = await layoutFrom({
      mountinfo: V1_MOUNTINFO,
      procCgroup: V1_CGROUP,
      readFile: files({}),
    });
    expect(l.version).toBe('v1');
    expect(l.v1.cpu).toBe(l.v1.cpuacct);
    expect(l.v1.cpu?.ownDir).toBe('/sys/fs/cgroup/cpu,cpuacct/docker/abc');
    // The memory hierarchy is mounted from /docker/abc: our /docker/abc/job is .../memory/job.
    expect(l.v1.memory?.ownDir).toBe('/sys/fs/cgroup/memory/job');
  });
});

describe('detectCgroupLayout on this host', () => {
  it('agrees with the filesystem type of /sys/fs/cgroup and finds our own cgroups', async () => {
    const l = await detectCgroupLayout();
    const fsType = statfsSync('/sys/fs/cgroup').type;
    const CGROUP2_SUPER_MAGIC = 0x63677270;
    if (fsType === CGROUP2_SUPER_MAGIC) expect(l.version).toBe('v2');
    else expect(['v1', 'hybrid']).toContain(l.version);
    if (existsSync('/sys/fs/cgroup/unified/cgroup.controllers')) expect(l.version).toBe('hybrid');
    for (const info of Object.values(l.v1)) expect(existsSync(info.ownDir)).toBe(true);
    if (l.unified) expect(existsSync(l.unified.ownDir)).toBe(true);
    if (l.version !== 'v2') {
      for (const c of ['memory', 'cpu', 'cpuset', 'pids']) expect(l.controllers).toContain(c);
    }
  });
});
