// The agent's own check on `network: host` (defence in depth: it never trusts the API for this):
// with AGENT_ALLOW_HOST_NETWORK off (the default) a host job ends FAILED naming the setting,
// before its secrets are read or anything runs. Real runtime, real bwrap, real Redis; the same
// job runs with the setting on in job-runner.test.ts ("shares the host network only with
// network=host").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHarness, missingForJobs, type Harness } from './job-test-support.js';

const missing = missingForJobs();

describe.skipIf(missing.length > 0)(
  `host networking on a node that does not allow it [requires ${missing.join(', ') || 'root, bwrap, cgroups, the bookworm root'}]`,
  () => {
    let h: Harness;

    beforeAll(async () => {
      h = await makeHarness(); // AGENT_ALLOW_HOST_NETWORK unset: off
    });
    afterAll(async () => {
      await h?.close();
    });

    it('refuses a host job: FAILED naming AGENT_ALLOW_HOST_NETWORK, never started, secrets dropped', async () => {
      const id = await h.submit({
        command: 'bash',
        args: ['-c', 'echo started; echo > /dev/tcp/127.0.0.1/6379 && echo redis=reachable'],
        network: 'host',
        env: { SECRET: 'value' },
      });
      const rec = await h.waitEnd(id);
      expect(rec).toMatchObject({
        state: 'FAILED',
        reason: 'start-failed',
        message: `network host is not allowed on node ${h.node}: its agent runs without AGENT_ALLOW_HOST_NETWORK=true`,
      });
      expect(rec.startedAt).toBeUndefined();
      expect(await h.output(id)).toEqual([]);
      const states = (await h.events(id)).flatMap((e) => (e.type === 'state' ? [e.state] : []));
      expect(states).not.toContain('RUNNING');
      expect(await h.w.redis.exists(h.w.keys.jobUploads(id))).toBe(0);
    });

    it('still runs the other networks', async () => {
      const id = await h.submit({
        command: 'bash',
        args: ['-c', '(echo > /dev/tcp/127.0.0.1/6379) 2>/dev/null || echo redis=unreachable'],
        network: 'none',
      });
      expect((await h.waitEnd(id)).state).toBe('COMPLETED');
      expect(await h.stdout(id)).toEqual(['redis=unreachable']);
    });
  },
);
