// Rootless sandboxes on the real kernel: root inside is an unprivileged host uid of the
// delegated range, owns what lies in that range (chown works), and nothing of the host's.
import {
  chmodSync,
  chownSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { SandboxSpec } from './bwrap.js';
import { bwrapArgs } from './bwrap.js';
import { hasCommand, isRoot } from './host-probe.js';
import { launchSandbox, runInSandbox } from './launcher.js';
import { cleanupTemps, tempDir } from './testing.js';
import { SUBID_COUNT, parseSubids, subidProblem, usernsCommand } from './userns.js';

afterAll(cleanupTemps);

const IDS = { first: 100000, count: SUBID_COUNT };

describe('subordinate id ranges', () => {
  const files = (text: string) => () => text;

  it('parses /etc/subuid lines, skipping comments', () => {
    expect(parseSubids('# c\nroot:100000:65536\nbad\nalice:165536:65536\n')).toEqual([
      { owner: 'root', first: 100000, count: 65536, line: 2 },
      { owner: 'alice', first: 165536, count: 65536, line: 4 },
    ]);
  });

  it('accepts a range delegated to root, naming the file and the line to add otherwise', () => {
    expect(subidProblem('/etc/subuid', IDS, files('root:100000:65536\n'))).toBeUndefined();
    expect(subidProblem('/etc/subuid', IDS, files('root:0:4294967294\n'))).toBeUndefined();
    expect(subidProblem('/etc/subuid', IDS, files('root:100000:1000\n'))).toBe(
      "/etc/subuid has no line 'root:100000:65536'",
    );
    expect(
      subidProblem('/etc/subuid', IDS, () => {
        throw Object.assign(new Error('x'), { code: 'ENOENT' });
      }),
    ).toBe('/etc/subuid cannot be read (ENOENT)');
  });

  it("refuses a range another user's rootless containers share", () => {
    expect(
      subidProblem('/etc/subgid', IDS, files('root:100000:65536\nalice:150000:65536\n')),
    ).toMatch(/^\/etc\/subgid:2 delegates 150000-215535 to 'alice', overlapping 100000-165535/);
  });

  it('runs bwrap through unshare with the full mapping, never a nested user namespace', () => {
    const c = usernsCommand(IDS, 'bwrap', ['--unshare-pid']);
    expect(c.cmd).toBe('unshare');
    expect(c.args.slice(0, 3)).toEqual([
      '--user',
      '--map-users=100000,0,65536',
      '--map-groups=100000,0,65536',
    ]);
    expect(c.args.slice(-2)).toEqual(['bwrap', '--unshare-pid']);
    const args = bwrapArgs({ subids: IDS, uid: 0 });
    expect(args).not.toContain('--unshare-user');
    expect(() => bwrapArgs({ subids: IDS, uid: 1000 })).toThrow(/runs as its root/);
    expect(() => bwrapArgs({ subids: { first: 1000, count: SUBID_COUNT }, uid: 0 })).toThrow(
      /must start at 65536 or above/,
    );
  });
});

const canRootless =
  isRoot() &&
  hasCommand('bwrap', ['--version']) &&
  hasCommand('sh', ['-c', 'command -v newuidmap && command -v newgidmap']) &&
  subidProblem('/etc/subuid', IDS) === undefined &&
  subidProblem('/etc/subgid', IDS) === undefined;

describe.skipIf(!canRootless)(
  'a rootless sandbox [requires root, bwrap, uidmap and root:100000:65536 in /etc/subuid and /etc/subgid]',
  () => {
    /** A writable dir owned by the range's root, below traversable dirs, and a root-only file. */
    function layout(): { work: string; secret: string } {
      const dir = tempDir('userns');
      chmodSync(dir, 0o755);
      const work = join(dir, 'work');
      mkdirSync(work);
      chownSync(work, IDS.first, IDS.first);
      const secret = join(dir, 'secret');
      writeFileSync(secret, 'host secret\n', { mode: 0o600 });
      return { work, secret };
    }
    const spec = (l: { work: string; secret: string }): SandboxSpec => ({
      rootfs: '/',
      tmpfs: ['/tmp'],
      binds: [
        { source: l.work, target: '/tmp/work', readonly: false },
        { source: l.secret, target: '/tmp/secret' },
      ],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      subids: IDS,
      uid: 0,
      gid: 0,
      capabilities: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER'],
    });

    it('is uid 0 inside and host uid 100000 outside; chown works on its own files only', async () => {
      const l = layout();
      const marker = `${4000 + (process.pid % 1000)}.${Date.now() % 1000}`;
      const script = [
        'id -u; id -g',
        'echo made > /tmp/work/file && chown 1000:1000 /tmp/work/file && echo chown=ok',
        'if cat /tmp/secret 2>/dev/null; then echo secret=READ; else echo secret=refused; fi',
        'if touch /etc/joblet-userns-probe 2>/dev/null; then echo etc=WROTE; else echo etc=refused; fi',
        'if chown 0:0 /etc/hostname 2>/dev/null; then echo host-chown=DONE; else echo host-chown=refused; fi',
        `exec sleep ${marker}`,
      ].join('\n');
      const p = launchSandbox(spec(l), '/bin/sh', ['-c', script], { timeoutMs: 30_000 });
      let status = '';
      for (let i = 0; i < 200 && status === ''; i++) {
        const pid = sleeper(marker);
        if (pid) status = readFileSync(`/proc/${pid}/status`, 'utf8');
        else await sleep(50);
      }
      await p.stop();
      const r = await p.result;
      expect(r.stdout.trim().split('\n')).toEqual([
        '0',
        '0',
        'chown=ok',
        'secret=refused',
        'etc=refused',
        'host-chown=refused',
      ]);
      // Seen from the host: the sandbox's root is the first id of the range.
      expect(/^Uid:\s+(\d+)\s+(\d+)/m.exec(status)?.slice(1)).toEqual(['100000', '100000']);
      expect(/^Gid:\s+(\d+)/m.exec(status)?.[1]).toBe('100000');
      const st = statSync(join(l.work, 'file'));
      expect([st.uid, st.gid]).toEqual([101000, 101000]);
      expect(readFileSync('/etc/hostname', 'utf8')).toBeTruthy();
    });

    it('keeps only the capabilities asked for, and cannot create a user namespace even without seccomp', async () => {
      const l = layout();
      const script = [
        'grep CapEff /proc/self/status',
        'cat /proc/sys/user/max_user_namespaces',
        'if unshare --user true 2>/dev/null; then echo userns=MADE; else echo userns=refused; fi',
        'if unshare --mount true 2>/dev/null; then echo mountns=MADE; else echo mountns=refused; fi',
      ].join('\n');
      for (const seccomp of [true, false]) {
        const r = await runInSandbox({ ...spec(l), seccomp }, '/bin/sh', ['-c', script], {
          timeoutMs: 30_000,
        });
        expect(r.stdout.trim().split('\n'), r.stderr).toEqual([
          'CapEff:\t000000000000000b',
          '0',
          'userns=refused',
          'mountns=refused',
        ]);
      }
    });

    it('gets egress networking through slirp4netns like any sandbox', async () => {
      const r = await runInSandbox(
        { ...spec(layout()), network: 'egress' },
        '/bin/sh',
        ['-c', 'grep -o tap0 /proc/net/dev; id -u'],
        { timeoutMs: 30_000, egress: { label: 'userns-test' } },
      );
      expect(r.stdout.trim().split('\n'), r.stderr).toEqual(['tap0', '0']);
    });

    it("runs only as the namespace's root (a spec check: nothing starts)", () => {
      expect(() => launchSandbox({ subids: IDS, uid: 65534 }, '/bin/true', [])).toThrow(
        /runs as its root/,
      );
    });
  },
);

/** pid of the process running exactly `sleep <marker>`. */
function sleeper(marker: string): string | undefined {
  return readdirSync('/proc').find((p) => {
    if (!/^\d+$/.test(p)) return false;
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\0${marker}\0`;
    } catch {
      return false;
    }
  });
}
