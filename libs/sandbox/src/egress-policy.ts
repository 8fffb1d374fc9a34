/**
 * What an egress sandbox may reach: the public internet and DNS, never the host's loopback, the
 * host's own addresses, private ranges (RFC 1918, CGNAT), link-local (169.254.169.254, the cloud
 * metadata service, included), ULA or multicast — unless the operator lists a range or an
 * address:port as allowed (a package mirror on the LAN). slirp4netns already keeps the host's
 * 127.0.0.1 out of reach; everything else leaves through ordinary host sockets, so the rules are
 * nftables rules in the sandbox's own network namespace, set by us (root) before the sandbox's
 * command is released. The command holds no capability there (uid 65534 without capabilities,
 * or a build's set without CAP_NET_ADMIN; no new user namespaces under seccomp), so it cannot
 * undo them.
 */
import { readlinkSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { EgressAllow } from '@joblet/spec';
import { SandboxError, SandboxErrorCode } from './errors.js';
import { run } from './exec.js';

/** slirp4netns's DNS forwarder inside the sandbox. */
export const SLIRP_DNS = '10.0.2.3';

/** IPv4 destinations refused to egress sandboxes (besides the host's own addresses). */
export const DENIED_V4 = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8', // RFC 1918 (and slirp's own 10.0.2.0/24: the gateway is the host)
  '100.64.0.0/10', // CGNAT
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, cloud metadata
  '172.16.0.0/12', // RFC 1918
  '192.0.0.0/24', // IETF protocol assignments
  '192.168.0.0/16', // RFC 1918
  '198.18.0.0/15', // benchmarking
  '224.0.0.0/3', // multicast and reserved
] as const;

/** IPv6 destinations refused (slirp4netns runs without IPv6 today; the rules hold if it gains it). */
export const DENIED_V6 = [
  '::/127', // unspecified and loopback
  '::ffff:0:0/96', // IPv4-mapped
  'fc00::/7', // ULA
  'fe80::/10', // link-local
  'ff00::/8', // multicast
] as const;

/**
 * The nameservers a sandbox's resolv.conf names, at port 53: whatever DNS it is told to use
 * (WORKER_BUILD_DNS, AGENT_EGRESS_DNS: often a private address), it may reach — for DNS only.
 */
export function nameserverAllows(resolvConf: string): EgressAllow[] {
  const out: EgressAllow[] = [];
  for (const m of resolvConf.matchAll(/^\s*nameserver\s+(\S+)/gm)) {
    const family = isIP(m[1]!);
    if (family !== 0 && m[1] !== SLIRP_DNS)
      out.push({ net: m[1]!, family: family as 4 | 6, port: 53 });
  }
  return out;
}

/** The host's own addresses (every interface but loopback): refused unless allowed. */
export function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal)
    .map((a) => a!.address.replace(/%.*$/, ''));
}

function acceptRule(a: EgressAllow): string {
  const ip = a.family === 4 ? 'ip' : 'ip6';
  if (a.port === undefined) return `    ${ip} daddr ${a.net} accept`;
  return `    ${ip} daddr ${a.net} meta l4proto { tcp, udp } th dport ${a.port} accept`;
}

/**
 * The nftables ruleset of an egress sandbox: loopback inside the sandbox and slirp's DNS first,
 * then the operator's exceptions, then the refusals (`reject`, so a refused connect fails at once
 * instead of hanging). Everything else — the public internet — is accepted.
 */
export function egressRuleset(allow: readonly EgressAllow[], own: readonly string[]): string {
  const v4 = [...DENIED_V4, ...own.filter((a) => isIP(a) === 4)];
  const v6 = [...DENIED_V6, ...own.filter((a) => isIP(a) === 6)];
  return [
    'table inet joblet_egress {',
    '  chain output {',
    '    type filter hook output priority 0; policy accept;',
    '    oifname "lo" accept',
    `    ip daddr ${SLIRP_DNS} meta l4proto { tcp, udp } th dport 53 accept`,
    ...allow.map(acceptRule),
    `    ip daddr { ${v4.join(', ')} } reject with icmpx type admin-prohibited`,
    `    ip6 daddr { ${v6.join(', ')} } reject with icmpx type admin-prohibited`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The network namespace of `pid` (`net:[4026531840]`), undefined when it is gone. */
function netns(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/**
 * Sets the ruleset in the network namespace of the sandbox process `pid` (as root, through
 * `nsenter` and `nft` from Debian's util-linux and nftables). A `pid` that is not (or no longer)
 * in a network namespace of its own is refused: the rules would land on the host itself and cut
 * it off from every private address — its DNS server, its LAN.
 * @throws SandboxError `SANDBOX_NETWORK_FAILED` naming what failed (nft missing, rules refused,
 *   the process in the host's namespace or gone).
 */
export async function applyEgressPolicy(
  pid: number,
  allow: readonly EgressAllow[],
  own: readonly string[] = hostAddresses(),
): Promise<void> {
  const ns = netns(pid);
  if (ns === undefined || ns === netns('self'))
    throw new SandboxError(
      `the egress network policy was not set: process ${pid} is ` +
        `${ns === undefined ? 'gone' : "in this host's own network namespace"}, not in the sandbox's`,
      SandboxErrorCode.NetworkFailed,
    );
  const r = await run('nsenter', [`--net=/proc/${pid}/ns/net`, '--', 'nft', '-f', '-'], {
    input: egressRuleset(allow, own),
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    timeoutMs: 10_000,
  }).catch((err: Error) => ({ code: -1, stderr: err.message, timedOut: false }));
  if (r.code === 0) return;
  const why = r.stderr.trim().split('\n').slice(-3).join('; ') || `exit code ${r.code}`;
  const missing = /nft: (not found|No such file)|exec.*nft/i.test(why);
  throw new SandboxError(
    `the egress network policy could not be set (nftables in the sandbox's network namespace): ${why}` +
      (missing ? '. Install it with: apt-get install nftables' : ''),
    SandboxErrorCode.NetworkFailed,
  );
}
