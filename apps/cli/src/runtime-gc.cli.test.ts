/**
 * `rnx runtime gc` through its real binary against a running API with a real directory store:
 * --dry-run lists what would go and how much it frees without deleting; --json is the API's
 * answer; without --dry-run the orphans are gone and the live runtime stays.
 */
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcResponse } from '@joblet/spec';
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

const ORPHAN = 'runtimes/ghost/0.1.0/amd64/runtime.tar.zst';

beforeAll(async () => {
  home = await makeTempDir('rnx-gc-');
  api = await startTestApi(['amd64'], {
    listen: true,
    retention: { ...DEFAULT_RETENTION, keepVersions: 1 },
  });
  await publishFakeRuntime(api, 'py', '1.0.0', ['amd64']);
  await publishFakeRuntime(api, 'py', '1.1.0', ['amd64']);
  await api.store.put(ORPHAN, 'z'.repeat(2048));
  const old = new Date(Date.now() - 2 * 3600 * 1000);
  await utimes(join(fileURLToPath(api.store.url), ...ORPHAN.split('/')), old, old);
});
afterAll(async () => {
  await api?.close();
  await home?.cleanup();
});

describe('rnx runtime gc', () => {
  it('--dry-run shows each item, its size and reason, and the total; deletes nothing', async () => {
    const r = await rnx(['runtime', 'gc', '--dry-run']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Policy: keep the newest 1 versions per runtime');
    expect(r.stdout).toMatch(/^KIND\s+KEY\s+SIZE\s+REASON$/m);
    expect(r.stdout).toMatch(
      /^version\s+py@1\.0\.0\s+\S+ \S+\s+older than the newest 1 versions of py/m,
    );
    expect(r.stdout).toMatch(
      /^artifact\s+runtimes\/ghost\/0\.1\.0\/amd64\/runtime\.tar\.zst\s+2\.0 KB\s+no index entry references it$/m,
    );
    expect(r.stdout).toMatch(
      /Would free \S+ \S+ \(2 items\)\. Run without --dry-run to remove them\./,
    );
    expect(await api.store.exists(ORPHAN)).toBe(true);
    expect(await api.store.exists('index/py/1.0.0.json')).toBe(true);
  });

  it('--json prints the API’s answer', async () => {
    const r = await rnx(['runtime', 'gc', '--dry-run', '--json']);
    expect(r.code).toBe(0);
    const body = GcResponse.parse(JSON.parse(r.stdout));
    expect(body.dryRun).toBe(true);
    expect(body.items.map((i) => i.key).sort()).toEqual(['py@1.0.0', ORPHAN]);
  });

  it('without --dry-run removes them and says how much it freed', async () => {
    const r = await rnx(['runtime', 'gc']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✓ freed \S+ \S+ \(2 items removed\)/);
    expect(await api.store.exists(ORPHAN)).toBe(false);
    expect(await api.store.exists('index/py/1.0.0.json')).toBe(false);
    expect(await api.store.exists('index/py/1.1.0.json')).toBe(true);
    const again = await rnx(['runtime', 'gc', '--dry-run']);
    expect(again.stdout).toContain('✓ nothing to collect');
  });
});
