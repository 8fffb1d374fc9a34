/**
 * Job networks, as Joblet has them. Built in: `none` (only the job's own loopback), `isolated`
 * (the public internet and DNS only; `egress` is its older name), `host` (the node's network:
 * admins only, on nodes that allow it) and `bridge` (the internet plus the other `bridge` jobs of
 * the node). Custom networks (`rnx network create prod --cidr 10.10.0.0/24`) are farm-wide
 * definitions every node realises on demand: their jobs reach each other by address and by name,
 * the internet under the same policy as `isolated`, and no other network.
 */
import { z } from 'zod';

/** Networks every farm has; none of them can be created or removed. */
export const BUILTIN_NETWORKS = ['none', 'isolated', 'egress', 'host', 'bridge'] as const;
export type BuiltinNetwork = (typeof BUILTIN_NETWORKS)[number];

/** The addresses of the built-in `bridge` network (Joblet's default). */
export const BRIDGE_NETWORK_CIDR = '172.20.0.0/16';

/** Smallest and largest prefix length of a custom network (65534 down to 6 job addresses). */
export const NETWORK_PREFIX_RANGE = { min: 16, max: 29 } as const;

const NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** A network a job may name: a built-in one or a custom network's name. */
export const JobNetwork = z
  .string()
  .regex(NAME, 'a network: none, isolated, bridge, host or a custom network name');
export type JobNetwork = z.infer<typeof JobNetwork>;

/** How a job's network is built on the node. */
export type NetworkKind = 'none' | 'isolated' | 'host' | 'bridge';

/** `egress` is `isolated`; `bridge` and custom networks are bridges. */
export function networkKind(network: string): NetworkKind {
  if (network === 'none' || network === 'host') return network;
  if (network === 'isolated' || network === 'egress') return 'isolated';
  return 'bridge';
}

/** An IPv4 range, as numbers. */
export interface Cidr {
  /** The network address (host bits zero). */
  base: number;
  prefix: number;
}

export function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && +p < 256))
    return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** `10.10.0.0/24` → `{ base, prefix }`, or a reason it is not a network range. */
export function parseCidr(text: string): Cidr | string {
  const [addr = '', bits, extra] = text.split('/');
  const base = ipToInt(addr);
  if (base === undefined || extra !== undefined || bits === undefined || !/^\d{1,2}$/.test(bits))
    return 'an IPv4 range like 10.10.0.0/24';
  const prefix = Number(bits);
  const { min, max } = NETWORK_PREFIX_RANGE;
  if (prefix < min || prefix > max) return `a prefix length from /${min} to /${max}`;
  if (base % 2 ** (32 - prefix) !== 0)
    return `the network address itself (${intToIp(base - (base % 2 ** (32 - prefix)))}/${prefix})`;
  return { base, prefix };
}

/** The number of addresses in `c`. */
export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + cidrSize(b) && b.base < a.base + cidrSize(a);
}

/** Ranges a network may not use: they mean something else on every host. */
const RESERVED = ['0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/3'];

const Cidr = z.string().superRefine((text, ctx) => {
  const c = parseCidr(text);
  if (typeof c === 'string') {
    ctx.addIssue({ code: 'custom', message: `must be ${c}` });
    return;
  }
  for (const r of RESERVED) {
    const [a, p] = r.split('/') as [string, string];
    if (cidrsOverlap(c, { base: ipToInt(a)!, prefix: Number(p) }))
      ctx.addIssue({ code: 'custom', message: `must not overlap ${r}` });
  }
});

export const NetworkName = z
  .string()
  .regex(NAME, 'a network name: a lowercase letter, then letters, digits or "-" (at most 32)')
  .refine(
    (n) => !(BUILTIN_NETWORKS as readonly string[]).includes(n),
    'a built-in network (none, isolated, egress, host, bridge) cannot be created or removed',
  );

/** `POST /v1/networks` */
export const CreateNetworkRequest = z.object({ name: NetworkName, cidr: Cidr });
export type CreateNetworkRequest = z.infer<typeof CreateNetworkRequest>;

/** A network as the API lists it. */
export const NetworkView = z.object({
  name: z.string(),
  /** Absent for `none`, `isolated`, `egress` and `host`. */
  cidr: z.string().optional(),
  builtin: z.boolean(),
  createdAt: z.string().optional(),
});
export type NetworkView = z.infer<typeof NetworkView>;
export const ListNetworksResponse = z.object({ networks: z.array(NetworkView) });
export const NetworkParams = z.object({ name: NetworkName });
