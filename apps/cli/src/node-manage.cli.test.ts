/**
 * `rnx node cordon|uncordon|drain|remove` through the real binary against a running API over
 * real Redis (nodes registered as their agents write them): node list shows the state, a job
 * pinned to a cordoned node is refused, drain waits until the node's heartbeat lists no running
 * job, remove refuses an online node and forgets an offline one, deleting its own Redis user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '@joblet/api/testing';
import { runRnx } from './test-support/rnx-binary.js';

let api: TestApi;
let home: TempDir;

function rnx(args: string[]) {
  return runRnx(['--server', api.url!, ...args], { HOME: home.path, RNX_CONFIG: '/nonexistent' });
}

beforeAll(async () => {
  home = await makeTempDir('rnx-node-');
  api = await startTestApi(['amd64'], { listen: true });
  await publishFakeRuntime(api, 'py', '1.0.0', ['amd64']);
  await registerNode(api, 'worker-1', 'amd64', []);
});
afterAll(async () => {
  await api?.close();
  await home?.cleanup();
});

describe('rnx node cordon, uncordon, drain, remove', () => {
  it('cordon shows in node list and refuses pinned jobs; uncordon lifts it', async () => {
    const c = await rnx(['node', 'cordon', 'worker-1', '--reason', 'disk swap']);
    expect(c.stderr).toBe('');
    expect(c.stdout).toBe('✓ node worker-1 is cordoned: no new jobs\n');
    expect((await rnx(['node', 'list'])).stdout).toMatch(/^worker-1\s+amd64\s+online,cordoned\s/m);
    const job = await rnx(['job', 'run', '--runtime=py', '--node', 'worker-1', 'true']);
    expect(job.code).not.toBe(0);
    expect(job.stderr).toContain('node worker-1 is cordoned');
    expect(job.stderr).toContain('disk swap');
    const u = await rnx(['node', 'uncordon', 'worker-1']);
    expect(u.stdout).toBe('✓ node worker-1 takes jobs again\n');
    expect((await rnx(['node', 'list'])).stdout).toMatch(/^worker-1\s+amd64\s+online\s/m);
  });

  it('drain waits until the node runs no job, then says it is drained', async () => {
    await registerNode(api, 'worker-1', 'amd64', [], 0, { runningJobs: ['j-1'] });
    const draining = rnx(['node', 'drain', 'worker-1', '--deadline', '10m']);
    // The agent's next heartbeats: the job ended.
    await new Promise((r) => setTimeout(r, 3000));
    await registerNode(api, 'worker-1', 'amd64', [], 0, { runningJobs: [] });
    const d = await draining;
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(
      /^✓ node worker-1 is draining: no new jobs; what runs at \S+ is stopped\n {2}waiting for 1 running job\(s\)\n✓ node worker-1 is drained: it runs no job\n$/,
    );
    expect((await rnx(['node', 'list'])).stdout).toMatch(/^worker-1\s+amd64\s+online,draining\s/m);
    const bad = await rnx(['node', 'drain', 'worker-1', '--deadline', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('a duration such as 90s, 10m or 1h');
  });

  it('remove refuses an online node and forgets an offline one', async () => {
    const online = await rnx(['node', 'remove', 'worker-1']);
    expect(online.code).not.toBe(0);
    expect(online.stderr).toContain('node worker-1 is online');
    await registerNode(api, 'worker-1', 'amd64', [], 120_000);
    // Its own Redis user, as rnx node join makes it: removed with the node.
    await api.redis.call('ACL', 'SETUSER', 'joblet-node-worker-1', 'on', '>secret', '+ping');
    const r = await rnx(['node', 'remove', 'worker-1']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('✓ node worker-1 removed; its Redis user is deleted\n');
    expect(await api.redis.call('ACL', 'GETUSER', 'joblet-node-worker-1')).toBeNull();
    expect((await rnx(['node', 'list'])).stdout).not.toContain('worker-1');
  });
});
