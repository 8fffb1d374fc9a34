import { chownSync, existsSync, mkdtempSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_TEST_JOB, createRedis, enqueue, nodeQueueName } from '@joblet/queue';
import {
  NOBODY,
  bwrapArgs,
  hasCommand,
  hasUnprivilegedUserns,
  launchSandbox,
  sandboxSetupFailed,
  type RunResult,
} from '@joblet/sandbox';
import type { RuntimeYml } from '@joblet/spec';
import { createAgent, type Agent } from '../agent.js';
import { AgentError, AgentErrorCode } from '../errors.js';
import { loadRuntimeYml } from '../runtimes/runtime-files.js';
import { resolveMounts, runtimeSandboxSpec, type RuntimeRunRequest } from './runtime-sandbox.js';
import {
  DEBIAN_ROOT,
  buildArtifact,
  isRoot,
  makeDebianTree,
  makeWorld,
  publish,
  waitFor,
  type World,
} from '../test-support.js';

const canSandbox =
  existsSync(DEBIAN_ROOT) && hasCommand('bwrap', ['--version']) && hasUnprivilegedUserns();

describe.skipIf(!canSandbox)(
  'the runtime sandbox on a real Debian runtime [requires bwrap, user namespaces and the cached bookworm root]',
  () => {
    let w: World;
    let a: Agent;
    let dir: string;
    let yml: RuntimeYml;

    beforeAll(async () => {
      w = await makeWorld();
      const packed = await buildArtifact(
        w.dir('art'),
        { name: 'debian-py', version: '3.11.2' },
        makeDebianTree,
      );
      a = createAgent(w.config('sbx'));
      await a.start();
      await publish(w.store, w.redis, w.keys, packed, { name: 'debian-py', version: '3.11.2' });
      await waitFor(
        async () => (await a.sync.layout.isInstalled('debian-py', '3.11.2')) || undefined,
        'debian-py installed',
        60_000,
      );
      await a.sync.idle();
      dir = a.sync.layout.versionDir('debian-py', '3.11.2');
      yml = await loadRuntimeYml(dir);
    });

    afterAll(async () => {
      await a?.stop(5_000);
      await w?.cleanup();
    });

    function workDir(): string {
      const d = mkdtempSync(join(w.dir('jobs'), 'job-'));
      if (isRoot) chownSync(d, NOBODY, NOBODY);
      return d;
    }

    async function sh(script: string, over: Partial<RuntimeRunRequest> = {}): Promise<RunResult> {
      const req = { runtimeDir: dir, runtimeYml: yml, workDir: workDir(), ...over };
      const spec = runtimeSandboxSpec(req, await resolveMounts(dir, yml));
      return launchSandbox(spec, '/bin/sh', ['-c', script], { timeoutMs: 20_000 }).result;
    }

    it('builds a read-only runtime, the merged-/usr symlinks, a writable /work, no network', async () => {
      const mounts = await resolveMounts(dir, yml);
      expect(mounts).toContainEqual({ kind: 'symlink', path: '/bin', target: 'usr/bin' });
      expect(mounts).toContainEqual({ kind: 'symlink', path: '/lib64', target: 'usr/lib64' });
      expect(mounts).toContainEqual({
        kind: 'bind',
        source: join(dir, 'isolated/usr/bin'),
        target: '/usr/bin',
      });
      const req = { runtimeDir: dir, runtimeYml: yml, workDir: '/w' };
      const argv = [...bwrapArgs(runtimeSandboxSpec(req, mounts)), '--', 'id'].join(' ');
      expect(argv).toContain(`--ro-bind ${join(dir, 'isolated/usr/lib')} /usr/lib`);
      expect(argv).toContain('--bind /w /work');
      expect(argv).toContain('--symlink usr/sbin /sbin');
      expect(argv).toContain('--unshare-net');
      expect(argv).toContain('--uid 65534 --gid 65534');
      expect(argv).toMatch(/--die-with-parent --new-session/);
      expect(argv).toMatch(/--remount-ro \/ .*--cap-drop ALL -- id$/);
      const host = runtimeSandboxSpec({ ...req, network: 'host' }, mounts);
      expect(host.network).toBe('host');
      expect(bwrapArgs(host)).not.toContain('--unshare-net');
      // egress: own netns held until slirp4netns is up, its resolver before the root goes ro.
      const egress = runtimeSandboxSpec({ ...req, network: 'egress' }, mounts);
      expect(egress).toMatchObject({ network: 'egress', readonlyRoot: true });
      expect(bwrapArgs(egress).join(' ')).toMatch(
        /--unshare-net --info-fd 3 --block-fd 4 .*--ro-bind-data 5 \/etc\/resolv\.conf .*--remount-ro \//,
      );
    });

    it('runs as 65534 without capabilities, seeing only its own processes', async () => {
      const r = await sh(
        'echo hi; id -u; grep CapEff /proc/self/status; ls /proc | grep -c ^[0-9]',
      );
      expect(r.code).toBe(0);
      const [hi, uid, caps, pids] = r.stdout.trim().split('\n');
      expect(hi).toBe('hi');
      expect(uid).toBe('65534');
      expect(caps).toMatch(/^CapEff:\s+0{16}$/);
      expect(Number(pids)).toBeLessThan(5);
    });

    it('cannot write the runtime or the root (EROFS), can write /work and /tmp', async () => {
      const work = workDir();
      const r = await sh(
        'for f in /usr/x /usr/bin/x /x /etc/x; do touch $f 2>&1; done; echo ok > /work/out && echo ok > /tmp/t && cat /tmp/t',
        { workDir: work },
      );
      const lines = r.stdout.trim().split('\n');
      for (const f of ['/usr/x', '/usr/bin/x', '/x', '/etc/x']) {
        expect(lines).toContain(`touch: cannot touch '${f}': Read-only file system`);
      }
      expect(lines.at(-1)).toBe('ok');
      if (isRoot) expect(statSync(join(work, 'out')).uid).toBe(NOBODY);
    });

    it("sees none of the host's files, has only loopback, gets runtime.yml's environment", async () => {
      const r = await sh(
        'ls /root /home 2>&1; cat /etc/hostname 2>&1; cat /proc/net/dev | tail -n +3 | cut -d: -f1; env | sort',
        { env: { EXTRA: 'yes' } },
      );
      expect(r.stdout).toContain("ls: cannot access '/root': No such file or directory");
      expect(r.stdout).toContain('/etc/hostname: No such file or directory');
      const env = r.stdout.split('\n').filter((l) => /^[A-Z_]+=/.test(l));
      expect(env).toContain('RUNTIME_MARK=debian-py@3.11.2');
      expect(env).toContain('EXTRA=yes');
      expect(env).toContain('HOME=/work');
      expect(env.some((l) => l.startsWith('VITEST'))).toBe(false);
      expect(r.stdout.split('\n').map((l) => l.trim())).toContain('lo');
      expect(r.stdout).not.toMatch(/^\s*eth|^\s*ens/m);
    });

    it('a bind that cannot be made fails the run; a runtime mount leading nowhere is refused', async () => {
      const r = await sh('echo should-not-run', {
        binds: [{ source: '/nonexistent/joblet-volume', target: '/volumes/x' }],
      });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(sandboxSetupFailed(r)).toBe(true);
      const broken: RuntimeYml = {
        ...yml,
        mounts: [
          ...yml.mounts,
          { source: 'isolated/opt/none', target: '/opt/none', readonly: true },
        ],
      };
      const err = await resolveMounts(dir, broken).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AgentError);
      expect((err as AgentError).code).toBe(AgentErrorCode.InvalidRuntime);
    });

    it('answers runtime-test jobs on its node queue', async () => {
      const connection = createRedis({ url: 'redis://127.0.0.1:6379', forWorker: true });
      const queue = new Queue(nodeQueueName('sbx'), { connection, prefix: w.prefix });
      const events = new QueueEvents(nodeQueueName('sbx'), {
        connection: connection.duplicate(),
        prefix: w.prefix,
      });
      try {
        await events.waitUntilReady();
        const job = await enqueue(queue, RUNTIME_TEST_JOB, {
          name: 'debian-py',
          version: '3.11.2',
        });
        const result = (await job.waitUntilFinished(events, 30_000)) as Record<string, unknown>;
        expect(result).toMatchObject({
          exitCode: 0,
          output: 'Python 3.11.2',
          node: 'sbx',
          command: ['python3', '--version'],
        });
        expect(result.durationMs).toBeGreaterThan(0);
        const missing = await enqueue(queue, RUNTIME_TEST_JOB, { name: 'nope', version: '1.0.0' });
        const err = await missing.waitUntilFinished(events, 30_000).catch((e: unknown) => e);
        expect((err as Error).message).toContain('RUNTIME_NOT_INSTALLED');
      } finally {
        await events.close();
        await queue.close();
        await connection.quit();
      }
    });
  },
);
