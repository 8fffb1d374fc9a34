// The build sandbox as described to the launcher, read through the bwrap arguments it becomes
// (the launcher's own tests prove what each argument does on a real kernel).
import { describe, expect, it } from 'vitest';
import { SUBID_COUNT, bwrapArgs } from '@joblet/sandbox';
import { BUILD_CAPABILITIES, baseSandboxEnv, buildSandboxSpec } from './sandbox.js';

const buildBwrapArgs = (...a: Parameters<typeof buildSandboxSpec>) =>
  bwrapArgs(buildSandboxSpec(...a));

const subids = { first: 100000, count: SUBID_COUNT };
const args = buildBwrapArgs(
  {
    root: '/w/merged',
    subids,
    binds: [{ source: '/w/caches/pip/merged', target: '/root/.cache/pip', readonly: false }],
  },
  { ...baseSandboxEnv(), RUNTIME_NAME: 'x' },
);
const pairs = (flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));

describe('buildSandboxSpec', () => {
  it('binds the overlay as / first, then /proc, /dev, /tmp and the caches', () => {
    const at = (s: string) => args.indexOf(s);
    expect(args.slice(at('--bind'), at('--bind') + 3)).toEqual(['--bind', '/w/merged', '/']);
    expect(at('--proc')).toBeGreaterThan(at('--bind'));
    expect(args.lastIndexOf('--bind')).toBeGreaterThan(at('--tmpfs'));
    expect(args).toContain('/root/.cache/pip');
  });

  it('isolates PID, IPC, UTS and cgroup namespaces and dies with its parent', () => {
    for (const f of [
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-cgroup-try',
      '--die-with-parent',
      '--new-session',
    ]) {
      expect(args).toContain(f);
    }
    expect(pairs('--hostname')).toEqual(['build']);
  });

  it('runs rootless: root of the subordinate id range, in the namespace the launcher makes', () => {
    const spec = buildSandboxSpec({ root: '/r', subids, binds: [] }, {});
    expect(spec).toMatchObject({ subids, uid: 0, gid: 0 });
    // No second, single-id namespace of bwrap's own: the range's is the sandbox's.
    expect(args).not.toContain('--unshare-user');
  });

  it('keeps only what package installation needs (no SYS_ADMIN, NET_ADMIN, NET_RAW, MKNOD)', () => {
    expect(pairs('--cap-drop')).toEqual(['ALL']);
    expect(args.indexOf('--cap-drop')).toBeLessThan(args.indexOf('--cap-add'));
    expect(pairs('--cap-add')).toEqual([...BUILD_CAPABILITIES]);
    for (const c of [
      'CAP_SYS_ADMIN',
      'CAP_NET_ADMIN',
      'CAP_NET_RAW',
      'CAP_SYS_PTRACE',
      'CAP_SYS_MODULE',
      'CAP_MKNOD',
      'CAP_SYS_CHROOT',
      'CAP_SETFCAP',
    ]) {
      expect(pairs('--cap-add')).not.toContain(c);
    }
  });

  it('clears the environment and sets only what it is given', () => {
    expect(args).toContain('--clearenv');
    expect(args.indexOf('--clearenv')).toBeLessThan(args.indexOf('--setenv'));
    expect(pairs('--setenv').sort()).toEqual([
      'DEBIAN_FRONTEND',
      'HOME',
      'LANG',
      'PATH',
      'RUNTIME_NAME',
    ]);
  });

  it('isolates the network by default: own netns held until slirp4netns is up, its resolver', () => {
    const joined = args.join(' ');
    expect(joined).toContain('--unshare-net --info-fd 3 --block-fd 4');
    expect(joined).toContain('--perms 0644 --ro-bind-data 5 /etc/resolv.conf');
    expect(args.indexOf('--ro-bind-data')).toBeGreaterThan(args.indexOf('--bind'));
    expect(pairs('--ro-bind')).not.toContain('/etc/resolv.conf');
  });

  it("shares the host's network and resolv.conf only with network 'host'", () => {
    const host = buildBwrapArgs({ root: '/r', subids, binds: [], network: 'host' }, {});
    expect(host).not.toContain('--unshare-net');
    expect(host).not.toContain('--info-fd');
    expect(host).not.toContain('--ro-bind-data');
  });

  it('refuses invalid variable names', () => {
    expect(() => buildBwrapArgs({ root: '/r', subids, binds: [] }, { 'A=B': '1' })).toThrow(
      /invalid environment variable name/,
    );
  });
});
