import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { AgentError, AgentErrorCode } from '../errors.js';
import { RuntimeLayout } from './layout.js';
import { acquireRuntimeLease, liveLeases, releaseRuntimeLease } from './leases.js';
import { cleanupLeftovers } from './startup-cleanup.js';

let tmp: TempDir | undefined;
afterEach(async () => {
  await tmp?.cleanup();
  tmp = undefined;
});

async function installedLayout(): Promise<RuntimeLayout> {
  tmp = await makeTempDir('agent-leases');
  const layout = new RuntimeLayout(join(tmp.path, 'runtimes'));
  await layout.prepare();
  mkdirSync(join(layout.versionDir('py', '1.0.0'), 'isolated'), { recursive: true });
  writeFileSync(layout.runtimeYml('py', '1.0.0'), 'name: py\n');
  return layout;
}

/** A pid that certainly is not running: a child that has exited. */
async function deadPid(): Promise<number> {
  const p = spawn('true');
  await new Promise((r) => p.once('exit', r));
  return p.pid!;
}

describe('runtime leases', () => {
  it('are taken, seen live, and released', async () => {
    const layout = await installedLayout();
    const lease = await acquireRuntimeLease(layout.root, 'py', '1.0.0', 'job-1');
    expect((await liveLeases(layout, 'py', '1.0.0')).map((l) => [l.holder, l.pid])).toEqual([
      ['job-1', process.pid],
    ]);
    await lease.release();
    await lease.release();
    expect(await liveLeases(layout, 'py', '1.0.0')).toEqual([]);
    await acquireRuntimeLease(layout.root, 'py', '1.0.0', 'job-2');
    await releaseRuntimeLease(layout.root, 'py', '1.0.0', 'job-2');
    expect(await liveLeases(layout, 'py', '1.0.0')).toEqual([]);
  });

  it('of dead processes (or a bare pid written by a script) are stale and removed', async () => {
    const layout = await installedLayout();
    const dir = layout.leaseDir('py', '1.0.0');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'gone.lease'), String(await deadPid()));
    writeFileSync(join(dir, 'alive.lease'), `${process.pid}\n`);
    writeFileSync(join(dir, 'garbage.lease'), '{not json');
    // Same pid, another start time: the pid was reused by a different process.
    writeFileSync(join(dir, 'reused.lease'), JSON.stringify({ pid: process.pid, start: 1 }));
    expect((await liveLeases(layout, 'py', '1.0.0')).map((l) => l.holder)).toEqual(['alive']);
    expect(readdirSync(dir)).toEqual(['alive.lease']);
  });

  it('are refused for runtimes not installed and bad holders', async () => {
    const layout = await installedLayout();
    const codes = await Promise.all([
      acquireRuntimeLease(layout.root, 'py', '9.9.9', 'job').catch((e: AgentError) => e.code),
      acquireRuntimeLease(layout.root, 'py', '1.0.0', '../x').catch((e: AgentError) => e.code),
      acquireRuntimeLease(layout.root, '../etc', '1.0.0', 'job').catch((e: AgentError) => e.code),
      acquireRuntimeLease(layout.root, 'py', '1.0.0', 'j', await deadPid()).catch(
        (e: AgentError) => e.code,
      ),
    ]);
    expect(codes).toEqual([
      AgentErrorCode.RuntimeNotInstalled,
      AgentErrorCode.InvalidArgument,
      AgentErrorCode.InvalidArgument,
      AgentErrorCode.InvalidArgument,
    ]);
    expect(new AgentError('x', AgentErrorCode.RuntimeRemoving).name).toBe('AgentError');
  });
});

describe('start-up cleanup', () => {
  it("removes dead processes' staging, incoming and trash dirs, stale leases and locks only", async () => {
    const layout = await installedLayout();
    const dead = await deadPid();
    const nameDir = layout.nameDir('py');
    for (const d of [
      `..2.0.0.incoming-${dead}-ab12.staging-${dead}-cd34`,
      `.2.0.0.incoming-${dead}-ab12`,
      `.1.0.0.trash-${dead}-ef56`,
      `.3.0.0.incoming-${process.pid}-0011`, // ours: in progress, kept
    ]) {
      mkdirSync(join(nameDir, d, 'sub'), { recursive: true });
    }
    mkdirSync(join(layout.root, 'empty-name'));
    mkdirSync(layout.leaseDir('py', '1.0.0'), { recursive: true });
    writeFileSync(join(layout.leaseDir('py', '1.0.0'), 'job.lease'), String(dead));
    const lockOwner = { pid: dead, start: null, host: (await import('node:os')).hostname() };
    writeFileSync(layout.lockFile('py', '1.0.0'), JSON.stringify({ ...lockOwner, token: 't' }));
    const removed = await cleanupLeftovers(layout);
    expect(removed.sort()).toEqual(
      [
        `py/..2.0.0.incoming-${dead}-ab12.staging-${dead}-cd34`,
        `py/.2.0.0.incoming-${dead}-ab12`,
        `py/.1.0.0.trash-${dead}-ef56`,
        '1 stale lease(s)',
        '1 stale lock(s)',
      ].sort(),
    );
    expect(readdirSync(nameDir).sort()).toEqual([`.3.0.0.incoming-${process.pid}-0011`, '1.0.0']);
    expect(readdirSync(layout.root).sort()).toEqual(['.leases', '.locks', '.state', 'py']);
    expect(readdirSync(join(layout.root, '.leases'))).toEqual([]);
    expect(readdirSync(join(layout.root, '.locks'))).toEqual([]);
  });
});
