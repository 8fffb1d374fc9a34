/**
 * `rnx runtime pin|unpin` through the real binary against a running API with a real directory
 * store: a pinned version is marked in `runtime list` and `runtime info`, survives `runtime gc`
 * although retention would take it, and `runtime remove` refuses it (exit non-zero, naming the
 * unpin command) until `runtime unpin`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import {
  DEFAULT_RETENTION,
  publishFakeRuntime,
  startTestApi,
  type TestApi,
} from '@joblet/api/testing';
import { runRnx } from './test-support/rnx-binary.js';

let api: TestApi;
let home: TempDir;

function rnx(args: string[]) {
  return runRnx(['--server', api.url!, ...args], { HOME: home.path, RNX_CONFIG: '/nonexistent' });
}

beforeAll(async () => {
  home = await makeTempDir('rnx-pin-');
  api = await startTestApi(['amd64'], {
    listen: true,
    retention: { ...DEFAULT_RETENTION, keepVersions: 1 },
  });
  await publishFakeRuntime(api, 'py', '1.0.0', ['amd64']);
  await publishFakeRuntime(api, 'py', '1.1.0', ['amd64']);
});
afterAll(async () => {
  await api?.close();
  await home?.cleanup();
});

describe('rnx runtime pin', () => {
  it('pins a version; list and info show it; gc keeps it; remove refuses it', async () => {
    const pin = await rnx(['runtime', 'pin', 'py@1.0.0', '--reason', 'release 2026-11']);
    expect(pin.stderr).toBe('');
    expect(pin.stdout).toMatch(/✓ pinned py@1\.0\.0/);
    expect(pin.code).toBe(0);

    const list = await rnx(['runtime', 'list']);
    expect(list.stdout).toMatch(/^py\s+1\.0\.0\s.*\[pinned\]$/m);
    expect(list.stdout).not.toMatch(/^py\s+1\.1\.0\s.*\[pinned\]$/m);
    const info = await rnx(['runtime', 'info', 'py@1.0.0']);
    expect(info.stdout).toMatch(/^Pinned: by local at \S+ \(release 2026-11\)/m);

    const gc = await rnx(['runtime', 'gc', '--json']);
    expect(gc.code).toBe(0);
    expect((JSON.parse(gc.stdout) as { items: unknown[] }).items).toEqual([]);
    expect(await api.store.exists('index/py/1.0.0.json')).toBe(true);

    const remove = await rnx(['runtime', 'remove', 'py@1.0.0']);
    expect(remove.code).not.toBe(0);
    expect(remove.stderr).toContain('unpin first with rnx runtime unpin py@1.0.0');
    expect(await api.store.exists('index/py/1.0.0.json')).toBe(true);
  });

  it('unpin hands it back to retention', async () => {
    const unpin = await rnx(['runtime', 'unpin', 'py@1.0.0']);
    expect(unpin.stdout).toMatch(/✓ unpinned py@1\.0\.0/);
    expect(unpin.code).toBe(0);
    const gc = await rnx(['runtime', 'gc']);
    expect(gc.code).toBe(0);
    expect(await api.store.exists('index/py/1.0.0.json')).toBe(false);
    expect(await api.store.exists('index/py/1.1.0.json')).toBe(true);
  });
});
