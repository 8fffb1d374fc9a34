import { describe, expect, it } from 'vitest';
import { bwrapArgs, type SandboxSpec } from './bwrap.js';
import { SandboxError, SandboxErrorCode } from './errors.js';

describe('bwrapArgs', () => {
  it('builds the strict defaults', () => {
    expect(bwrapArgs({})).toEqual([
      '--die-with-parent',
      '--new-session',
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-cgroup-try',
      '--unshare-net',
      '--unshare-user',
      '--uid',
      '65534',
      '--gid',
      '65534',
      '--disable-userns',
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      '--clearenv',
      '--seccomp',
      '3',
      '--cap-drop',
      'ALL',
    ]);
  });

  it('maps every field in a fixed order', () => {
    const args = bwrapArgs({
      rootfs: '/opt/joblet/runtimes/py/1.0.0/isolated',
      binds: [
        { source: '/var/lib/jobs/1', target: '/work', readonly: false },
        { source: '/opt/x', target: '/x', optional: true },
      ],
      tmpfs: [{ target: '/tmp', sizeBytes: 1 << 20, mode: 0o1777 }, '/run'],
      dirs: ['/volumes'],
      symlinks: [{ path: '/bin', target: 'usr/bin' }],
      network: 'host',
      uid: 1000,
      hostname: 'job-1',
      chdir: '/work',
      env: { PATH: '/usr/bin', LANG: 'C.UTF-8' },
      capabilities: ['CAP_NET_RAW'],
      readonlyRoot: true,
      newSession: false,
      dieWithParent: false,
      disableNestedUserns: false,
    });
    expect(args.join(' ')).toBe(
      '--unshare-pid --unshare-ipc --unshare-uts --unshare-cgroup-try --unshare-user --uid 1000 --gid 1000 ' +
        '--hostname job-1 --ro-bind /opt/joblet/runtimes/py/1.0.0/isolated / --proc /proc --dev /dev ' +
        '--size 1048576 --perms 1777 --tmpfs /tmp --tmpfs /run --dir /volumes ' +
        '--bind /var/lib/jobs/1 /work --ro-bind-try /opt/x /x --symlink usr/bin /bin --remount-ro / ' +
        '--chdir /work --clearenv --setenv PATH /usr/bin --setenv LANG C.UTF-8 --seccomp 3 ' +
        '--cap-drop ALL --cap-add CAP_NET_RAW',
    );
  });

  it('reads the seccomp filter after the egress pipes, or not at all when asked', () => {
    expect(bwrapArgs({ network: 'egress' }).join(' ')).toContain('--seccomp 6');
    expect(bwrapArgs({ seccomp: false })).not.toContain('--seccomp');
  });

  it('holds a bridge sandbox like an egress one: own netns, block fd, resolv.conf, seccomp after', () => {
    const bridge = {
      bridge: 'jb-0123456789',
      veth: 'jv-0123456789',
      cidr: '10.10.0.0/24',
      address: '10.10.0.2',
      gateway: '10.10.0.1',
    };
    const args = bwrapArgs({ network: 'bridge', bridge }).join(' ');
    expect(args).toContain('--unshare-net --info-fd 3 --block-fd 4');
    expect(args).toContain('--perms 0644 --ro-bind-data 5 /etc/resolv.conf');
    expect(args).toContain('--seccomp 6');
  });

  it('uses no user namespace for uid 0', () => {
    expect(bwrapArgs({ uid: 0 })).not.toContain('--unshare-user');
  });

  it('binds a writable root for builds, read-only otherwise', () => {
    expect(bwrapArgs({ rootfs: '/r', rootfsWritable: true }).join(' ')).toContain('--bind /r /');
    expect(bwrapArgs({ rootfs: '/r' }).join(' ')).toContain('--ro-bind /r /');
  });

  it.each<[SandboxSpec, string]>([
    [
      { binds: [{ source: 'relative', target: '/x' }] },
      "bind source must be an absolute path: 'relative'",
    ],
    [{ tmpfs: ['tmp'] }, "tmpfs target must be an absolute path: 'tmp'"],
    [{ env: { 'BAD-NAME': 'x' } }, "invalid environment variable name 'BAD-NAME'"],
    [{ hostname: 'a b' }, "invalid hostname 'a b'"],
    [{ uid: -1 }, 'invalid uid -1'],
    [{ capabilities: ['NET_RAW; rm'] }, "invalid capability 'NET_RAW; rm'"],
    [{ capabilities: ['ALL'] }, "invalid capability 'ALL'"],
    [{ network: 'wifi' as 'none' }, "invalid network 'wifi'"],
    [{ network: 'bridge' }, "network 'bridge' needs spec.bridge"],
    [{ hostname: 'h', unshare: { uts: false } }, 'hostname needs a UTS namespace'],
  ])('refuses %j', (spec, message) => {
    let err: unknown;
    try {
      bwrapArgs(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SandboxError);
    expect((err as SandboxError).code).toBe(SandboxErrorCode.InvalidSpec);
    expect((err as SandboxError).message).toContain(message);
  });
});
