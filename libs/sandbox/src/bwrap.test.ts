import { chownSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { NOBODY, bwrapArgs, runInSandbox, type SandboxSpec } from './bwrap.js';
import { SandboxError, SandboxErrorCode } from './errors.js';
import { run } from './exec.js';
import { hasCommand, hasUnprivilegedUserns, isRoot } from './host-probe.js';
import { cleanupTemps, tempDir } from './testing.js';

afterAll(cleanupTemps);

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
      unshare: { net: false },
      uid: 1000,
      hostname: 'job-1',
      chdir: '/work',
      env: { PATH: '/usr/bin', LANG: 'C.UTF-8' },
      capDrop: ['CAP_NET_RAW'],
      newSession: false,
      dieWithParent: false,
      disableNestedUserns: false,
    });
    expect(args.join(' ')).toBe(
      '--unshare-pid --unshare-ipc --unshare-uts --unshare-cgroup-try --unshare-user --uid 1000 --gid 1000 ' +
        '--hostname job-1 --ro-bind /opt/joblet/runtimes/py/1.0.0/isolated / --proc /proc --dev /dev ' +
        '--size 1048576 --perms 1777 --tmpfs /tmp --tmpfs /run --dir /volumes ' +
        '--bind /var/lib/jobs/1 /work --ro-bind-try /opt/x /x --symlink usr/bin /bin --chdir /work ' +
        '--clearenv --setenv PATH /usr/bin --setenv LANG C.UTF-8 --cap-drop CAP_NET_RAW',
    );
  });

  it('uses no user namespace for uid 0', () => {
    expect(bwrapArgs({ uid: 0, capDrop: [] })).not.toContain('--unshare-user');
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
    [{ capDrop: ['NET_RAW; rm'] }, "invalid capability 'NET_RAW; rm'"],
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

const here = dirname(fileURLToPath(import.meta.url));

/** Live processes running `sleep <marker>` (a duration nothing else on the host uses). */
function sleepers(marker: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\0${marker}\0`;
      } catch {
        return false;
      }
    });
}

const canSandbox = hasCommand('bwrap', ['--version']) && hasUnprivilegedUserns();

describe.skipIf(!canSandbox)(
  'runInSandbox on the host root [requires bwrap and unprivileged user namespaces]',
  () => {
    const host: SandboxSpec = { rootfs: '/', tmpfs: ['/tmp'], env: { PATH: '/usr/bin:/bin' } };
    const sh = (script: string, spec: SandboxSpec = host) =>
      runInSandbox(spec, '/bin/sh', ['-c', script], { timeoutMs: 20_000 });

    it('sees only its own PID namespace, with itself under pid 1', async () => {
      const r = await sh('echo $$; for p in /proc/[0-9]*; do echo ${p#/proc/}; done');
      expect(r.code).toBe(0);
      const [self, ...pids] = r.stdout.trim().split('\n').map(Number);
      expect(pids).toContain(1);
      expect(self).toBeLessThan(10);
      expect(Math.max(...pids)).toBeLessThan(10);
      expect(pids).not.toContain(process.pid);
    });

    it('cannot write a read-only bind (EROFS) but can write a writable one', async () => {
      const work = tempDir('bwrap-work');
      if (isRoot()) chownSync(work, NOBODY, NOBODY);
      const spec: SandboxSpec = {
        ...host,
        binds: [{ source: work, target: '/work', readonly: false }],
      };
      const r = await sh(
        'touch /usr/joblet-test; echo rc=$?; echo hi > /work/out; touch /work/../usr/x',
        spec,
      );
      expect(r.stdout).toContain('rc=1');
      expect(r.stderr).toContain('/usr/joblet-test');
      expect(r.stderr).toContain('Read-only file system');
      expect(readFileSync(join(work, 'out'), 'utf8')).toBe('hi\n');
      if (isRoot()) expect(statSync(join(work, 'out')).uid).toBe(NOBODY);
    });

    it('runs as uid 65534 with no capabilities and cannot read root-only host files', async () => {
      const r = await sh(
        'grep -E "^(Uid|Gid|CapEff|CapBnd|CapPrm):" /proc/self/status; cat /etc/shadow; unshare --user true',
      );
      expect(r.stdout).toMatch(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
      expect(r.stdout).toMatch(/^CapEff:\s+0{16}$/m);
      expect(r.stdout).toMatch(/^CapBnd:\s+0{16}$/m);
      expect(r.stdout).toMatch(/^CapPrm:\s+0{16}$/m);
      expect(r.stderr).toContain('/etc/shadow: Permission denied');
      expect(r.stderr).toMatch(/unshare: unshare failed/);
    });

    it('has only loopback with a network namespace, the host interfaces without', async () => {
      const ifaces = async (spec: SandboxSpec): Promise<string[]> => {
        const r = await sh('cat /proc/net/dev', spec);
        return r.stdout
          .split('\n')
          .slice(2)
          .map((l) => l.split(':')[0]!.trim())
          .filter(Boolean);
      };
      expect(await ifaces(host)).toEqual(['lo']);
      const hostIfaces = readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2).filter(Boolean);
      expect((await ifaces({ ...host, unshare: { net: false } })).length).toBe(hostIfaces.length);
    });

    it('clears the environment: nothing of the host leaks, only spec.env', async () => {
      const argv = [...bwrapArgs({ ...host, env: { ONLY: 'this' } }), '--', '/usr/bin/env'];
      const r = await run('bwrap', argv, {
        cwd: '/',
        env: { ...process.env, JOBLET_HOST_SECRET: 'leak', PATH: '/usr/bin:/bin' },
      });
      expect(r.code).toBe(0);
      // bwrap itself sets PWD to the working directory inside; nothing else may appear.
      expect(r.stdout.trim().split('\n').sort()).toEqual(['ONLY=this', 'PWD=/']);
    });

    it('sets hostname and working directory, passes the exit code through', async () => {
      const r = await sh('cat /proc/sys/kernel/hostname; pwd; exit 7', {
        ...host,
        hostname: 'job-42',
        chdir: '/tmp',
      });
      expect(r.stdout).toBe('job-42\n/tmp\n');
      expect(r.code).toBe(7);
    });

    it('on an empty root sees only what was bound: no host /root, no host /etc', async () => {
      const spec: SandboxSpec = {
        binds: [{ source: '/usr', target: '/usr' }],
        symlinks: [
          { path: '/bin', target: 'usr/bin' },
          { path: '/lib', target: 'usr/lib' },
          { path: '/lib64', target: 'usr/lib64' },
        ],
        tmpfs: ['/tmp'],
        env: { PATH: '/usr/bin' },
      };
      const r = await runInSandbox(spec, '/usr/bin/ls', ['-1', '/'], { timeoutMs: 20_000 });
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split('\n').sort()).toEqual([
        'bin',
        'dev',
        'lib',
        'lib64',
        'proc',
        'tmp',
        'usr',
      ]);
    });

    it('fails the run when a bind source is missing (never a silent warning)', async () => {
      const r = await sh('true', {
        ...host,
        binds: [{ source: '/nonexistent/joblet', target: '/x' }],
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('/nonexistent/joblet');
    });

    it('dies with its parent: SIGKILL of the Node process leaves nothing running', async () => {
      const marker = `31.${process.pid}${Date.now() % 100000}`;
      const script = join(tempDir('bwrap-parent'), 'parent.mts');
      writeFileSync(
        script,
        [
          `import { spawnInSandbox } from ${JSON.stringify(join(here, 'bwrap.ts'))};`,
          `spawnInSandbox({ rootfs: '/', env: { PATH: '/usr/bin:/bin' } }, '/bin/sh', ['-c', 'sleep ${marker} & sleep ${marker}; wait']);`,
          `setTimeout(() => process.kill(process.pid, 'SIGKILL'), 500);`,
        ].join('\n'),
      );
      const r = await run(process.execPath, ['--import', 'tsx', script], {
        cwd: here,
        timeoutMs: 20_000,
      });
      expect(r.signal).toBe('SIGKILL');
      await new Promise((res) => setTimeout(res, 300));
      expect(sleepers(marker)).toEqual([]);
    });

    it('a timeout kills everything in the sandbox', async () => {
      // A sleep duration nothing else on the host uses identifies our processes in /proc.
      const marker = `30.${process.pid}${Date.now() % 100000}`;
      const r = await runInSandbox(
        host,
        '/bin/sh',
        ['-c', `sleep ${marker} & sleep ${marker}; wait`],
        {
          timeoutMs: 500,
          killGraceMs: 500,
        },
      );
      expect(r.timedOut).toBe(true);
      await new Promise((res) => setTimeout(res, 300));
      expect(sleepers(marker)).toEqual([]);
    });
  },
);
