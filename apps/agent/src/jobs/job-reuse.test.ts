// What makes a job start sooner must not change what a job gets, on the real kernel:
// - its output is appended without waiting for the RUNNING record, yet the RUNNING event still
//   comes before every line in its stream (JobStore.transition's onSent);
// - an ended job's clean-up runs after its end is recorded, and the next job does not wait for it
//   (even with one job at a time), while its processes are gone and its cgroup removed before
//   its end is recorded and its CPU and memory are counted free;
// - a /work disk of the default size is reused by the next job, and carries nothing over: no
//   file, no mode, no extended attribute, no process, the same size and free blocks and inodes.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskImagesMissing, loopDevicesBackedBy, mountsUnder } from '@joblet/sandbox';
import { waitFor } from '../test-support.js';
import { makeHarness, missingForJobs, type Harness } from './job-test-support.js';

/** Host pids running `sleep 300` (what the first job leaves behind). */
function sleepers(): string[] {
  return readdirSync('/proc').filter((p) => {
    if (!/^\d+$/.test(p)) return false;
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\x00300\x00';
    } catch {
      return false; // exited meanwhile
    }
  });
}

const missing = [...missingForJobs(), ...(diskImagesMissing() ? ['loop devices'] : [])];

describe.skipIf(missing.length > 0)(
  `reused and deferred job resources [requires ${missing.join(', ') || 'root, bwrap, loop devices'}]`,
  () => {
    let h: Harness;
    let workRoot: string;
    /** While set, the next job whose clean-up starts waits for it (see beforeCleanup). */
    let gate: Promise<void> | undefined;
    let held: string | undefined;

    beforeAll(async () => {
      h = await makeHarness({
        runner: {
          capacity: 1,
          workDisks: { defaultMB: 24, maxMB: 64, pool: 1 },
          beforeCleanup: async (id) => {
            if (!gate || held !== undefined) return;
            held = id;
            await gate;
          },
        },
      });
      workRoot = h.w.dir('work');
    });
    afterAll(async () => {
      await h?.close();
    });

    it('appends output without waiting for RUNNING, the RUNNING event still first', async () => {
      const ids = await Promise.all(
        [1, 2, 3].map(() => h.submit({ command: 'sh', args: ['-c', 'echo first; echo second'] })),
      );
      for (const id of ids) {
        expect(await h.waitEnd(id)).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
        const kinds = (await h.events(id)).map((e) => (e.type === 'out' ? e.line : e.state));
        expect(kinds).toEqual([
          'QUEUED',
          'INITIALIZING',
          'RUNNING',
          'first',
          'second',
          'COMPLETED',
        ]);
      }
    });

    it("does not make the next job wait for a job's clean-up; still gives everything back", async () => {
      let open = (): void => undefined;
      gate = new Promise<void>((r) => (open = r));
      held = undefined;
      const a = await h.submit({ command: 'sh', args: ['-c', 'echo a > /work/a; echo a'] });
      expect(await h.waitEnd(a)).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
      await waitFor(() => held === a || undefined, "a's clean-up started (and held)");
      // Ended and recorded: no process left (its cgroup is gone), its CPU and memory free again;
      // its directory (and /work disk) not given back yet.
      expect(h.cgroupDirs(a)).toEqual([]);
      expect(h.runner.admission.state()).toMatchObject({ cpuPercent: 0, memoryBytes: 0 });
      expect(existsSync(join(workRoot, a))).toBe(true);
      // One job at a time, and the next one runs to its end meanwhile.
      const b = await h.submit({ command: 'sh', args: ['-c', 'ls -A /work; echo b'] });
      expect(await h.waitEnd(b)).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
      expect(await h.stdout(b)).toEqual(['b']); // a fresh /work: a's disk is still held
      expect(existsSync(join(workRoot, a))).toBe(true);
      open();
      gate = undefined;
      await waitFor(() => !existsSync(join(workRoot, a)) || undefined, "a's directory given back");
      await waitFor(() => !existsSync(join(workRoot, b)) || undefined, "b's directory given back");
      // What is left is the pool's one ready disk: nothing of a job, no stray loop device.
      const mounts = await mountsUnder(workRoot);
      expect(mounts.filter((m) => !/\/\.disk-\d+-\d+\/disk$/.test(m))).toEqual([]);
      expect(mounts.length).toBeLessThanOrEqual(1);
      expect(await loopDevicesBackedBy(join(workRoot, a), { under: true })).toEqual([]);
      expect(await loopDevicesBackedBy(join(workRoot, b), { under: true })).toEqual([]);
    });

    it('reuses a /work disk for the next job, carrying nothing over', async () => {
      await waitFor(() => h.runner.workDiskStats().ready === 1 || undefined, 'one ready disk');
      const before = h.runner.workDiskStats();
      const first = await h.submit({
        command: 'sh',
        args: [
          '-c',
          [
            'df -k /work | tail -1; df -i /work | tail -1',
            'mkdir -p /work/a/b && head -c 3000000 /dev/urandom > /work/a/b/f',
            'echo secret > /work/.hidden && mkfifo /work/fifo && ln -s /etc/passwd /work/link',
            // setxattr(2) (188 on x86_64): the runtime has perl, not python's library or attr.
            `perl -e 'for my $p ("/work", "/work/.hidden") { my ($f, $n, $v) = ($p, "user.mark", "1"); syscall(188, $f, $n, $v, 1, 0) == 0 or die "setxattr $p: $!" } print "xattrs set\\n"'`,
            'chmod 700 /work',
            'setsid sleep 300 </dev/null >/dev/null 2>&1 &',
            'echo "left $!"',
          ].join('\n'),
        ],
      });
      expect(await h.waitEnd(first)).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
      const out1 = await h.stdout(first);
      expect(out1[2]).toBe('xattrs set');
      expect(out1[3]).toMatch(/^left \d+$/);
      // The process it left behind died with its cgroup, before its end was recorded.
      expect(h.cgroupDirs(first)).toEqual([]);
      expect(sleepers()).toEqual([]);
      await waitFor(
        () => h.runner.workDiskStats().reused > before.reused || undefined,
        'its disk back in the pool',
      );
      const second = await h.submit({
        command: 'sh',
        args: [
          '-c',
          [
            'df -k /work | tail -1; df -i /work | tail -1',
            'echo "entries=$(ls -A /work | wc -l)"',
            "stat -c 'mode=%a owner=%u:%g' /work",
            // listxattr(2) (194): the bytes of the names /work has.
            `perl -e 'my ($f, $b) = ("/work", "\\0" x 256); print "xattr bytes ", syscall(194, $f, $b, 256), "\\n"'`,
          ].join('; '),
        ],
      });
      expect(await h.waitEnd(second)).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
      // The same disk (no other was made: the pool holds one), as it was when made.
      const after = h.runner.workDiskStats();
      expect(after.made).toBe(before.made);
      const out2 = await h.stdout(second);
      expect(out2.slice(0, 2)).toEqual(out1.slice(0, 2)); // size, used, free blocks and inodes
      expect(out2.slice(2)).toEqual(['entries=0', 'mode=755 owner=65534:65534', 'xattr bytes 0']);
      // The process the first job left behind died with its cgroup: none runs on the host.
      expect(sleepers()).toEqual([]);
    });
  },
);
