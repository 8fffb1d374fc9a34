/**
 * `rnx runtime info` through its real binary against a running API (real Redis, real directory
 * store): a node that refused the artifact shows it per node — state, failure code, message and
 * the key ids involved — as the agent reported it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeDetail } from '@joblet/spec';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import {
  publishFakeRuntime,
  registerNode,
  reportInstallFailure,
  startTestApi,
  type TestApi,
} from '@joblet/api/testing';
import { runRnx } from './test-support/rnx-binary.js';

let api: TestApi;
let home: TempDir;

function rnx(args: string[]) {
  return runRnx(['--server', api.url!, ...args], { HOME: home.path, RNX_CONFIG: '/nonexistent' });
}

const SIGNED_BY = '3f2a'.repeat(16);
const TRUSTED = '9c1e'.repeat(16);
const MESSAGE =
  'manifest runtimes/py/1.0.0/amd64/manifest.json has no valid signature by a trusted key: ' +
  '3f2a3f2a3f2a3f2a… (not a trusted key); trusted keys: 9c1e9c1e9c1e9c1e… (AGENT_TRUSTED_KEYS)';

beforeAll(async () => {
  home = await makeTempDir('rnx-info-');
  api = await startTestApi(['amd64'], { listen: true });
  await publishFakeRuntime(api, 'py', '1.0.0', ['amd64']);
  await registerNode(api, 'node-ok', 'amd64', ['py@1.0.0']);
  await registerNode(api, 'node-strict', 'amd64', []);
  await reportInstallFailure(api, 'node-strict', 'amd64', 'py@1.0.0', {
    code: 'BAD_SIGNATURE',
    message: MESSAGE,
    details: { signedBy: [SIGNED_BY], trustedKeys: [TRUSTED] },
  });
  await registerNode(api, 'node-tree', 'amd64', []);
  await reportInstallFailure(api, 'node-tree', 'amd64', 'py@1.0.0', {
    code: 'UNSAFE_ENTRY',
    message: "unsafe archive member 'isolated/usr/lib/libx.so': is writable by others (-rw-rw-rw-)",
    details: { entry: 'isolated/usr/lib/libx.so' },
  });
});
afterAll(async () => {
  await api?.close();
  await home?.cleanup();
});

describe('rnx runtime info', () => {
  it('shows per node the failure code, the message and the key ids of a refused artifact', async () => {
    const r = await rnx(['runtime', 'info', 'py@1.0.0']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}node-ok\s+amd64\s+installed$/m);
    expect(r.stdout).toContain(`  node-strict      amd64  failed — BAD_SIGNATURE: ${MESSAGE}\n`);
    expect(r.stdout).toMatch(new RegExp(`^ +signed by: ${SIGNED_BY}$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^ +trusted keys: ${TRUSTED}$`, 'm'));
    expect(r.stdout).toMatch(
      /^ {2}node-tree\s+amd64\s+failed — UNSAFE_ENTRY: unsafe archive member 'isolated\/usr\/lib\/libx\.so': is writable by others/m,
    );
    expect(r.stdout).toMatch(/^ +entry: isolated\/usr\/lib\/libx\.so$/m);
  });

  it('--json carries the failure as data', async () => {
    const r = await rnx(['runtime', 'info', 'py@1.0.0', '--json']);
    expect(r.code).toBe(0);
    const d = RuntimeDetail.parse(JSON.parse(r.stdout));
    const strict = d.installs.find((i) => i.node === 'node-strict');
    expect(strict?.failure).toEqual({
      code: 'BAD_SIGNATURE',
      message: MESSAGE,
      details: { signedBy: [SIGNED_BY], trustedKeys: [TRUSTED] },
    });
  });
});
