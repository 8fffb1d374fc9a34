/**
 * A hook is untrusted code: it runs as root inside the build sandbox — root of a user namespace
 * whose ids are the unprivileged host range WORKER_BUILD_SUBID_BASE… (rootless builds) — and
 * must not be able to reach the host: its files, processes, mounts, capabilities, the worker's
 * environment, or the services on its loopback (the farm's Redis) — while it can still reach
 * the outside world.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egressResolvConf } from '@joblet/sandbox';
import { sandboxReachableHost } from '@joblet/testkit';
import { logLines } from '../test-support/flow.js';
import {
  E2E_MISSING,
  doneEvent,
  pySpec,
  useWorkerFixture,
} from '../test-support/worker-fixture.js';

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
      // The hook pauses on this sleep so that the host can look at it while it runs.
      const marker = `5.${process.pid}`;
      const seen = watchHook(fx.config.workDir, marker);
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
    echo "signing-key=$(find / -path /proc -prune -o -name 'signing.pem' -print 2>/dev/null | tr '\\n' ' ')"
    echo "uid=$(id -u) uid_map=$(tr -s ' ' < /proc/self/uid_map | sed 's/^ //')"
    touch /opt/owned && chown 1000:1000 /opt/owned && echo "chown=$(stat -c %u:%g /opt/owned)"
    if unshare --user true 2>/dev/null; then echo userns=MADE; else echo userns=refused; fi
    sleep ${marker}
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
          // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID, over its own namespace only.
          'CapEff:\t00000000000000fb',
          // Root inside, the range's first id outside; chown works on its own files.
          'uid=0 uid_map=0 100000 65536',
          'chown=1000:1000',
          'userns=refused',
          'env=clean',
          'fx.config=clean',
        ]),
      );
      // Seen from the host: the hook ran as host uid 100000, and its files belong to the range.
      const { status, owned } = await seen;
      expect(/^Uid:\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status)?.slice(1)).toEqual([
        '100000',
        '100000',
        '100000',
      ]);
      expect(owned).toEqual([101000, 101000]);
      // No file of the host is anywhere in the sandbox's file system.
      expect(lines).toContain('found=');
      // Nor is the publisher's signing key (WORKER_SIGNING_KEY_FILE): hooks cannot sign.
      expect(lines).toContain('signing-key=');
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

  describe('a hook that tries to reach services of the host (WORKER_BUILD_NETWORK=isolated)', () => {
    const servers: Server[] = [];
    /** A TCP server that greets every connection, on `host`. */
    const greeter = async (host: string): Promise<number> => {
      const server = createServer((s) => s.end(`hello from ${host}\n`));
      await new Promise<void>((resolve) => server.listen(0, host, resolve));
      servers.push(server);
      return (server.address() as AddressInfo).port;
    };
    afterAll(async () => {
      for (const s of servers) await new Promise((r) => s.close(r));
    });

    it("cannot reach the host's loopback (Redis, a local server) nor its own address; resolves names; leaves no slirp4netns, netns or mount", async () => {
      const outsideHost = sandboxReachableHost();
      const local = await greeter('127.0.0.1');
      const outside = await greeter(outsideHost);
      // Only assert outside names when this host resolves them itself (closed networks).
      const hostResolves = (() => {
        try {
          execFileSync('getent', ['hosts', 'deb.debian.org'], { stdio: 'ignore', timeout: 10_000 });
          return true;
        } catch {
          return false;
        }
      })();
      const probe = (name: string, host: string, port: number, send = '') =>
        `if r=$(timeout 5 bash -c 'exec 3<>/dev/tcp/${host}/${port}; printf "${send}" >&3; head -n 1 <&3 | tr -d "\\r"' 2>/dev/null) && [ -n "$r" ]; then echo "${name}=OPEN $r"; else echo "${name}=closed"; fi`;
      const { b, events } = await fx.run(
        pySpec(
          `hooks:
  pre_install: |
    echo "netns=$(readlink /proc/self/ns/net)"
    ${probe('redis', '127.0.0.1', 6379, 'PING\\r\\n')}
    ${probe('redis-via-gateway', '10.0.2.2', 6379, 'PING\\r\\n')}
    ${probe('local', '127.0.0.1', local)}
    ${probe('local-via-gateway', '10.0.2.2', local)}
    ${probe('outside', outsideHost, outside)}
    echo "resolv=$(grep -v '^#' /etc/resolv.conf | tr '\\n' ' ')"
    if getent hosts deb.debian.org >/dev/null; then echo dns=resolved; else echo dns=failed; fi
    exit 3
`,
          '1.0.8',
        ),
        { attempts: 1 },
      );
      const lines = logLines(events);
      expect(doneEvent(events)).toMatchObject({ state: 'failed', error: { code: 'HOOK_FAILED' } });
      expect(lines).toEqual(
        expect.arrayContaining([
          'redis=closed',
          'redis-via-gateway=closed',
          'local=closed',
          'local-via-gateway=closed',
          // The host's own address: refused by the egress policy like private ranges.
          'outside=closed',
          `resolv=${egressResolvConf().replace(/\n/g, ' ')}`,
        ]),
      );
      if (hostResolves) expect(lines).toContain('dns=resolved');
      // Its own network namespace, and none of it left once the build is over.
      const netns = lines.find((l) => l.startsWith('netns='))!.slice('netns='.length);
      expect(netns).toMatch(/^net:\[\d+\]$/);
      expect(netns).not.toBe(readlinkSync('/proc/self/ns/net'));
      expect(processesIn(netns)).toEqual([]);
      await fx.expectNothingLeft(b.buildId); // includes the build's slirp4netns processes
    });
  });
});

describe.skipIf(E2E_MISSING.length > 0)('build sandbox DNS named by the operator', () => {
  // The host's own nameserver, reached through slirp4netns like any outside address (what an
  // operator names with WORKER_BUILD_DNS where the host's resolver is on its loopback).
  const hostDns = readFileSync('/etc/resolv.conf', 'utf8')
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .find((ip): ip is string => ip !== undefined && !/^127\.|^::1$/.test(ip));
  const fx = useWorkerFixture('wkd', hostDns ? { WORKER_BUILD_DNS: hostDns } : {});

  it.skipIf(hostDns === undefined)(
    'WORKER_BUILD_DNS: the sandbox asks those servers, not slirp4netns’s forwarder',
    async () => {
      const { b, events } = await fx.run(
        pySpec(
          `hooks:
  pre_install: |
    echo "resolv=$(grep -v '^#' /etc/resolv.conf | tr '\\n' ' ')"
    if getent hosts deb.debian.org >/dev/null; then echo dns=resolved; else echo dns=failed; fi
    exit 3
`,
          '1.0.9',
        ),
        { attempts: 1 },
      );
      const lines = logLines(events);
      expect(doneEvent(events)).toMatchObject({ state: 'failed', error: { code: 'HOOK_FAILED' } });
      expect(lines).toContain(`resolv=nameserver ${hostDns} options edns0 `);
      expect(lines).toContain('dns=resolved');
      await fx.expectNothingLeft(b.buildId);
    },
  );
});

/** Pids of host processes inside network namespace `netns` (`net:[inode]`). */
function processesIn(netns: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/ns/net`) === netns;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * While a hook sleeps on `sleep <marker>`: its /proc status as the host sees it, and the owner of
 * the file /opt/owned it made in its build's upper layer (under `workDir`), before packing.
 */
async function watchHook(
  workDir: string,
  marker: string,
): Promise<{ status: string; owned: number[] }> {
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    const pid = readdirSync('/proc').find((p) => {
      try {
        return (
          /^\d+$/.test(p) && readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\0${marker}\0`
        );
      } catch {
        return false;
      }
    });
    if (pid) {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const dir = readdirSync(workDir).find((d) => d.startsWith('b-'))!;
      const st = statSync(join(workDir, dir, 'upper/opt/owned'));
      return { status, owned: [st.uid, st.gid] };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no hook sleeping on ${marker}`);
}

/** A per-run token for marker file names. */
function b0(): string {
  return String(process.pid);
}
