import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseEgressAllow } from '@joblet/spec';
import { DENIED_V4, applyEgressPolicy, egressRuleset, nameserverAllows } from './egress-policy.js';

describe('egressRuleset', () => {
  const rules = egressRuleset(parseEgressAllow(['10.9.0.0/16', '192.168.1.5:3141']), [
    '10.128.0.7',
    'fe80::1',
  ]);

  it('accepts loopback and slirp DNS, then the exceptions, before any refusal', () => {
    const lines = rules.split('\n').map((l) => l.trim());
    const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
    expect(at('oifname "lo" accept')).toBeGreaterThan(0);
    expect(lines).toContain('ip daddr 10.0.2.3 meta l4proto { tcp, udp } th dport 53 accept');
    expect(lines).toContain('ip daddr 10.9.0.0/16 accept');
    expect(lines).toContain('ip daddr 192.168.1.5 meta l4proto { tcp, udp } th dport 3141 accept');
    expect(at('ip daddr 10.9.0.0/16')).toBeLessThan(at('ip daddr {'));
  });

  it('refuses private, CGNAT, link-local, loopback, multicast and the host’s own addresses', () => {
    const v4 = rules.split('\n').find((l) => l.trim().startsWith('ip daddr {'))!;
    for (const net of [...DENIED_V4, '10.128.0.7']) expect(v4).toContain(net);
    expect(v4).toContain('169.254.0.0/16');
    expect(v4).toMatch(/reject with icmpx type admin-prohibited$/);
    const v6 = rules.split('\n').find((l) => l.trim().startsWith('ip6 daddr {'))!;
    for (const net of ['fc00::/7', 'fe80::/10', '::/127', 'fe80::1']) expect(v6).toContain(net);
  });
});

describe('nameserverAllows', () => {
  it("allows the resolv.conf's own nameservers at port 53 only", () => {
    expect(
      nameserverAllows(
        'nameserver 10.0.2.3\nnameserver 10.255.255.53\nnameserver fd00::53\noptions edns0\n',
      ),
    ).toEqual([
      { net: '10.255.255.53', family: 4, port: 53 },
      { net: 'fd00::53', family: 6, port: 53 },
    ]);
  });
});

describe('applyEgressPolicy', () => {
  // The bench once raced `unshare --net`: the pid was still in the host's namespace and the
  // rules cut the host off from its DNS server (a private address). Refused before nft runs.
  it("refuses a process in the host's own network namespace, and one that is gone", async () => {
    const before = hostRuleset();
    await expect(applyEgressPolicy(process.pid, [])).rejects.toThrow(
      `the egress network policy was not set: process ${process.pid} is in this host's own network namespace, not in the sandbox's`,
    );
    await expect(applyEgressPolicy(2 ** 22 + 1, [])).rejects.toThrow(
      /is gone, not in the sandbox's/,
    );
    expect(hostRuleset()).toBe(before);
  });
});

/** The host's nftables ruleset (empty when nft is missing or not permitted). */
function hostRuleset(): string {
  const r = spawnSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
}
