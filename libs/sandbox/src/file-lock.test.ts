import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LockError, LockErrorCode } from './errors.js';
import { run } from './exec.js';
import { acquireFileLock, processStartTime, withFileLock, type LockOwner } from './file-lock.js';
import { cleanupTemps, ls, tempDir } from './testing.js';

afterAll(cleanupTemps);

const here = dirname(fileURLToPath(import.meta.url));

function ownerFile(path: string, owner: Partial<LockOwner>): void {
  writeFileSync(
    path,
    JSON.stringify({ host: hostname(), token: 'other', acquiredAt: '', start: null, ...owner }),
  );
}

describe('file lock', () => {
  it('excludes concurrent holders inside one process', async () => {
    const lock = join(tempDir('lock-inproc'), 'x.lock');
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        withFileLock(
          lock,
          async () => {
            maxInside = Math.max(maxInside, ++inside);
            await new Promise((r) => setTimeout(r, 15));
            inside--;
          },
          { pollMs: 5 },
        ),
      ),
    );
    expect(maxInside).toBe(1);
  });

  it('excludes holders in separate processes', async () => {
    const d = tempDir('lock-procs');
    const log = join(d, 'log');
    const script = join(d, 'worker.mts');
    writeFileSync(
      script,
      `import { appendFileSync } from 'node:fs';
import { withFileLock } from ${JSON.stringify(join(here, 'file-lock.ts'))};
for (let i = 0; i < 5; i++) {
  await withFileLock(${JSON.stringify(join(d, 'x.lock'))}, async () => {
    appendFileSync(${JSON.stringify(log)}, 'in ' + process.pid + '\\n');
    await new Promise((r) => setTimeout(r, 10));
    appendFileSync(${JSON.stringify(log)}, 'out ' + process.pid + '\\n');
  }, { pollMs: 5 });
}
`,
    );
    const results = await Promise.all(
      [1, 2, 3].map(() => run(process.execPath, ['--import', 'tsx', script], { cwd: here })),
    );
    for (const r of results) expect(r.stderr).toBe('');
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(30);
    for (let i = 0; i < lines.length; i += 2) {
      expect(lines[i]!.replace('in ', '')).toBe(lines[i + 1]!.replace('out ', ''));
    }
    expect(ls(d)).toEqual(['log', 'worker.mts']);
  });

  it('breaks the lock of a process killed with SIGKILL', async () => {
    const lock = join(tempDir('lock-stale'), 'x.lock');
    const child = spawn('sleep', ['30']);
    ownerFile(lock, { pid: child.pid!, start: await processStartTime(child.pid!) });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const l = await acquireFileLock(lock, { waitMs: 3000 });
    expect((JSON.parse(readFileSync(lock, 'utf8')) as LockOwner).pid).toBe(process.pid);
    await l.release();
  });

  it('treats a live pid with another start time as a reused pid (stale)', async () => {
    const lock = join(tempDir('lock-reuse'), 'x.lock');
    ownerFile(lock, { pid: process.pid, start: 1 });
    const l = await acquireFileLock(lock, { waitMs: 3000 });
    await l.release();
  });

  it('waits for a live owner, then times out naming it', async () => {
    const lock = join(tempDir('lock-live'), 'x.lock');
    const child = spawn('sleep', ['30']);
    try {
      ownerFile(lock, { pid: child.pid!, start: await processStartTime(child.pid!) });
      let waitedFor: number | undefined;
      const err = await acquireFileLock(lock, {
        waitMs: 300,
        onWait: (o) => (waitedFor = o?.pid),
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockError);
      expect((err as LockError).code).toBe(LockErrorCode.Timeout);
      expect((err as LockError).message).toContain(`pid ${child.pid}`);
      expect(waitedFor).toBe(child.pid);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('release never removes a lock that is no longer ours', async () => {
    const lock = join(tempDir('lock-release'), 'x.lock');
    const l = await acquireFileLock(lock);
    ownerFile(lock, { pid: process.pid, token: 'someone-else' });
    await l.release();
    expect((JSON.parse(readFileSync(lock, 'utf8')) as LockOwner).token).toBe('someone-else');
  });

  it('gives up when aborted', async () => {
    const lock = join(tempDir('lock-abort'), 'x.lock');
    const held = await acquireFileLock(lock);
    const err = await acquireFileLock(lock, { signal: AbortSignal.timeout(100) }).catch(
      (e: unknown) => e,
    );
    expect((err as LockError).code).toBe(LockErrorCode.Aborted);
    await held.release();
  });
});
