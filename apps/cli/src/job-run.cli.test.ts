/**
 * `rnx job run` as Joblet scripts use it, through the real binary against a running API and a real
 * agent (a Debian runtime, jobs in bwrap): attached, `ID: <uuid>` goes to stderr so the job's
 * stdout stays clean, and rnx exits with the job's exit code; `--detach` prints `ID:` on stdout and
 * returns while the job runs; the script then polls `Status:` and reads the log by the short id.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEBIAN_ROOT,
  buildArtifact,
  createAgent,
  isRoot,
  makeDebianTree,
  makeWorld,
  publish,
  waitFor,
  type Agent,
  type World,
} from '@joblet/agent/testing';
import { startTestApi, type TestApi } from '@joblet/api/testing';
import { RuntimeDetail } from '@joblet/spec';
import { runRnx } from './test-support/rnx-binary.js';

const RUNTIME = { name: 'deb', version: '1.0.0' };
const ready = isRoot && existsSync(DEBIAN_ROOT);

describe.skipIf(!ready)(`rnx job run [requires root and ${DEBIAN_ROOT}]`, () => {
  let world: World;
  let api: TestApi;
  let agent: Agent;
  const rnx = (args: string[]) =>
    runRnx(args, { HOME: world.tmp.path, RNX_CONFIG: '/nonexistent', RNX_SERVER: api.url! });

  beforeAll(async () => {
    world = await makeWorld();
    api = await startTestApi(['amd64'], {
      listen: true,
      prefix: world.prefix,
      storeUrl: world.storeUrl,
    });
    const packed = await buildArtifact(world.dir('art'), RUNTIME, makeDebianTree);
    await publish(world.store, world.redis, world.keys, packed, RUNTIME);
    agent = createAgent(world.config('cli-node'));
    await agent.start();
    await waitFor(
      async () => {
        const res = await api.app.inject({ method: 'GET', url: '/v1/runtimes/deb' });
        return RuntimeDetail.parse(res.json()).summary.nodes.installed === 1 || undefined;
      },
      'the runtime installed on the node',
      120_000,
    );
  }, 300_000);
  afterAll(async () => {
    await agent?.stop();
    await api?.close();
    await world?.cleanup();
  });

  it('attached: the job’s stdout only on stdout, ID: on stderr, and the job’s exit code', async () => {
    const r = await rnx([
      'job',
      'run',
      '--runtime=deb',
      'sh',
      '-c',
      'echo out; echo err >&2; exit 3',
    ]);
    expect(r.stdout).toBe('out\n');
    const id = /^ID: ([0-9a-f-]{36})\n/.exec(r.stderr)?.[1];
    expect(id, r.stderr).toBeDefined();
    expect(r.stderr).toContain('\nerr\n');
    expect(r.code).toBe(3);
    const status = await rnx(['job', 'status', id!.slice(0, 8)]);
    expect(status.stdout).toMatch(/^Status: FAILED \(exited\)$/m);
    expect(status.stdout).toMatch(/^Exit Code: 3$/m);
  });

  it('a Joblet-style script: run --detach, parse ID:, poll Status:, read the log', async () => {
    const run = await rnx([
      'job',
      'run',
      '--runtime=deb',
      '--detach',
      'sh',
      '-c',
      'sleep 2; echo done',
    ]);
    expect(run.code).toBe(0);
    const id = /^ID: (\S+)$/m.exec(run.stdout)?.[1];
    expect(id, run.stdout).toMatch(/^[0-9a-f-]{36}$/);
    // --detach returned before the job ended.
    expect(run.stdout).toMatch(/^Status: QUEUED$/m);
    const short = id!.slice(0, 8);
    const final = await waitFor(
      async () => {
        const s = await rnx(['job', 'status', short]);
        const state = /^Status: (\S+)/m.exec(s.stdout)?.[1];
        return state === 'COMPLETED' || state === 'FAILED' ? state : undefined;
      },
      'the job to end',
      120_000,
    );
    expect(final).toBe('COMPLETED');
    const log = await rnx(['job', 'log', short]);
    expect(log.stdout).toBe('done\n');
    expect(log.code).toBe(0);
  });
});
