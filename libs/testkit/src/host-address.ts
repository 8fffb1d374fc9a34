/**
 * The address test servers must listen on for sandboxes to reach them. Build sandboxes (and
 * `egress` jobs) have their own network namespace connected by slirp4netns without access to the
 * host's loopback, so a server on 127.0.0.1 is out of their reach; the host's own non-loopback
 * address is reached like any outside host.
 */
import { networkInterfaces } from 'node:os';

/**
 * The host's first non-loopback IPv4 address (eth0's, typically).
 * @throws Error when the host has none (sandboxes with egress networking then reach no test server).
 */
export function sandboxReachableHost(): string {
  for (const [name, list] of Object.entries(networkInterfaces())) {
    // Job network bridges (jb-*, @joblet/sandbox bridge-host.ts) come and go with their jobs.
    if (name.startsWith('jb-')) continue;
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error(
    'this host has no non-loopback IPv4 address: test servers that sandboxes must reach ' +
      '(pip index, npm registry) have nowhere to listen',
  );
}
