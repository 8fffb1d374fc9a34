import { createServer, type AddressInfo, type Server } from 'node:net';
import { existsSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEgressAllow } from '@joblet/spec';
import { bwrapArgs, type SandboxSpec } from './bwrap.js';
import { slirpArgs } from './egress.js';
import { EGRESS_RESOLV_CONF, egressDnsProblem, egressResolvConf } from './egress-resolv.js';
import { probeEgress } from './egress-probe.js';
import { egressProcesses } from './egress-processes.js';
import { SandboxErrorCode } from './errors.js';
import { run } from './exec.js';
import { hasCommand, isRoot } from './host-probe.js';
import { runInSandbox } from './launcher.js';
import { cleanupTemps, tempDir } from './testing.js';

const here = dirname(fileURLToPath(import.meta.url));
afterAll(cleanupTemps);

describe('egress arguments', () => {
  it('gives bwrap its own netns, the info and block fds, and resolv.conf after the binds', () => {
    const spec: SandboxSpec = { network: 'egress', binds: [{ source: '/etc', target: '/etc' }] };
    const a = bwrapArgs(spec).join(' ');
    expect(a).toContain('--unshare-net --info-fd 3 --block-fd 4');
    expect(a).toMatch(/--ro-bind \/etc \/etc .*--ro-bind-data 5 \/etc\/resolv\.conf/);
  });

  it('starts slirp4netns without host loopback, sandboxed, ready and exit on fds 3 and 4', () => {
    const a = slirpArgs(4242);
    expect(a).toEqual(
      expect.arrayContaining([
        '--configure',
        '--disable-host-loopback',
        '--enable-sandbox',
        '--enable-seccomp',
        '--ready-fd=3',
        '--exit-fd=4',
      ]),
    );
    expect(a.slice(-2)).toEqual(['4242', 'tap0']);
  });
});

/** A host resolv.conf and systemd-resolved upstream list with these contents. */
const files = (host: string, upstream?: string) => {
  const dir = tempDir('resolv');
  writeFileSync(join(dir, 'host'), host);
  if (upstream !== undefined) writeFileSync(join(dir, 'upstream'), upstream);
  return [join(dir, 'host'), join(dir, 'upstream')] as const;
};

describe('egressResolvConf', () => {
  it("names slirp's forwarder when the host's first nameserver is off its loopback", () => {
    expect(egressResolvConf(...files('search lan\nnameserver 10.255.255.53\n'))).toBe(
      EGRESS_RESOLV_CONF,
    );
    expect(egressResolvConf(...files('# no nameserver\n'))).toBe(EGRESS_RESOLV_CONF);
  });

  it('names the upstream servers of a loopback resolver (systemd-resolved), deduplicated', () => {
    const [host, upstream] = files(
      'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n',
      'nameserver 9.9.9.9\nnameserver 127.0.0.1\nnameserver 10.0.0.1\nnameserver 9.9.9.9\n',
    );
    expect(egressResolvConf(host, upstream)).toBe(
      'nameserver 9.9.9.9\nnameserver 10.0.0.1\noptions edns0\n',
    );
    // Nothing better known: slirp's forwarder (names will not resolve; the README says why).
    expect(egressResolvConf(...files('nameserver 127.0.0.53\n'))).toBe(EGRESS_RESOLV_CONF);
  });

  it("uses the operator's servers (WORKER_BUILD_DNS) whatever the host has", () => {
    const [host, upstream] = files('nameserver 127.0.0.11\n');
    expect(egressResolvConf(host, upstream, ['10.1.1.1', '10.1.1.2'])).toBe(
      'nameserver 10.1.1.1\nnameserver 10.1.1.2\noptions edns0\n',
    );
  });
});

describe('egressDnsProblem', () => {
  it("says why names cannot resolve behind a loopback-only resolver (Docker's 127.0.0.11)", () => {
    expect(egressDnsProblem(...files('nameserver 127.0.0.11\noptions ndots:0\n'))).toMatch(
      /nameserver \(127\.0\.0\.11\) is on its loopback, which egress sandboxes cannot reach, and .*upstream names no upstream server/,
    );
  });

  it('has nothing to say when slirp can forward, or systemd-resolved names its upstream', () => {
    expect(egressDnsProblem(...files('nameserver 10.255.255.53\n'))).toBeUndefined();
    expect(egressDnsProblem(...files('# none\n'))).toBeUndefined();
    expect(
      egressDnsProblem(...files('nameserver 127.0.0.53\n', 'nameserver 9.9.9.9\n')),
    ).toBeUndefined();
  });
});

/** The host's first non-loopback IPv4 address: what an egress sandbox can reach of the host. */
function hostAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

async function banner(host: string): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.end('hello from the host\n'));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

const canEgress =
  isRoot() &&
  hasCommand('bwrap', ['--version']) &&
  hasCommand('slirp4netns', ['--version']) &&
  hostAddress() !== undefined;

describe.skipIf(!canEgress)(
  'egress sandboxes [requires root, bwrap, slirp4netns and a non-loopback address]',
  () => {
    const servers: Server[] = [];
    let local: number;
    let outside: number;
    const addr = hostAddress()!;
    const redisUp = hasCommand('redis-cli', ['ping']);

    beforeAll(async () => {
      const l = await banner('127.0.0.1');
      const o = await banner(addr);
      servers.push(l.server, o.server);
      local = l.port;
      outside = o.port;
    });
    afterAll(async () => {
      for (const s of servers) await new Promise((r) => s.close(r));
    });

    /** Prints open/closed for each host:port, then the resolver config. */
    const script = (targets: string[]) =>
      [
        ...targets.map(
          (t) =>
            `if timeout 3 bash -c 'exec 3<>/dev/tcp/${t.replace(':', '/')}; head -c 5 <&3' 2>/dev/null; then echo " ${t}=open"; else echo "${t}=closed"; fi`,
        ),
        'echo "resolv=$(tr "\\n" "|" < /etc/resolv.conf)"',
      ].join('\n');

    for (const uid of [0, 65534]) {
      it(`uid ${uid}: reaches neither the host's loopback nor its own address unless allowed; nothing left`, async () => {
        const label = `egress-test-${process.pid}-${uid}`;
        const targets = [`127.0.0.1:${local}`, `10.0.2.2:${local}`, `${addr}:${outside}`];
        if (redisUp) targets.push('127.0.0.1:6379', '10.0.2.2:6379');
        const spec: SandboxSpec = {
          rootfs: '/',
          network: 'egress',
          uid,
          env: { PATH: '/usr/bin:/bin' },
        };
        const r = await runInSandbox(spec, '/bin/bash', ['-c', script(targets)], {
          timeoutMs: 30_000,
          egress: { label },
        });
        expect(r.code).toBe(0);
        const out = r.stdout.split('\n').map((l) => l.trim());
        expect(out).toContain(`127.0.0.1:${local}=closed`);
        expect(out).toContain(`10.0.2.2:${local}=closed`);
        expect(out).toContain(`${addr}:${outside}=closed`);
        if (redisUp) expect(out).toEqual(expect.arrayContaining(['127.0.0.1:6379=closed']));
        expect(out).toContain(`resolv=${EGRESS_RESOLV_CONF.replace(/\n/g, '|')}`);
        // The operator's exception opens exactly that address and port.
        const allowed = await runInSandbox(
          spec,
          '/bin/bash',
          ['-c', script([`${addr}:${outside}`])],
          {
            timeoutMs: 30_000,
            egress: { label, allow: parseEgressAllow([`${addr}:${outside}`]) },
          },
        );
        expect(allowed.stdout).toContain(`hello ${addr}:${outside}=open`);
        expect(egressProcesses(label)).toEqual([]);
      });
    }

    it('refuses link-local (the cloud metadata range) and private ranges; an allowed range opens', async () => {
      // A link-local address of the host's own (on lo): reachable from the host, so only the
      // policy can keep the sandbox from it.
      const lo = ['169.254.77.1/32', 'dev', 'lo'];
      await run('ip', ['addr', 'add', ...lo], { check: true });
      try {
        const meta = await banner('169.254.77.1');
        servers.push(meta.server);
        const target = `169.254.77.1:${meta.port}`;
        const spec: SandboxSpec = {
          rootfs: '/',
          network: 'egress',
          env: { PATH: '/usr/bin:/bin' },
        };
        const refused = await runInSandbox(spec, '/bin/bash', ['-c', script([target])], {
          timeoutMs: 30_000,
        });
        expect(refused.stdout).toContain(`${target}=closed`);
        const opened = await runInSandbox(spec, '/bin/bash', ['-c', script([target])], {
          timeoutMs: 30_000,
          egress: { allow: parseEgressAllow(['169.254.77.0/24']) },
        });
        expect(opened.stdout).toContain(`hello ${target}=open`);
      } finally {
        await run('ip', ['addr', 'del', ...lo]);
      }
    });

    it('resolves names through slirp4netns when the host does', async () => {
      const host = await run('getent', ['hosts', 'deb.debian.org'], { timeoutMs: 10_000 });
      if (host.code !== 0) return; // this host resolves nothing either
      const r = await runInSandbox(
        { rootfs: '/', network: 'egress', env: { PATH: '/usr/bin:/bin' } },
        '/usr/bin/getent',
        ['hosts', 'deb.debian.org'],
        { timeoutMs: 30_000 },
      );
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/deb\.debian\.org/);
    });

    it("lets every user of the sandbox read its resolv.conf (apt's _apt downloader too)", async () => {
      // bwrap writes data files 0600, owned by the sandbox's user: any other user (apt drops to
      // _apt to download) could not resolve a name.
      const r = await runInSandbox(
        { rootfs: '/', network: 'egress', env: { PATH: '/usr/bin:/bin' } },
        '/usr/bin/stat',
        ['-c', '%a', '/etc/resolv.conf'],
        { timeoutMs: 30_000 },
      );
      expect(r.stdout.trim()).toBe('644');
      expect(r.code).toBe(0);
    });

    it('a bwrap that fails keeps its own reason; a timeout kills the sandbox; no slirp is left', async () => {
      const label = `egress-fail-${process.pid}`;
      const bad = await runInSandbox(
        {
          rootfs: '/',
          network: 'egress',
          binds: [{ source: '/nonexistent/joblet', target: '/x' }],
        },
        '/bin/true',
        [],
        { timeoutMs: 30_000, egress: { label } },
      );
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('/nonexistent/joblet');
      const slow = await runInSandbox({ rootfs: '/', network: 'egress' }, '/bin/sleep', ['60'], {
        timeoutMs: 500,
        killGraceMs: 200,
        egress: { label },
      });
      expect(slow.timedOut).toBe(true);
      expect(egressProcesses(label)).toEqual([]);
    });

    it('without slirp4netns the command never runs and the run fails naming it', async () => {
      const marker = join(tempDir('egress-missing'), 'ran');
      const p = runInSandbox(
        {
          rootfs: '/',
          network: 'egress',
          uid: 0,
          binds: [{ source: dirname(marker), target: dirname(marker), readonly: false }],
        },
        '/bin/touch',
        [marker],
        { timeoutMs: 30_000, egress: { slirpPath: '/nonexistent/slirp4netns' } },
      );
      await expect(p).rejects.toMatchObject({
        code: SandboxErrorCode.NetworkFailed,
        message: expect.stringMatching(/slirp4netns/),
      });
      expect(existsSync(marker)).toBe(false);
      await expect(probeEgress({ slirpPath: '/nonexistent/slirp4netns' })).rejects.toThrow(
        /apt-get install slirp4netns/,
      );
      await expect(probeEgress({ uid: 0 })).resolves.toBeUndefined();
      await expect(probeEgress()).resolves.toBeUndefined();
    });

    it('slirp4netns exits with the process that started it (SIGKILL leaves nothing)', async () => {
      const label = `egress-orphan-${process.pid}`;
      const script = join(tempDir('egress-parent'), 'parent.mts');
      writeFileSync(
        script,
        [
          `import { launchSandbox } from ${JSON.stringify(join(here, 'launcher.ts'))};`,
          `import { egressProcesses } from ${JSON.stringify(join(here, 'egress-processes.ts'))};`,
          `launchSandbox({ rootfs: '/', network: 'egress' }, '/bin/sleep', ['60'], { egress: { label: '${label}' } });`,
          `const t = setInterval(() => { if (egressProcesses('${label}').length > 0) { clearInterval(t); process.kill(process.pid, 'SIGKILL'); } }, 20);`,
        ].join('\n'),
      );
      const r = await run(process.execPath, ['--import', 'tsx', script], {
        cwd: here,
        timeoutMs: 20_000,
      });
      expect(r.signal).toBe('SIGKILL');
      const deadline = Date.now() + 5_000;
      while (egressProcesses(label).length > 0 && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 50));
      }
      expect(egressProcesses(label)).toEqual([]);
    });
  },
);
