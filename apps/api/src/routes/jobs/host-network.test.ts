/**
 * `network: host` is an admin's request and a node operator's opt-in: through the real API with
 * API tokens of each role (`API_AUTH=token`), over real Redis, with nodes registered as their
 * agents' heartbeats write them. The agent's own refusal is proven in the agent's job tests.
 */
import { Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobQueueName, nodeQueueName } from '@joblet/queue';
import type { Role } from '@joblet/spec';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '../../testing.js';

describe('network host', () => {
  let t: TestApi;
  const tokens = {} as Record<Role, string>;
  const queues: Queue[] = [];
  const queue = (name: string) => {
    const q = new Queue(name, { connection: t.redis, prefix: t.prefix });
    queues.push(q);
    return q;
  };
  beforeAll(async () => {
    t = await startTestApi(['amd64'], { security: { mode: 'token' } });
    await publishFakeRuntime(t, 'python-3.11', '1.0.0', ['amd64']);
    for (const role of ['reader', 'developer', 'maintainer', 'admin'] as const) {
      const created = await t.app.tokens.create(
        { role, ttl: '1d' },
        { kind: 'local', subject: 'test', role: 'admin' },
      );
      tokens[role] = created.token;
    }
  });
  afterAll(async () => {
    await Promise.all(queues.map((q) => q.close()));
    await t.close();
  });

  const submit = (role: Role, payload: Record<string, unknown>) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { authorization: `Bearer ${tokens[role]}` },
      payload: { command: 'true', runtime: 'python-3.11', ...payload },
    });

  it('is refused below the admin role with 403 naming the rule; none and egress stay a developer’s', async () => {
    await registerNode(t, 'open-node', 'amd64', [], 0, { allowHostNetwork: true });
    for (const role of ['developer', 'maintainer'] as const) {
      const res = await submit(role, { network: 'host' });
      expect(res.statusCode, role).toBe(403);
      expect(res.json()).toMatchObject({
        code: 'FORBIDDEN',
        message: `network host requires the admin role (role ${role} may use none, isolated, bridge or a custom network)`,
        details: [{ field: 'network', message: 'host requires the admin role' }],
      });
    }
    for (const network of ['none', 'egress']) {
      expect((await submit('developer', { network })).statusCode, network).toBe(202);
    }
    const jobs = await t.app.jobs.list(100, 0);
    expect(jobs.filter((j) => j.network === 'host')).toEqual([]);
  });

  it('goes only to a node whose agent allows it, pinned there (never on jobs-<arch>)', async () => {
    await registerNode(t, 'closed-node', 'amd64', [], 0, { allowHostNetwork: false });
    // An agent of before the setting reports nothing: it does not allow host.
    await registerNode(t, 'old-node', 'amd64', []);
    for (let i = 0; i < 5; i++) {
      const res = await submit('admin', { network: 'host' });
      expect(res.statusCode).toBe(202);
      const job = res.json();
      expect(job).toMatchObject({ network: 'host', pinnedNode: 'open-node', state: 'QUEUED' });
      expect(await Job.fromId(queue(nodeQueueName('open-node')), job.id)).toBeDefined();
      expect(await Job.fromId(queue(jobQueueName('amd64')), job.id)).toBeUndefined();
    }
  });

  it('pinned to a node that does not allow it: 409 naming the node and the setting', async () => {
    for (const node of ['closed-node', 'old-node']) {
      const res = await submit('admin', { network: 'host', node });
      expect(res.statusCode, node).toBe(409);
      expect(res.json()).toMatchObject({
        code: 'CONFLICT',
        message: `node ${node} does not allow network host: its agent runs without AGENT_ALLOW_HOST_NETWORK=true`,
        details: [{ field: 'node', message: `AGENT_ALLOW_HOST_NETWORK is off on ${node}` }],
      });
    }
    const pinned = await submit('admin', { network: 'host', node: 'open-node' });
    expect(pinned.statusCode).toBe(202);
  });

  it('with no online node allowing it: 409 saying how to allow one', async () => {
    // The allowing node goes silent: only closed nodes are online.
    await registerNode(t, 'open-node', 'amd64', [], 120_000, { allowHostNetwork: true });
    const res = await submit('admin', { network: 'host' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({
      code: 'CONFLICT',
      message:
        'no online node that can run python-3.11@1.0.0 allows network host: set AGENT_ALLOW_HOST_NETWORK=true on the agent of a node meant for such jobs',
      details: [{ field: 'network', message: 'no node with AGENT_ALLOW_HOST_NETWORK=true' }],
    });
    // Other networks still route to the arch queue.
    const plain = await submit('admin', { network: 'none' });
    expect(plain.json().pinnedNode).toBeUndefined();
  });

  it('lists a node’s setting in the node view', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/v1/nodes',
      headers: { authorization: `Bearer ${tokens.reader}` },
    });
    const nodes = res.json().nodes as { name: string; allowHostNetwork: boolean }[];
    expect(Object.fromEntries(nodes.map((n) => [n.name, n.allowHostNetwork]))).toEqual({
      'closed-node': false,
      'old-node': false,
      'open-node': true,
    });
  });
});
