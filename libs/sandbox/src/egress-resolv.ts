/**
 * The /etc/resolv.conf of an egress sandbox. Normally slirp4netns's DNS forwarder 10.0.2.3,
 * which asks the nameservers of the host's /etc/resolv.conf. slirp4netns started with
 * `--disable-host-loopback` cannot forward to a nameserver on the host's loopback, though
 * (systemd-resolved's 127.0.0.53, a local dnsmasq): names then never resolve. On such a host
 * the sandbox is given the upstream servers systemd-resolved itself uses
 * (/run/systemd/resolve/resolv.conf), reached through slirp like any outside host, as rootless
 * Podman does. Where neither works (a container whose resolver is Docker's embedded 127.0.0.11),
 * the operator names the servers (WORKER_BUILD_DNS), and {@link egressDnsProblem} says so at
 * start-up instead of every build failing to resolve its mirror.
 */
import { readFileSync } from 'node:fs';
import { isLoopbackIp } from '@joblet/spec';

/** slirp4netns's built-in DNS forwarder, as seen from the sandbox. */
export const EGRESS_DNS = '10.0.2.3';

/** /etc/resolv.conf of an egress sandbox on a host with a non-loopback nameserver. */
export const EGRESS_RESOLV_CONF = `nameserver ${EGRESS_DNS}\noptions edns0\n`;

/** Where systemd-resolved lists the upstream nameservers it uses. */
export const RESOLVED_UPSTREAM = '/run/systemd/resolve/resolv.conf';

function nameservers(text: string): string[] {
  return text
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((s): s is string => s !== undefined);
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The sandbox's resolv.conf for this host (files read at each call: they change when the host's
 * network does).
 */
export function egressResolvConf(
  hostResolvConf = '/etc/resolv.conf',
  upstream = RESOLVED_UPSTREAM,
  explicit: readonly string[] = [],
): string {
  if (explicit.length > 0) return resolvConfOf(explicit);
  const host = nameservers(readOr(hostResolvConf));
  // slirp forwards to the first one (none: libslirp's own default).
  if (host.length === 0 || !isLoopbackIp(host[0]!)) return EGRESS_RESOLV_CONF;
  const servers = [...host, ...nameservers(readOr(upstream))].filter((ip) => !isLoopbackIp(ip));
  if (servers.length === 0) return EGRESS_RESOLV_CONF; // nothing better: DNS will not work
  return resolvConfOf(servers);
}

/**
 * The resolv.conf of a `bridge` sandbox, whose DNS goes out directly (NAT, no slirp forwarder):
 * `explicit` servers, else the host's that are not on its loopback, else systemd-resolved's
 * upstream ones.
 */
export function directResolvConf(
  explicit: readonly string[] = [],
  hostResolvConf = '/etc/resolv.conf',
  upstream = RESOLVED_UPSTREAM,
): string {
  if (explicit.length > 0) return resolvConfOf(explicit);
  const servers = [...nameservers(readOr(hostResolvConf)), ...nameservers(readOr(upstream))];
  return resolvConfOf(servers.filter((ip) => !isLoopbackIp(ip)));
}

function resolvConfOf(servers: readonly string[]): string {
  const unique = [...new Set(servers)].slice(0, 3); // glibc reads at most three
  return `${unique.map((ip) => `nameserver ${ip}`).join('\n')}\noptions edns0\n`;
}

/**
 * Why names will not resolve in an egress sandbox on this host (its only nameservers are on its
 * loopback and no upstream is known), or undefined when they will.
 */
export function egressDnsProblem(
  hostResolvConf = '/etc/resolv.conf',
  upstream = RESOLVED_UPSTREAM,
): string | undefined {
  const host = nameservers(readOr(hostResolvConf));
  if (host.length === 0 || !isLoopbackIp(host[0]!)) return undefined;
  const reachable = [...host, ...nameservers(readOr(upstream))].filter((ip) => !isLoopbackIp(ip));
  if (reachable.length > 0) return undefined;
  return (
    `this host's nameserver${host.length > 1 ? 's' : ''} (${host.join(', ')}) ` +
    `${host.length > 1 ? 'are' : 'is'} on its loopback, which egress sandboxes cannot reach, ` +
    `and ${upstream} names no upstream server`
  );
}
