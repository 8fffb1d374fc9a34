// Jobs with network=egress, for real: what they reach (the internet and DNS only, never the node's
// loopback or its own addresses unless AGENT_EGRESS_ALLOW lists them), whose nameservers they ask,
// and what happens on a node that cannot give them a network.
import { createServer, type AddressInfo, type Server } from 'node:net';
import { finished } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egressProcesses, egressResolvConf, hasCommand } from '@joblet/sandbox';
import { parseEgressAllow } from '@joblet/spec';
import { sandboxReachableHost } from '@joblet/testkit';
import { loadRuntimeYml } from '../runtimes/runtime-files.js';
import { BwrapJobSandbox } from './job-sandbox.js';
import { RUNTIME, makeHarness, missingForJobs, type Harness } from './job-test-support.js';

const missing = missingForJobs();

describe.skipIf(missing.length > 0)(
  `egress jobs [requires ${missing.join(', ') || 'root, bwrap, cgroups, the bookworm root'}]`,
  () => {
    let h: Harness;

    beforeAll(async () => {
      h = await makeHarness();
    });
    afterAll(async () => {
      await h?.close();
    });

    it.skipIf(!hasCommand('slirp4netns'))(
      "reaches neither the node's loopback nor its own address with network=egress; no slirp left",
      async () => {
        const servers: Server[] = [];
        const greeter = async (host: string) => {
          const server = createServer((s) => s.end(`hello from ${host}\n`));
          await new Promise<void>((resolve) => server.listen(0, host, resolve));
          servers.push(server);
          return (server.address() as AddressInfo).port;
        };
        try {
          const outsideHost = sandboxReachableHost();
          const local = await greeter('127.0.0.1');
          const outside = await greeter(outsideHost);
          const probe = (name: string, host: string, port: number) =>
            `if r=$(timeout 5 bash -c 'exec 3<>/dev/tcp/${host}/${port}; head -n 1 <&3' 2>/dev/null) && [ -n "$r" ]; then echo "${name}=$r"; else echo "${name}=closed"; fi`;
          const id = await h.submit({
            command: 'bash',
            args: [
              '-c',
              [
                probe('redis', '127.0.0.1', 6379),
                probe('local', '127.0.0.1', local),
                probe('gateway', '10.0.2.2', local),
                probe('outside', outsideHost, outside),
                'cat /etc/resolv.conf',
              ].join('\n'),
            ],
            network: 'egress',
          });
          expect((await h.waitEnd(id)).state).toBe('COMPLETED');
          expect(await h.stdout(id)).toEqual([
            'redis=closed',
            'local=closed',
            'gateway=closed',
            'outside=closed', // the node's own address: refused by the egress policy
            ...egressResolvConf().trim().split('\n'),
          ]);
          expect(egressProcesses(`job-${id.slice(0, 8)}`)).toEqual([]);
        } finally {
          for (const s of servers) await new Promise((r) => s.close(r));
        }
      },
    );

    it.skipIf(!hasCommand('slirp4netns'))(
      'an egress job asks the nameservers AGENT_EGRESS_DNS names',
      async () => {
        const dir = h.sync.layout.versionDir(RUNTIME.name, RUNTIME.version);
        const sandbox = new BwrapJobSandbox({ egressDns: ['10.9.8.7', '2001:db8::53'] });
        const p = await sandbox.start({
          runtimeDir: dir,
          runtimeYml: await loadRuntimeYml(dir),
          workDir: h.w.dir('egress-dns'),
          command: 'cat',
          args: ['/etc/resolv.conf'],
          env: {},
          network: 'egress',
          hostname: 'job-egress-dns',
          binds: [],
        });
        const out: Buffer[] = [];
        p.stdout.on('data', (b: Buffer) => out.push(b));
        p.stderr.resume();
        const drained = finished(p.stdout);
        expect(await p.exited).toMatchObject({ code: 0 });
        await drained;
        expect(Buffer.concat(out).toString()).toBe(
          'nameserver 10.9.8.7\nnameserver 2001:db8::53\noptions edns0\n',
        );
      },
    );

    it('an egress job on a node without slirp4netns fails to start, saying so', async () => {
      const dir = h.sync.layout.versionDir(RUNTIME.name, RUNTIME.version);
      const sandbox = new BwrapJobSandbox({ slirpPath: '/nonexistent/slirp4netns' });
      const start = sandbox.start({
        runtimeDir: dir,
        runtimeYml: await loadRuntimeYml(dir),
        workDir: h.w.dir('egress-missing'),
        command: 'true',
        args: [],
        env: {},
        network: 'egress',
        hostname: 'job-egress',
        binds: [],
      });
      await expect(start).rejects.toMatchObject({
        reason: 'start-failed',
        message: expect.stringMatching(/network egress could not be set up.*slirp4netns/),
      });
    });

    it.skipIf(!hasCommand('slirp4netns'))(
      'AGENT_EGRESS_ALLOW opens exactly the address:port it lists',
      async () => {
        const host = sandboxReachableHost();
        const server = createServer((s) => s.end('hello from the mirror\n'));
        await new Promise<void>((resolve) => server.listen(0, host, resolve));
        const port = (server.address() as AddressInfo).port;
        try {
          const dir = h.sync.layout.versionDir(RUNTIME.name, RUNTIME.version);
          const run = async (egressAllow: string[]) => {
            const sandbox = new BwrapJobSandbox({ egressAllow: parseEgressAllow(egressAllow) });
            const p = await sandbox.start({
              runtimeDir: dir,
              runtimeYml: await loadRuntimeYml(dir),
              workDir: h.w.dir(`egress-allow-${egressAllow.length}`),
              command: 'bash',
              args: [
                '-c',
                `timeout 5 bash -c 'exec 3<>/dev/tcp/${host}/${port}; head -n 1 <&3' || echo closed`,
              ],
              env: {},
              network: 'egress',
              hostname: 'job-egress-allow',
              binds: [],
            });
            const out: Buffer[] = [];
            p.stdout.on('data', (b: Buffer) => out.push(b));
            p.stderr.resume();
            const drained = finished(p.stdout);
            await p.exited;
            await drained;
            return Buffer.concat(out).toString().trim();
          };
          expect(await run([])).toBe('closed');
          expect(await run([`${host}:${port}`])).toBe('hello from the mirror');
          expect(await run([`${host}:${port + 1}`])).toBe('closed');
        } finally {
          await new Promise((r) => server.close(r));
        }
      },
    );
  },
);
