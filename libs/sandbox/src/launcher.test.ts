// The one launcher, for real: each property of a sandbox is proved here once (namespaces,
// read-only mounts, no capabilities, the environment, limits through the cgroup, nothing left
// after a stop or a timeout); callers test only what they describe.
import { chownSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { NOBODY, type SandboxSpec } from './bwrap.js';
import { CgroupManager } from './cgroup.js';
import { parseProcs } from './cgroup-format.js';
import type { Cgroup } from './cgroup-types.js';
import { detectCgroupLayout } from './cgroups.js';
import { run } from './exec.js';
import { hasCommand, hasUnprivilegedUserns, isRoot } from './host-probe.js';
import { launchSandbox, runInSandbox, sandboxSetupFailed } from './launcher.js';
import { cleanupTemps, tempDir } from './testing.js';

afterAll(cleanupTemps);

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

    it("has only loopback with network 'none', the host interfaces with 'host'", async () => {
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
      expect((await ifaces({ ...host, network: 'host' })).length).toBe(hostIfaces.length);
    });

    it('clears the environment: nothing of the host leaks, only spec.env', async () => {
      process.env.JOBLET_HOST_SECRET = 'leak';
      const r = await runInSandbox({ ...host, env: { ONLY: 'this' } }, '/usr/bin/env', []).finally(
        () => delete process.env.JOBLET_HOST_SECRET,
      );
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
          `import { launchSandbox } from ${JSON.stringify(join(here, 'launcher.ts'))};`,
          `launchSandbox({ rootfs: '/', env: { PATH: '/usr/bin:/bin' } }, '/bin/sh', ['-c', 'sleep ${marker} & sleep ${marker}; wait']);`,
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

const layout = await detectCgroupLayout();
const cgroupsMissing = ['memory', 'pids'].filter((c) => !layout.controllers.includes(c));
const canCgroup = canSandbox && isRoot() && cgroupsMissing.length === 0;

function procs(g: Cgroup): number[] {
  return g.paths.flatMap((p) => parseProcs(readFileSync(join(p, 'cgroup.procs'), 'utf8')));
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe.skipIf(!canSandbox)('launchSandbox [requires bwrap and user namespaces]', () => {
  const host: SandboxSpec = { rootfs: '/', tmpfs: ['/tmp'], env: { PATH: '/usr/bin:/bin' } };

  it.skipIf(!isRoot())(
    'keeps exactly the capabilities named, as root inside (a build) [requires root]',
    async () => {
      const r = await runInSandbox(
        { ...host, uid: 0, gid: 0, capabilities: ['CAP_CHOWN', 'CAP_FOWNER'] },
        '/bin/sh',
        ['-c', 'grep -E "^(Uid|CapEff|CapPrm):" /proc/self/status'],
      );
      expect(r.stdout).toMatch(/^Uid:\s+0\s+0\s+0\s+0$/m);
      // CAP_CHOWN is bit 0, CAP_FOWNER bit 3: 0x9, nothing else (no_new_privs keeps it so).
      expect(r.stdout).toMatch(/^CapEff:\s+0{15}9$/m);
      expect(r.stdout).toMatch(/^CapPrm:\s+0{15}9$/m);
    },
  );

  it('readonlyRoot: an empty root is read-only once its mounts exist; tmpfs stays writable', async () => {
    const spec: SandboxSpec = {
      binds: [{ source: '/usr', target: '/usr' }],
      symlinks: [
        { path: '/bin', target: 'usr/bin' },
        { path: '/lib', target: 'usr/lib' },
        { path: '/lib64', target: 'usr/lib64' },
      ],
      tmpfs: ['/tmp'],
      readonlyRoot: true,
      env: { PATH: '/usr/bin' },
    };
    const r = await runInSandbox(spec, '/bin/sh', [
      '-c',
      'mkdir /new; echo rc=$?; echo x > /tmp/ok && cat /tmp/ok',
    ]);
    expect(r.stdout).toContain('rc=1');
    expect(r.stderr).toContain('Read-only file system');
    expect(r.stdout).toContain('x\n');
  });

  it('rootfsWritable: a build writes its own root', async () => {
    const root = tempDir('launch-root');
    for (const d of ['usr', 'tmp']) await run('mkdir', ['-p', join(root, d)]);
    const r = await runInSandbox(
      {
        rootfs: root,
        rootfsWritable: true,
        uid: 0,
        gid: 0,
        binds: [{ source: '/usr', target: '/usr' }],
        symlinks: [
          { path: '/bin', target: 'usr/bin' },
          { path: '/lib', target: 'usr/lib' },
          { path: '/lib64', target: 'usr/lib64' },
        ],
        env: { PATH: '/usr/bin' },
      },
      '/bin/sh',
      ['-c', 'echo built > /made'],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(root, 'made'), 'utf8')).toBe('built\n');
  });

  it("stdio 'pipe' hands over the streams; a bwrap failure is recognised as such", async () => {
    const p = launchSandbox(host, '/bin/sh', ['-c', 'echo out; echo err >&2'], { stdio: 'pipe' });
    await p.ready;
    const read = async (s: NodeJS.ReadableStream | null) => {
      let text = '';
      for await (const c of s!) text += String(c);
      return text;
    };
    const [out, err] = await Promise.all([read(p.stdout), read(p.stderr)]);
    expect([out, err]).toEqual(['out\n', 'err\n']);
    expect((await p.result).code).toBe(0);
    const bad = await runInSandbox(
      { ...host, binds: [{ source: '/nonexistent/joblet', target: '/x' }] },
      'true',
      [],
    );
    expect(sandboxSetupFailed(bad)).toBe(true);
  });

  describe.skipIf(!canCgroup)(
    `in a cgroup [requires root and the ${cgroupsMissing.join(', ') || 'memory and pids'} controllers]`,
    () => {
      const ns = `jl-${process.pid}`;
      const manager = CgroupManager.detect({ namespace: ns, stateDir: tempDir('launch-cg') });
      afterAll(async () => (await manager).removeNamespace());

      it('joins it before bwrap runs, as nobody; limits apply (pids.max, memory)', async () => {
        const g = await (await manager).create('limits', { pidsMax: 20, memoryBytes: 64 << 20 });
        try {
          const p = launchSandbox(host, 'sleep', ['30'], { cgroup: g });
          await until('the sandboxed sleep', () =>
            procs(g).some((pid) => {
              try {
                return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep';
              } catch {
                return false;
              }
            }),
          );
          expect(procs(g)).toContain(p.pid); // bwrap itself, exec'd by the join script
          expect(readFileSync(`/proc/${p.pid}/status`, 'utf8')).toMatch(/^Uid:\t65534\t65534\t/m);
          await p.stop();
          expect((await p.result).signal).toBe('SIGKILL');

          const forks = [
            'import os, time',
            'n = 0',
            'for i in range(60):',
            '    try:',
            '        if os.fork() == 0:',
            '            time.sleep(5)',
            '            os._exit(0)',
            '        n += 1',
            '    except OSError:',
            '        break',
            'print(n)',
          ].join('\n');
          const bomb = await runInSandbox(host, '/usr/bin/python3', ['-c', forks], {
            cgroup: g,
            timeoutMs: 30_000,
          });
          expect(Number(bomb.stdout.trim())).toBeLessThan(20);
          const hog = await runInSandbox(
            host,
            '/usr/bin/python3',
            ['-c', 'b = bytearray(256 << 20); print(len(b))'],
            { cgroup: g, timeoutMs: 30_000 },
          );
          expect(hog.stdout).toBe(''); // never got its 256 MiB
          expect(String(hog.signal ?? hog.code)).toMatch(/^(SIGKILL|137)$/);
        } finally {
          await g.destroy();
        }
      });

      it('stop() leaves no process of the sandbox and an empty cgroup; so does a timeout', async () => {
        const g = await (await manager).create('stop', {});
        try {
          const marker = `33.${process.pid}${Date.now() % 100000}`;
          // A daemon in its own session escapes the process group, not the cgroup.
          const script = `setsid sleep ${marker} & sleep ${marker} & sleep ${marker}; wait`;
          const p = launchSandbox(host, '/bin/sh', ['-c', script], { cgroup: g });
          await until('three sleepers', () => sleepers(marker).length === 3);
          await p.stop();
          await p.result;
          expect(sleepers(marker)).toEqual([]);
          expect(procs(g)).toEqual([]);
          const t = await runInSandbox(host, '/bin/sh', ['-c', script], {
            cgroup: g,
            timeoutMs: 500,
            killGraceMs: 200,
          });
          expect(t.timedOut).toBe(true);
          expect(sleepers(marker)).toEqual([]);
          expect(procs(g)).toEqual([]);
        } finally {
          await g.destroy();
        }
        for (const d of g.paths) expect(existsSync(d)).toBe(false);
      });
    },
  );
});
