/**
 * A hook is untrusted code: it runs as root inside the build sandbox, and must not be able to
 * reach the host: its files, processes, mounts, capabilities or the worker's environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLines } from './test-support/flow.js';
import { E2E_MISSING, doneEvent, pySpec, useWorkerFixture } from './test-support/worker-fixture.js';

/** Something of the worker's own environment that must never reach a sandbox. */
const CANARY = 'JOBLET_TEST_CANARY_7f3a';

describe.skipIf(E2E_MISSING.length > 0)('build sandbox isolation', () => {
  beforeAll(() => {
    process.env[CANARY] = 'secret-value';
  });
  afterAll(() => {
    delete process.env[CANARY];
  });
  const fx = useWorkerFixture('wki');

  describe('a hook that tries to touch the host', () => {
    let host: { dir: string; sleeper: ChildProcess };

    beforeAll(async () => {
      const dir = join(fx.tmp.path, 'host-only');
      await mkdir(dir);
      await writeFile(join(dir, `joblet-secret-${process.pid}`), 'host secret\n');
      const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
      host = { dir, sleeper };
    });
    afterAll(() => {
      host.sleeper.kill('SIGKILL');
    });

    it('cannot: no host files, processes, mounts or environment; the host is unchanged', async () => {
      const pid = host.sleeper.pid!;
      const { b, events } = await fx.run(
        pySpec(
          `hooks:
  pre_install: |
    echo "hostname=$(hostname)"
    echo "pids=$(ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' ')"
    if cat ${host.dir}/joblet-secret-${process.pid} 2>/dev/null; then echo secret=READ; else echo secret=unreadable; fi
    if kill -9 ${pid} 2>/dev/null; then echo kill=DONE; else echo kill=refused; fi
    if echo pwned > /joblet-host-marker-${b0()} && ls -d /joblet-host-marker-* >/dev/null; then echo wrote-own-root; fi
    if mount -t tmpfs none /mnt 2>/dev/null; then echo mount=DONE; else echo mount=refused; fi
    grep CapEff /proc/self/status
    if env | grep -q ${CANARY}; then echo env=LEAKED; else echo env=clean; fi
    if env | grep -qE 'REDIS_URL|STORAGE_'; then echo fx.config=LEAKED; else echo fx.config=clean; fi
    echo "found=$(find / -path /proc -prune -o -name 'joblet-secret-*' -print 2>/dev/null | tr '\\n' ' ')"
    exit 3
`,
          '1.0.3',
        ),
        { attempts: 1 },
      );
      const lines = logLines(events);
      expect(doneEvent(events)).toMatchObject({ state: 'failed', error: { code: 'HOOK_FAILED' } });
      expect(lines).toContain('hostname=build');
      const pids = lines
        .find((l) => l.startsWith('pids='))!
        .slice(5)
        .trim()
        .split(' ')
        .map(Number);
      expect(pids.length).toBeLessThan(10); // its own PID namespace: sh and a few helpers
      expect(pids).not.toContain(pid);
      expect(lines).toEqual(
        expect.arrayContaining([
          'secret=unreadable',
          'kill=refused',
          'wrote-own-root',
          'mount=refused',
          // Docker's default set without NET_RAW: no SYS_ADMIN, NET_ADMIN, SYS_PTRACE, ...
          'CapEff:\t00000000a80405fb',
          'env=clean',
          'fx.config=clean',
        ]),
      );
      // No file of the host is anywhere in the sandbox's file system.
      expect(lines).toContain('found=');
      // The host is unchanged: the process lives, nothing was written to the host's root.
      expect(host.sleeper.exitCode).toBeNull();
      expect(() => process.kill(pid, 0)).not.toThrow();
      expect(existsSync(`/joblet-host-marker-${b0()}`)).toBe(false);
      expect(await readFile(join(host.dir, `joblet-secret-${process.pid}`), 'utf8')).toBe(
        'host secret\n',
      );
      await fx.expectNothingLeft(b.buildId);
    });
  });
});

/** A per-run token for marker file names. */
function b0(): string {
  return String(process.pid);
}
