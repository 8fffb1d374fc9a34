/**
 * A node whose agent stopped cleanly, as the CLI shows it against a running API (real Redis, real
 * directory store): `--wait-deploy` does not call a deploy complete while it is down without the
 * version (it names it and fails), and `node list` marks it stopped with last-seen counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '@joblet/api/testing';
import { ApiClient } from './api-client.js';
import { nodeList } from './commands/runtime-read.js';
import { waitDeploy } from './commands/runtime-manage.js';
import type { Io } from './io.js';

let api: TestApi;
const lines: string[] = [];
const io: Io = { out: (l) => lines.push(l), err: (l) => lines.push(l), color: false };

beforeAll(async () => {
  api = await startTestApi(['amd64'], { listen: true });
  await publishFakeRuntime(api, 'py', '1.0.0', ['amd64']);
  await registerNode(api, 'node-up', 'amd64', ['py@1.0.0']);
  // Stopped a moment ago: its heartbeat is fresh, its last report lists another runtime only.
  await registerNode(api, 'node-down', 'amd64', ['old@1.0.0'], 0, {
    stoppedAt: new Date().toISOString(),
  });
}, 60_000);
afterAll(async () => {
  await api?.close();
});

describe('a stopped node', () => {
  const client = () => new ApiClient({ url: api.url!, source: 'test' });

  it('--wait-deploy names it and fails instead of "deployed to N/N"', async () => {
    lines.length = 0;
    await expect(waitDeploy(client(), 'py@1.0.0', 5, io)).rejects.toThrow(
      'deploy of py@1.0.0 incomplete: installed on 1 online node(s), but node-down is offline without it',
    );
    expect(lines.join('\n')).not.toContain('deployed to');
  });

  it('node list shows it stopped, its runtime counts as last seen', async () => {
    lines.length = 0;
    expect(await nodeList(client(), {}, io)).toBe(0);
    const down = lines.find((l) => l.startsWith('node-down'))!;
    expect(down.split(/ {2,}/).slice(0, 3)).toEqual(['node-down', 'amd64', 'stopped']);
    expect(down).toContain('1/1 (last seen)');
    const up = lines.find((l) => l.startsWith('node-up'))!;
    expect(up).toMatch(/ online .* 1\/1 /);
  });
});
