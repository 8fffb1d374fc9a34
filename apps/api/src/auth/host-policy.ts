/**
 * Which `Host` header values the API serves: DNS-rebinding protection. A web page on
 * `evil.example` whose name is re-pointed at 127.0.0.1 talks to the API as its own origin (so it
 * may send any header), but its requests still say `Host: evil.example`. An API that listens on
 * loopback therefore serves only Host names that are loopback (`localhost`, `127.0.0.1`, `[::1]`,
 * with any port), plus the operator's API_ALLOWED_HOSTS. Elsewhere an empty API_ALLOWED_HOSTS
 * serves any name (behind a load balancer the names are the operator's to know); a list serves
 * its names, loopback names and IP addresses — a page whose origin is an IP address cannot be
 * re-pointed, so those are never rebinding, and probes (the kubelet's, a container
 * health check) use them.
 */
import { isIP } from 'node:net';
import { isLoopbackHost } from './auth-mode.js';

export interface HostPolicy {
  /** Serve loopback names (the API listens on loopback). */
  loopback: boolean;
  /** Host names (no port, lower case) served as well; empty and not `loopback`: any name. */
  names: readonly string[];
}

/** The policy for an API listening on `apiHost` with the operator's list of names. */
export function hostPolicy(apiHost: string, names: readonly string[] = []): HostPolicy {
  return { loopback: isLoopbackHost(apiHost), names: names.map((n) => n.toLowerCase()) };
}

/** `[::1]:7070` → `::1`, `Example.COM:80` → `example.com`; undefined when it is no host name. */
export function hostName(header: string): string | undefined {
  const h = header.trim().toLowerCase();
  const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h) ?? /^([a-z0-9._-]+)(?::\d{1,5})?$/.exec(h);
  return m?.[1];
}

export function hostAllowed(policy: HostPolicy, header: string | undefined): boolean {
  if (!policy.loopback && policy.names.length === 0) return true;
  const name = header === undefined ? undefined : hostName(header);
  if (name === undefined) return false;
  if (isLoopbackHost(name) || policy.names.includes(name)) return true;
  return !policy.loopback && isIP(name) !== 0;
}

/** What a refused client is told: which names this API answers to, and how to add one. */
export function hostRefusal(policy: HostPolicy, header: string | undefined): string {
  const served = [
    'localhost, 127.0.0.1, [::1]',
    ...policy.names,
    ...(policy.loopback ? [] : ['IP addresses']),
  ].join(', ');
  const what = header === undefined ? 'no Host header' : `Host "${header.slice(0, 100)}"`;
  return (
    `${what} is not a name of this API (it answers to ${served}); a page whose DNS name was ` +
    `pointed at this machine is refused this way. Operators: add the name to API_ALLOWED_HOSTS`
  );
}
