/**
 * The operator's exceptions to the egress policy of sandboxes (WORKER_BUILD_EGRESS_ALLOW,
 * AGENT_EGRESS_ALLOW): ranges or address:port that egress sandboxes may reach although they are
 * private, link-local or the host's own — a package mirror on the LAN, say. The policy itself
 * (what is refused, and how) is @joblet/sandbox's egress-policy.ts.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

/** One operator exception: a range (`10.1.0.0/16`, `fd00::/8`), an address, or `addr:port`. */
export interface EgressAllow {
  /** An address or a CIDR range. */
  net: string;
  family: 4 | 6;
  /** TCP or UDP port; all ports when undefined. */
  port?: number;
}

/** An allow entry that is not an address, a range or address:port. */
export class EgressAllowError extends Error {
  override readonly name = 'EgressAllowError';
}

function invalid(entry: string, why: string): EgressAllowError {
  return new EgressAllowError(
    `invalid egress allow entry '${entry}': ${why} (expected an address, a CIDR range or address:port)`,
  );
}

function cidr(entry: string, net: string): { net: string; family: 4 | 6 } {
  const [addr = '', bits, extra] = net.split('/');
  const family = isIP(addr);
  if (family === 0 || extra !== undefined) throw invalid(entry, 'not an address');
  if (bits !== undefined) {
    const n = Number(bits);
    if (!/^\d{1,3}$/.test(bits) || n > (family === 4 ? 32 : 128)) {
      throw invalid(entry, 'bad prefix length');
    }
  }
  return { net, family: family as 4 | 6 };
}

/** Parses the operator's allow list (`WORKER_BUILD_EGRESS_ALLOW`, `AGENT_EGRESS_ALLOW`). */
export function parseEgressAllow(entries: readonly string[]): EgressAllow[] {
  return entries.map((raw) => {
    const entry = raw.trim();
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    const v4port = /^([\d.]+(?:\/\d+)?):(\d+)$/.exec(entry);
    const [net, port] = bracketed
      ? [bracketed[1]!, bracketed[2]]
      : v4port
        ? [v4port[1]!, v4port[2]]
        : [entry, undefined];
    const parsed = cidr(entry, net);
    if (port === undefined) return parsed;
    const p = Number(port);
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw invalid(entry, 'bad port');
    return { ...parsed, port: p };
  });
}

/** The variable as the apps declare it: comma-separated entries, optional. */
export const EgressAllowEnv = z
  .string()
  .transform((s, ctx) => {
    try {
      return parseEgressAllow(
        s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      );
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  })
  .optional();
