/**
 * `rnx network create|list|remove` through the real binary against a running API on real Redis:
 * a custom network is created, listed beside the built-in ones, refused when its name or range
 * clashes (each error naming the problem), refused for removal while a job holds an address in
 * it, and removed; `rnx job run --network` names an unknown network and is refused with the fix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkRegistry } from '@joblet/queue';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '@joblet/api/testing';
import { runRnx } from './test-support/rnx-binary.js';

let api: TestApi;
let home: TempDir;

function rnx(args: string[]) {
  return runRnx(['--server', api.url!, ...args], { HOME: home.path, RNX_CONFIG: '/nonexistent' });
}

beforeAll(async () => {
  home = await makeTempDir('rnx-net-');
  api = await startTestApi(['amd64'], { listen: true });
  await publishFakeRuntime(api, 'py', '1.0.0', ['amd64']);
  await registerNode(api, 'n1', 'amd64', []);
});
afterAll(async () => {
  await api?.close();
  await home?.cleanup();
});

describe('rnx network', () => {
  it('creates, lists and removes a custom network; clashes and bad ranges are refused', async () => {
    const created = await rnx(['network', 'create', 'prod', '--cidr', '10.10.0.0/24']);
    expect(created.stderr).toBe('');
    expect(created.stdout).toBe(
      'network prod created (10.10.0.0/24); run jobs in it with --network=prod\n',
    );
    const list = await rnx(['network', 'list']);
    const rows = list.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/));
    expect(rows).toEqual([
      ['NAME', 'CIDR', 'TYPE'],
      ['none', '-', 'built-in'],
      ['isolated', '-', 'built-in'],
      ['egress', '-', 'built-in'],
      ['host', '-', 'built-in'],
      ['bridge', '172.20.0.0/16', 'built-in'],
      ['prod', '10.10.0.0/24', 'custom'],
    ]);

    const again = await rnx(['network', 'create', 'prod', '--cidr', '10.11.0.0/24']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/network prod exists already/);
    const overlap = await rnx(['network', 'create', 'test', '--cidr', '10.10.0.128/25']);
    expect(overlap.stderr).toMatch(/10\.10\.0\.128\/25 overlaps network prod \(10\.10\.0\.0\/24\)/);
    const bad = await rnx(['network', 'create', 'test', '--cidr', '10.10.1.5/24']);
    expect(bad.stderr).toMatch(/cidr.*the network address itself \(10\.10\.1\.0\/24\)/);
    const builtin = await rnx(['network', 'create', 'bridge', '--cidr', '10.12.0.0/24']);
    expect(builtin.stderr).toMatch(/built-in network/);

    // A running job holds an address: the network stays.
    const registry = new NetworkRegistry(api.redis, api.app.keys);
    const def = (await registry.get('prod'))!;
    const ip = await registry.allocate(def, 'n1', 'job-1');
    expect(ip).toBe('10.10.0.2');
    const busy = await rnx(['network', 'remove', 'prod']);
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toMatch(/network prod is in use by 1 running job\(s\): job-1/);
    await registry.release('prod', ip, 'n1', 'job-1');

    const removed = await rnx(['network', 'remove', 'prod']);
    expect(removed.stdout).toBe('network prod removed\n');
    expect((await rnx(['network', 'list'])).stdout).not.toMatch(/prod/);
    const gone = await rnx(['network', 'remove', 'prod']);
    expect(gone.stderr).toMatch(/network not found: prod/);
  });

  it('job run --network names a network that does not exist: refused with the fix', async () => {
    const r = await rnx(['job', 'run', '--runtime', 'py', '--network', 'nope', '-d', 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /network nope does not exist: create it with rnx network create nope --cidr <range>/,
    );
  });
});
