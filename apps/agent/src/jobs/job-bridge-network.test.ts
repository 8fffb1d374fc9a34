// Jobs in bridge and custom networks, for real (real bwrap, veths, bridges and nftables on this
// kernel, real Redis; the listener is perl-base's IO::Socket): two jobs of one network talk by address and by 8-character host name;
// jobs of another network, `none` and `isolated` jobs cannot reach them; a network job reaches
// neither the node's loopback services nor its own address; and once the jobs have ended and
// the network is removed, no bridge, veth or nftables table is left.
import { randomInt } from 'node:crypto';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@joblet/logging';
import { NetworkRegistry } from '@joblet/queue';
import {
  bridgeName,
  bridgeResidue,
  ensureBridge,
  hasCommand,
  hostBridges,
  vethName,
} from '@joblet/sandbox';
import { sandboxReachableHost } from '@joblet/testkit';
import { waitFor } from '../test-support.js';
import { JobNetworks } from './job-networks.js';
import { makeHarness, missingForJobs, type Harness } from './job-test-support.js';

const missing = missingForJobs();
if (!hasCommand('nft', ['--version'])) missing.push('nftables');

/** A /24 no other test is likely to hold on this host (bridges and their routes are host-wide). */
function randomCidr(): string {
  return `10.${randomInt(200, 250)}.${randomInt(0, 256)}.0/24`;
}

/** Prints `<name>=<first line>` or `<name>=closed` for a TCP connect from inside a job. */
function probe(name: string, host: string, port: number): string {
  return `if r=$(timeout 5 bash -c 'exec 3<>/dev/tcp/${host}/${port}; echo ${name} >&3; head -n 1 <&3' 2>/dev/null) && [ -n "$r" ]; then echo "${name}=$r"; else echo "${name}=closed"; fi`;
}

/**
 * A TCP server in the job (perl-base's IO::Socket: the runtime has neither nc nor a python with
 * its standard library): answers `ok <line>` to each connection, ends after `count`.
 */
function listener(count: number): string[] {
  const pl = [
    'use IO::Socket::INET; $| = 1;',
    "my $s = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => 7000, Listen => 16,",
    '  ReuseAddr => 1, Proto => \'tcp\') or die "listen: $!";',
    'print "listening\\n";',
    `for (1 .. ${count}) {`,
    '  my $c = $s->accept or die "accept: $!"; my $l = <$c>; chomp $l;',
    '  print $c "ok $l\\n"; close $c; print "got $l\\n";',
    '}',
  ].join('\n');
  return ['-e', pl];
}

describe.skipIf(missing.length > 0)(
  `bridge and custom networks [requires ${missing.join(', ') || 'root, bwrap, cgroups, the bookworm root, nftables'}]`,
  () => {
    let h: Harness;
    let registry: NetworkRegistry;
    const suffix = `${process.pid.toString(36)}${randomInt(1e6).toString(36)}`;
    const prod = `prod-${suffix}`;
    const other = `other-${suffix}`;

    beforeAll(async () => {
      h = await makeHarness();
      registry = new NetworkRegistry(h.w.redis, h.w.keys);
      await registry.create(prod, randomCidr());
      await registry.create(other, randomCidr());
    });
    afterAll(async () => {
      await h?.close();
    });

    it('jobs of one network talk by address and by name; no other network, none or isolated job reaches them', async () => {
      const servers: Server[] = [];
      try {
        const hostAddr = sandboxReachableHost();
        const server = createServer((s) => s.end('hello from the node\n'));
        await new Promise<void>((resolve) => server.listen(0, hostAddr, resolve));
        servers.push(server);
        const nodePort = (server.address() as AddressInfo).port;

        const listenerId = await h.submit({
          command: 'perl',
          args: listener(2),
          network: prod,
          limits: { timeoutS: 180 },
        });
        const rec = await waitFor(
          async () => {
            const r = await h.store.get(listenerId);
            const out = await h.stdout(listenerId);
            return r?.ip && out.includes('listening') ? r : undefined;
          },
          'the listener to run',
          60_000,
        );
        const ip = rec.ip!;
        expect(rec).toMatchObject({ state: 'RUNNING', network: prod });
        const short = listenerId.slice(0, 8);

        // Outsiders first: the listener counts only the two connections of its own network.
        const outsiders = await Promise.all(
          [other, 'none', 'isolated', 'bridge'].map((network) =>
            h.submit({
              command: 'bash',
              args: ['-c', [probe('by-ip', ip, 7000), probe('by-name', short, 7000)].join('\n')],
              network,
            }),
          ),
        );
        for (const id of outsiders) {
          const r = await h.waitEnd(id);
          expect(r.state, (await h.output(id)).join('\n')).toBe('COMPLETED');
          expect(await h.stdout(id)).toEqual(['by-ip=closed', 'by-name=closed']);
        }

        const peer = await h.submit({
          command: 'bash',
          args: [
            '-c',
            [
              // First: the listener leaves the hosts file when it ends, after two connections.
              `getent hosts ${listenerId} | cut -f1 -d' '`,
              probe('by-ip', ip, 7000),
              probe('by-name', short, 7000),
              probe('redis', '127.0.0.1', 6379),
              probe('node', hostAddr, nodePort),
              probe('metadata', '169.254.169.254', 80),
            ].join('\n'),
          ],
          network: prod,
        });
        const peerRec = await h.waitEnd(peer);
        expect(peerRec.state, (await h.output(peer)).join('\n')).toBe('COMPLETED');
        expect(peerRec.ip).toMatch(/^10\./);
        expect(peerRec.ip).not.toBe(ip);
        expect(await h.stdout(peer)).toEqual([
          ip,
          'by-ip=ok by-ip',
          'by-name=ok by-name',
          'redis=closed',
          'node=closed',
          'metadata=closed',
        ]);
        expect((await h.waitEnd(listenerId)).state).toBe('COMPLETED');
        expect(await h.stdout(listenerId)).toEqual(['listening', 'got by-ip', 'got by-name']);
      } finally {
        for (const s of servers) await new Promise((r) => s.close(r));
      }
    }, 300_000);

    it('leaves no address, bridge, veth or table behind once its jobs ended and it is removed', async () => {
      const ids = await Promise.all([0, 1].map(() => h.submit({ command: 'true', network: prod })));
      for (const id of ids) expect((await h.waitEnd(id)).state).toBe('COMPLETED');
      // The agent cleans up after writing the final state, and the kernel destroys an ended
      // job's veth with its namespace, asynchronously: wait (generously) for both.
      await waitFor(
        async () => ((await registry.members(prod)).length === 0 ? true : undefined),
        'the addresses to be freed',
        60_000,
      );
      await registry.remove(prod);
      await registry.remove(other);
      const ours = [bridgeName(prod), bridgeName(other), ...ids.map(vethName)];
      const residue = await waitFor(
        async () => {
          const r = await bridgeResidue();
          const tableLeft = r.table && hostBridges().length === 0;
          return r.links.some((l) => ours.includes(l)) || tableLeft ? undefined : r;
        },
        'the network clean-up',
        60_000,
      );
      expect(residue.links.filter((l) => ours.includes(l))).toEqual([]);
      // The table goes with the last bridge of this host (other tests may hold one meanwhile).
      if (residue.links.every((l) => !l.startsWith('jb-'))) expect(residue.table).toBe(false);
    }, 120_000);

    it('frees what a previous run of the node left: addresses, bridges, hosts files', async () => {
      const name = `stale-${suffix}`;
      const def = await registry.create(name, randomCidr());
      await registry.allocate(def, h.node, 'dead-job');
      const [a, b, c] = def.cidr.split('.') as [string, string, string];
      await ensureBridge(bridgeName(name), `${a}.${b}.${c}.1`, 24);
      expect(hostBridges()).toContain(bridgeName(name));
      const nets = new JobNetworks({
        node: h.node,
        registry,
        dir: h.w.dir('stale-networks'),
        log: silentLogger(),
      });
      await nets.cleanup();
      expect(hostBridges()).not.toContain(bridgeName(name));
      expect(await registry.members(name)).toEqual([]);
      await registry.remove(name);
    });
  },
);
