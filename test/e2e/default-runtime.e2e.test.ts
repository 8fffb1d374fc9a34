/**
 * The default runtime, through a farm started by `rnx farm up` and the real `rnx`: a job without
 * `--runtime` on a fresh farm waits for the farm to build its default runtime (debian-12, from
 * the spec the farm ships) and then runs in it — with a writable root that the next job does not
 * see, as root of its own user namespace, so the guide's "traditional approach" (apt-get update
 * && apt-get install) works with egress. The runtime is listed like any other. On the same farm
 * an operator cordons, drains and uncordons the node (`rnx node …`): its agent stops taking jobs,
 * a drain waits for the running job (and stops it past its deadline), uncordon lets the waiting
 * job run.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { farmForSuite, type Farm } from './farm-fixture.js';

/** The job's `Status:` (job status output), e.g. RUNNING. */
async function status(farm: Farm, id: string): Promise<string> {
  const r = await farm.rnx(['job', 'status', id]);
  return /^Status: (\S+)/m.exec(r.stdout)?.[1] ?? `? ${r.stderr}`;
}
async function detached(farm: Farm, args: string[]): Promise<string> {
  const r = await farm.rnx(['job', 'run', '--detach', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return /^ID: (\S+)/m.exec(r.stdout)![1]!;
}
const agentLog = (farm: Farm) => readFile(join(farm.dir, 'logs', 'agent.log'), 'utf8');

describe('jobs without --runtime run in the farm’s default runtime', () => {
  const farm = farmForSuite();

  it('builds it on first use, then runs the job in a writable root that is thrown away', async () => {
    const first = await farm().rnx(['job', 'run', 'echo hi > /etc/x && cat /etc/x && id -u'], {
      timeoutMs: 1_200_000,
    });
    expect(first.stderr).toContain('default runtime debian-12 is being built on first use');
    expect(first.stdout).toBe('hi\n0\n');
    expect(first.code).toBe(0);

    const second = await farm().rnx(['job', 'run', 'cat /etc/x']);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain('/etc/x: No such file or directory');
    // Nothing of either job is left on the node: no job dirs, no overlay mounted anywhere. The
    // agent records the final state first and cleans up right after, so this waits for it.
    await vi.waitFor(
      async () => {
        const jobs = (await readdir(join(farm().dir, 'jobs'))).filter((n) => !n.startsWith('.'));
        expect(jobs).toEqual([]);
        // No mount of the job is left (the agent's ready-made /work disks, `.disk-*`, excepted).
        const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
          .split('\n')
          .filter((l) => l.includes(farm().dir) && !l.includes('/.disk-'));
        expect(mounts).toEqual([]);
      },
      { timeout: 30_000, interval: 250 },
    );
  }, 1_500_000);

  it('runs the guide’s traditional approach verbatim with egress: apt-get update && install', async () => {
    const r = await farm().rnx(
      [
        'job',
        'run',
        '--network',
        'egress',
        'apt-get update && apt-get install -y cowsay && /usr/games/cowsay moo',
      ],
      { timeoutMs: 900_000 },
    );
    expect(r.stderr).not.toMatch(/^E: /m);
    expect(r.stdout).toContain('< moo >');
    expect(r.code).toBe(0);
    // The next job starts from the published root again.
    const clean = await farm().rnx(['job', 'run', 'test ! -e /usr/games/cowsay && echo clean']);
    expect(clean.stdout).toBe('clean\n');
  }, 1_000_000);

  it('is listed and described like any runtime', async () => {
    const list = await farm().rnx(['runtime', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^debian-12\s+1\.0\.0\s/m);
    const info = await farm().rnx(['runtime', 'info', 'debian-12']);
    expect(info.stdout).toContain('Language: debian 12');
  }, 300_000);

  it('an operator cordons, drains and uncordons the node; its agent takes no job meanwhile', async () => {
    const f = farm();
    const node = f.node;
    // Queued on jobs-amd64 before the cordon, due while the node is cordoned.
    const waiting = await detached(f, ['--schedule', '20s', 'echo ran']);
    const cordon = await f.rnx(['node', 'cordon', node, '--reason', 'e2e']);
    expect(cordon.stdout, cordon.stderr).toContain(`node ${node} is cordoned`);
    await vi.waitFor(
      async () => expect(await agentLog(f)).toContain('node cordoned: no new jobs'),
      {
        timeout: 30_000,
        interval: 500,
      },
    );
    const refused = await f.rnx(['job', 'run', 'true']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('is cordoned or draining');
    // Past its start time (20 s after submit) plus room, it has not started.
    await new Promise((r) => setTimeout(r, 25_000));
    expect(['SCHEDULED', 'QUEUED']).toContain(await status(f, waiting));

    const open = await f.rnx(['node', 'uncordon', node]);
    expect(open.stdout, open.stderr).toContain('takes jobs again');
    await vi.waitFor(async () => expect(await status(f, waiting)).toBe('COMPLETED'), {
      timeout: 60_000,
      interval: 1000,
    });

    // A drain waits for the running job; with a deadline, what is left is stopped.
    const short = await detached(f, ['sleep 8']);
    await vi.waitFor(async () => expect(await status(f, short)).toBe('RUNNING'), {
      timeout: 60_000,
      interval: 500,
    });
    const drain = await f.rnx(['node', 'drain', node]);
    expect(drain.code, drain.stderr).toBe(0);
    expect(drain.stdout).toContain('waiting for 1 running job(s)');
    expect(drain.stdout).toContain(`node ${node} is drained`);
    expect(await status(f, short)).toBe('COMPLETED');
    expect((await f.rnx(['node', 'uncordon', node])).code).toBe(0);

    const long = await detached(f, ['sleep 600']);
    await vi.waitFor(async () => expect(await status(f, long)).toBe('RUNNING'), {
      timeout: 60_000,
      interval: 500,
    });
    const deadline = await f.rnx(['node', 'drain', node, '--deadline', '2s']);
    expect(deadline.code, deadline.stderr).toBe(0);
    expect(deadline.stdout).toContain(`node ${node} is drained`);
    expect(await status(f, long)).toBe('STOPPED');
    const removeOnline = await f.rnx(['node', 'remove', node]);
    expect(removeOnline.code).not.toBe(0);
    expect(removeOnline.stderr).toContain(`node ${node} is online`);
    expect((await f.rnx(['node', 'uncordon', node])).code).toBe(0);
    expect((await f.rnx(['job', 'run', 'echo open'])).stdout).toBe('open\n');
  }, 600_000);
});
