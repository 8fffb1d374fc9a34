// The job runner for real: a Debian runtime installed by RuntimeSync, jobs submitted the way the
// API submits them, run in bwrap with cgroups, asserted through the job records and event streams.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_NAMES, JobRegistry, NODE_QUEUE_JOBS } from '@joblet/queue';
import { publish, waitFor } from '../test-support.js';
import {
  buildDebianRuntime,
  makeHarness,
  missingForJobs,
  upload,
  type Harness,
} from './job-test-support.js';

const missing = missingForJobs();

describe.skipIf(missing.length > 0)(
  `the job runner [requires ${missing.join(', ') || 'root, bwrap, cgroups, the bookworm root'}]`,
  () => {
    let h: Harness;

    beforeAll(async () => {
      h = await makeHarness({ runner: { allowHostNetwork: true } });
    });
    afterAll(async () => {
      await h?.close();
    });

    it('runs a job: prints, sees its uploads in /work, gets its env, COMPLETED', async () => {
      const id = await h.submit({
        command: 'sh',
        args: [
          '-c',
          'python3 --version; cat /work/in.txt; cat /work/sub/dir/data; ls -l /work/run.sh | cut -c1-10; ' +
            './run.sh; echo "GREETING=$GREETING MARK=$RUNTIME_MARK HOME=$HOME"; pwd; echo err >&2',
        ],
        uploads: [
          upload('in.txt', 'hello upload\n'),
          upload('sub/dir/data', 'nested\n'),
          upload('run.sh', '#!/bin/sh\necho script ran as $(id -u)\n', 0o755),
        ],
        env: { GREETING: 'hi there' },
      });
      const rec = await h.waitEnd(id);
      expect(rec).toMatchObject({ state: 'COMPLETED', exitCode: 0, node: h.node });
      expect(await h.stdout(id)).toEqual([
        'Python 3.11.2',
        'hello upload',
        'nested',
        '-rwxr-xr-x',
        'script ran as 65534',
        'GREETING=hi there MARK=deb@1.0.0 HOME=/work',
        '/work',
      ]);
      expect(await h.output(id)).toContain('err');
      expect(rec.startLatencyMs).toBeGreaterThanOrEqual(0);
      expect(rec.startedAt).toBeDefined();
      expect(rec.finishedAt).toBeDefined();
      expect(rec.output).toEqual({ lines: 8, truncated: false });
      expect(rec.usage?.cpuUsageUsec).toBeGreaterThan(0);
      expect(rec.usage?.peakMemoryBytes).toBeGreaterThan(0);
      const states = (await h.events(id)).flatMap((e) => (e.type === 'out' ? [] : [e.state]));
      expect(states).toEqual(['QUEUED', 'INITIALIZING', 'RUNNING', 'COMPLETED']);
      // Nothing is kept: no cgroup (gone before the end is recorded), no job dir, no lease, no
      // uploads key.
      expect(h.cgroupDirs(id)).toEqual([]);
      await waitFor(() => !existsSync(join(h.w.tmp.path, 'work', id)) || undefined, 'job dir gone');
      expect(await h.w.redis.exists(h.w.keys.jobUploads(id))).toBe(0);
      // The runtime lease (one for all jobs of the agent) goes shortly after its last job.
      const leases = h.sync.layout.leaseDir('deb', '1.0.0');
      await waitFor(
        () => (existsSync(leases) ? readdirSync(leases) : []).length === 0 || undefined,
        'the runtime lease released',
      );
    });

    it('records a failing exit code, a death by signal and a command not in the runtime', async () => {
      const a = await h.submit({ command: 'sh', args: ['-c', 'echo bye; exit 3'] });
      const b = await h.submit({ command: 'sh', args: ['-c', 'kill -TERM $$'] });
      const c = await h.submit({ command: 'no-such-command' });
      expect(await h.waitEnd(a)).toMatchObject({
        state: 'FAILED',
        reason: 'exited',
        exitCode: 3,
        message: 'exited with code 3',
      });
      expect(await h.waitEnd(b)).toMatchObject({
        state: 'FAILED',
        reason: 'signaled',
        exitCode: 143,
        signal: 'SIGTERM',
      });
      // Exit 127 and the shell's words, not "the sandbox could not be set up".
      expect(await h.waitEnd(c)).toMatchObject({
        state: 'FAILED',
        reason: 'exited',
        exitCode: 127,
        message: 'no-such-command: command not found in runtime deb@1.0.0',
      });
      expect((await h.output(c)).join('\n')).toContain('no-such-command');
    });

    it('is isolated: own processes, read-only runtime, no host files, no network, nobody', async () => {
      const hostRootEntries = readdirSync('/root');
      const id = await h.submit({
        command: 'sh',
        args: [
          '-c',
          [
            'echo "procs=$(ls /proc | grep -c "^[0-9]")"',
            'echo "pid1=$(tr "\\0" " " < /proc/1/cmdline)"',
            'touch /usr/x 2>&1; touch /usr/bin/x 2>&1; touch /x 2>&1',
            'ls /root 2>&1; cat /etc/hostname 2>&1',
            'echo "host=$(hostname)"',
            'echo "ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\\n" ,)"',
            'bash -c "echo > /dev/tcp/127.0.0.1/6379" 2>&1 && echo redis=reachable || echo redis=unreachable',
            'echo "uid=$(id -u) gid=$(id -g)"',
            'grep CapEff /proc/self/status',
            'echo ok > /work/f && echo ok > /tmp/f && echo writable',
          ].join('; '),
        ],
      });
      const rec = await h.waitEnd(id);
      expect(rec.state).toBe('COMPLETED');
      const out = (await h.output(id)).join('\n');
      const procs = Number(/procs=(\d+)/.exec(out)?.[1]);
      expect(procs).toBeGreaterThan(0);
      expect(procs).toBeLessThanOrEqual(6); // bwrap's init, sh, a subshell, ls, grep
      expect(out).toMatch(/pid1=bwrap /);
      expect(out).toContain("touch: cannot touch '/usr/x': Read-only file system");
      expect(out).toContain("touch: cannot touch '/usr/bin/x': Read-only file system");
      expect(out).toContain("touch: cannot touch '/x': Read-only file system");
      expect(out).toContain("ls: cannot access '/root': No such file or directory");
      for (const e of hostRootEntries) expect(out).not.toContain(`\n${e}\n`);
      expect(out).toContain('cat: /etc/hostname: No such file or directory');
      expect(out).toContain(`host=job-${id.slice(0, 8)}`);
      expect(out).toContain('ifaces=lo,');
      expect(out).toContain('redis=unreachable');
      expect(out).toContain('uid=65534 gid=65534');
      expect(out).toMatch(/CapEff:\s+0{16}/);
      expect(out).toContain('writable');
    });

    it('shares the host network only with network=host', async () => {
      const id = await h.submit({
        command: 'bash',
        args: ['-c', 'echo > /dev/tcp/127.0.0.1/6379 && echo redis=reachable'],
        network: 'host',
      });
      expect((await h.waitEnd(id)).state).toBe('COMPLETED');
      expect(await h.stdout(id)).toEqual(['redis=reachable']);
    });

    it('streams 100,000 lines from a fast writer complete and in order', async () => {
      const started = Date.now();
      const id = await h.submit({ command: 'seq', args: ['1', '100000'] });
      const rec = await h.waitEnd(id, 120_000);
      const took = Date.now() - started;
      expect(rec).toMatchObject({
        state: 'COMPLETED',
        output: { lines: 100_000, truncated: false },
      });
      const lines = await h.stdout(id);
      expect(lines.length).toBe(100_000);
      let inOrder = true;
      for (let i = 0; i < lines.length; i++) if (lines[i] !== String(i + 1)) inOrder = false;
      expect(inOrder).toBe(true);
      const events = await h.events(id);
      expect(events.at(-1)).toMatchObject({ type: 'end', state: 'COMPLETED' });
      expect(events.findIndex((e) => e.type === 'out')).toBeGreaterThan(
        events.findIndex((e) => e.type === 'state' && e.state === 'RUNNING'),
      );
      console.log(`100k lines: ${took} ms`);
    });

    it('splits very long lines and streams output while the job still runs', async () => {
      const id = await h.submit({
        command: 'sh',
        args: ['-c', 'head -c 40000 /dev/zero | tr "\\0" a; echo; echo first; sleep 30'],
      });
      await waitFor(async () => (await h.stdout(id)).includes('first') || undefined, 'live line');
      const rec = await h.store.get(id);
      expect(rec?.state).toBe('RUNNING');
      const lines = await h.stdout(id);
      expect(lines.slice(0, 3).map((l) => l.length)).toEqual([16_384, 16_384, 40_000 - 32_768]);
      await h.w.redis.publish(h.w.keys.jobStopChannel, JSON.stringify({ jobId: id }));
      expect(await h.waitEnd(id)).toMatchObject({ state: 'STOPPED', reason: 'stopped' });
    });

    it('fails an unknown runtime as runtime-missing; installs a published one on demand', async () => {
      const missingId = await h.submit({ command: 'true', runtime: 'nope@1.0.0' });
      const rec = await h.waitEnd(missingId);
      expect(rec).toMatchObject({ state: 'FAILED', reason: 'runtime-missing' });
      expect(rec.message).toMatch(/runtime nope@1\.0\.0 is not installed on node jobnode/);

      // Published without the event this node follows: not installed until a job needs it.
      const v2 = { name: 'deb', version: '2.0.0' };
      const packed = await buildDebianRuntime(h.w.dir('art2'), v2);
      await publish(h.w.store, h.w.redis, h.w.keys, packed, { ...v2, event: false });
      expect(await h.sync.layout.isInstalled('deb', '2.0.0')).toBe(false);
      const id = await h.submit({
        command: 'sh',
        args: ['-c', 'echo $RUNTIME_MARK'],
        runtime: 'deb@2.0.0',
      });
      const done = await h.waitEnd(id);
      expect(done).toMatchObject({ state: 'COMPLETED', runtime: { version: '2.0.0' } });
      expect(await h.stdout(id)).toEqual(['deb@2.0.0']);
      expect(await h.sync.layout.isInstalled('deb', '2.0.0')).toBe(true);
    });

    it('refuses a limit the host cannot satisfy, naming it', async () => {
      const id = await h.submit({ command: 'true', limits: { cpuCores: '63' } });
      const rec = await h.waitEnd(id);
      expect(rec).toMatchObject({ state: 'FAILED', reason: 'start-failed' });
      expect(rec.message).toMatch(/cpus limit: CPU 63 .* is not online/);
      expect(h.cgroupDirs(id)).toEqual([]);
    });

    it('refuses unsafe upload paths and writes nothing outside the job', async () => {
      const before = readdirSync(h.w.tmp.path).sort();
      // The API refuses these too; the agent must not trust it: the secrets are written as is.
      for (const bad of ['../escape', '/tmp/joblet-abs-upload', 'a/../../escape', 'ok/./x', '']) {
        const id = await h.submit(
          { command: 'true' },
          { secrets: { env: {}, uploads: [{ path: bad, content: 'eA==', mode: 0o644 }] } },
        );
        const rec = await h.waitEnd(id);
        expect(rec).toMatchObject({ state: 'FAILED', reason: 'start-failed' });
        expect(rec.message).toMatch(/upload|uploads/);
      }
      const setuid = await h.submit(
        { command: 'true' },
        { secrets: { env: {}, uploads: [{ path: 'x', content: 'eA==', mode: 0o4755 }] } },
      );
      expect(await h.waitEnd(setuid)).toMatchObject({ state: 'FAILED', reason: 'start-failed' });
      expect(readdirSync(h.w.tmp.path).sort()).toEqual(before);
      // Nothing but the ready-made /work disks (work-disks.ts).
      const left = readdirSync(join(h.w.tmp.path, 'work')).filter((n) => !n.startsWith('.disk-'));
      expect(left).toEqual([]);
      expect(existsSync('/tmp/joblet-abs-upload')).toBe(false);
    });

    it('starts a scheduled job no earlier than its time', async () => {
      const id = await h.submit({ command: 'echo', args: ['late'] }, { delayMs: 1500 });
      const rec = await h.waitEnd(id);
      expect(rec.state).toBe('COMPLETED');
      expect(Date.parse(rec.startedAt!)).toBeGreaterThanOrEqual(Date.parse(rec.scheduledFor!));
      // Latency counts from the scheduled time, not from the submission.
      expect(rec.startLatencyMs).toBeLessThan(1500);
      // The final state's event follows the record's final state.
      const states = await waitFor(async () => {
        const all = (await h.events(id)).flatMap((e) => (e.type === 'out' ? [] : [e.state]));
        return all.includes('COMPLETED') ? all : undefined;
      }, 'the COMPLETED event');
      expect(states).toEqual(['SCHEDULED', 'INITIALIZING', 'RUNNING', 'COMPLETED']);
    });

    it('answers `rnx runtime test` by running the version command as a job', async () => {
      const nodeQueue = new JobRegistry(NODE_QUEUE_JOBS, h.runner.nodeQueueHandlers());
      const r = (await nodeQueue.process({
        name: JOB_NAMES.runtimeTest,
        data: { name: 'deb', version: '1.0.0' },
      } as Job)) as Record<string, unknown>;
      expect(r).toMatchObject({
        command: ['python3', '--version'],
        exitCode: 0,
        output: 'Python 3.11.2',
        node: h.node,
      });
      const listed = (await h.store.list(20)).find(
        (j) => j.command === 'python3' && j.args[0] === '--version',
      );
      expect(listed).toMatchObject({ state: 'COMPLETED', pinnedNode: h.node });
      const missing = nodeQueue.process({
        name: JOB_NAMES.runtimeTest,
        data: { name: 'nope', version: '1.0.0' },
      } as Job);
      await expect(missing).rejects.toThrow(/RUNTIME_NOT_INSTALLED/);
    });

    it('times out: FAILED timeout, killed', async () => {
      const id = await h.submit({ command: 'sleep', args: ['30'], limits: { timeoutS: 1 } });
      const started = Date.now();
      const rec = await h.waitEnd(id, 20_000);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(rec).toMatchObject({ state: 'FAILED', reason: 'timeout' });
      expect(rec.message).toContain('timed out after 1 s');
      expect(h.cgroupDirs(id)).toEqual([]);
    });

    it('mounts a volume read-write at /volumes/<name>, kept across jobs', async () => {
      await h.runner.volumes.create('data');
      await h.w.redis.sadd(h.w.keys.volumes(h.node), 'data');
      const a = await h.submit({
        command: 'sh',
        args: ['-c', 'echo persisted > /volumes/data/f && ls -ld /volumes/data | cut -c1-10'],
        volumes: ['data'],
      });
      expect((await h.waitEnd(a)).state).toBe('COMPLETED');
      const b = await h.submit({ command: 'cat', args: ['/volumes/data/f'], volumes: ['data'] });
      expect((await h.waitEnd(b)).state).toBe('COMPLETED');
      expect(await h.stdout(b)).toEqual(['persisted']);
      expect(readFileSync(join(h.w.tmp.path, 'volumes/data/f'), 'utf8')).toBe('persisted\n');
      const c = await h.submit({ command: 'true', volumes: ['nope'] });
      expect(await h.waitEnd(c)).toMatchObject({ state: 'FAILED', reason: 'start-failed' });
    });
  },
);
