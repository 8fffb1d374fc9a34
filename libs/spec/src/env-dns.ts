/**
 * Nameservers an operator names for egress sandboxes (WORKER_BUILD_DNS, AGENT_EGRESS_DNS): the
 * sandbox's own loopback shadows the host's, so a loopback address would never answer.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

const RULE = 'comma-separated IP addresses, none on loopback (egress sandboxes cannot reach it)';

/** True for an address on the host's own loopback (127/8, ::1) or "any" (0.0.0.0). */
export function isLoopbackIp(ip: string): boolean {
  return /^127\./.test(ip) || ip === '::1' || ip === '0.0.0.0';
}

/** `10.0.0.2, 10.0.0.3` → the addresses; undefined when one is not an IP or is on loopback. */
export function parseDnsServers(value: string): string[] | undefined {
  const ips = value
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const ok = ips.length > 0 && ips.every((ip) => isIP(ip) !== 0 && !isLoopbackIp(ip));
  return ok ? ips : undefined;
}

/** The variable as the apps declare it (optional). */
export const DnsServersEnv = z
  .string()
  .transform(
    (s, ctx) => parseDnsServers(s) ?? (ctx.addIssue({ code: 'custom', message: RULE }), z.NEVER),
  )
  .optional();
