// The built agent (`node dist/index.js`) as a real process: SIGKILL in the middle of an install,
// a restart that cleans up and finishes, and a clean SIGTERM shutdown.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { treeHash } from '@joblet/artifact';
import { NodeRuntimeStatus } from '@joblet/spec';
import {
  DEBIAN_ROOT,
  REDIS_URL,
  buildArtifact,
  makeDebianTree,
  makeWorld,
  publish,
  waitFor,
  type World,
} from './test-support.js';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function startAgent(w: World, node: string): { child: ChildProcess; output: () => string } {
  const cfg = w.config(node);
  const child = spawn(process.execPath, [join(appDir, 'dist/index.js')], {
    env: {
      PATH: process.env.PATH,
      AGENT_NAME: node,
      AGENT_ARCH: 'amd64',
      REDIS_URL,
      QUEUE_PREFIX: w.prefix,
      STORAGE_URL: w.storeUrl,
      RUNTIMES_DIR: cfg.runtimesDir,
      AGENT_WORK_DIR: cfg.workDir,
      AGENT_HEARTBEAT_S: '1',
      AGENT_MIN_FREE_MB: '0',
      AGENT_TRUSTED_KEYS: w.trustedKeyFile,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return { child, output: () => out };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
}

describe.skipIf(!existsSync(DEBIAN_ROOT))(
  'the agent process [requires the cached bookworm root]',
  () => {
    let w: World;
    const children: ChildProcess[] = [];

    beforeAll(() => {
      // The test runs what ships: the esbuild bundle (`npm run build` runs before the tests; it is
      // built here only when missing, since other test files fork dist/extract-child.js).
      if (!existsSync(join(appDir, 'dist/index.js'))) {
        execFileSync(process.execPath, ['../../scripts/build-app.mjs'], { cwd: appDir });
      }
    });

    afterAll(async () => {
      for (const c of children) c.kill('SIGKILL');
      await w?.cleanup();
    });

    it('killed with SIGKILL mid-install leaves no visible runtime, finishes after restart', async () => {
      w = await makeWorld();
      const packed = await buildArtifact(
        w.dir('art'),
        { name: 'big', version: '1.0.0' },
        makeDebianTree,
      );
      await publish(w.store, w.redis, w.keys, packed, { name: 'big', version: '1.0.0' });
      const runtimes = w.config('crash').runtimesDir;
      const nameDir = join(runtimes, 'big');

      const first = startAgent(w, 'crash');
      children.push(first.child);
      // Kill it as soon as the extraction has started writing.
      const seen = await waitFor(
        () => {
          const names = existsSync(nameDir) ? readdirSync(nameDir) : [];
          return names.find((n) => n.includes('.incoming-'));
        },
        `an install in progress (agent output: ${first.output()})`,
        30_000,
      );
      first.child.kill('SIGKILL');
      expect((await exited(first.child)).signal).toBe('SIGKILL');
      expect(seen).toMatch(/^\.\.?1\.0\.0\.incoming-\d+-[0-9a-f]+/);
      // Never a half-written runtime where jobs look for it.
      expect(existsSync(join(nameDir, '1.0.0'))).toBe(false);
      const status = NodeRuntimeStatus.parse(
        JSON.parse((await w.redis.hget(w.keys.nodeRuntimes('crash'), 'big@1.0.0')) ?? 'null'),
      );
      expect(status.state).toBe('syncing');
      expect(readdirSync(nameDir).length).toBeGreaterThan(0); // the debris the restart removes

      const second = startAgent(w, 'crash');
      children.push(second.child);
      await waitFor(
        async () => {
          const raw = await w.redis.hget(w.keys.nodeRuntimes('crash'), 'big@1.0.0');
          return raw !== null && NodeRuntimeStatus.parse(JSON.parse(raw)).state === 'installed';
        },
        `installed after restart (agent output: ${second.output()})`,
        60_000,
      );
      expect(readdirSync(nameDir)).toEqual(['1.0.0']);
      expect(await treeHash(join(nameDir, '1.0.0'))).toBe(packed.treeHash);
      expect(second.output()).toContain('removed leftovers of a previous run');

      // A clean stop: exit 0 and a final heartbeat that says so.
      second.child.kill('SIGTERM');
      expect(await exited(second.child)).toEqual({ code: 0, signal: null });
      const node = JSON.parse((await w.redis.get(w.keys.node('crash'))) ?? '{}') as {
        stoppedAt?: string;
      };
      expect(typeof node.stoppedAt).toBe('string');
      // Room for a loaded machine: the waits inside are 30 s and 60 s, plus two agent starts.
    }, 180_000);
  },
);
