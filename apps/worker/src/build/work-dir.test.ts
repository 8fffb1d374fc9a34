import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@joblet/logging';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { createWorkDir, removeDeadWorkDirs, workDirName } from './work-dir.js';

let tmp: TempDir;
beforeEach(async () => {
  tmp = await makeTempDir('worker-workdir');
});
afterEach(async () => {
  await tmp.cleanup();
});

describe('work dirs', () => {
  it('names carry build, arch and owner pid; odd build ids are refused', () => {
    expect(workDirName('0b1c-2d', 'amd64', 42)).toBe('b-0b1c-2d-amd64-42');
    expect(() => workDirName('../x', 'amd64', 1)).toThrow(/invalid build id/);
  });

  it('removes only the work dirs whose owner is dead', async () => {
    const mine = await createWorkDir(tmp.path, 'live', 'amd64');
    const dead = spawn('true');
    await new Promise((r) => dead.on('exit', r));
    const deadDir = join(tmp.path, workDirName('dead', 'amd64', dead.pid!));
    await mkdir(join(deadDir, 'upper'), { recursive: true });
    // A reused pid: our own pid, but another process's start time.
    const reused = join(tmp.path, workDirName('reused', 'arm64', process.pid));
    await mkdir(reused);
    await writeFile(join(reused, 'owner.json'), JSON.stringify({ pid: process.pid, start: 1 }));
    await mkdir(join(tmp.path, 'unrelated'));

    const removed = await removeDeadWorkDirs(tmp.path, silentLogger());
    expect(removed.sort()).toEqual(
      [workDirName('dead', 'amd64', dead.pid!), workDirName('reused', 'arm64', process.pid)].sort(),
    );
    expect((await readdir(tmp.path)).sort()).toEqual(
      [workDirName('live', 'amd64', process.pid), 'unrelated'].sort(),
    );
    expect(await readdir(mine.path)).toEqual(
      expect.arrayContaining(['upper', 'merged', 'owner.json']),
    );
  });
});
