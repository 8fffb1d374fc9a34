/**
 * The host side of `bridge` and custom job networks: one Linux bridge per network on this host
 * (`jb-<hash>`, the network's first address as the jobs' gateway), IPv4 forwarding, and one
 * nftables table, `inet joblet_networks`, that holds for every such bridge at once by interface
 * name:
 *
 * - nothing from a job network reaches this host itself (input): not its loopback services
 *   (Redis, the API), not its own addresses, not the gateway address;
 * - nothing is routed between two job networks, and nothing from outside enters one except
 *   replies (forward); jobs of one network talk over their bridge (accepted per bridge: where
 *   br_netfilter is loaded, bridged packets pass the forward hook too, the bridge as both
 *   interfaces);
 * - nothing on this host (an `isolated` job's slirp4netns included) opens a connection into a job
 *   network (output);
 * - what leaves for the outside is masqueraded behind the host's address (postrouting).
 *
 * What a job may reach beyond that (the public internet and DNS, never private ranges but its
 * own network's) is the egress policy set inside its own namespace (egress-policy.ts). The
 * job's end of the link is made by bridge-attach.ts. IPv4 forwarding is switched on host-wide,
 * as Docker does, and left on.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { SandboxError, SandboxErrorCode } from './errors.js';
import { run } from './exec.js';

/** The nftables table of this host's job networks. */
export const HOST_TABLE = 'joblet_networks';
/** Name prefixes of the bridges (one per network) and host ends of veth pairs (one per job). */
export const BRIDGE_PREFIX = 'jb-';
export const VETH_PREFIX = 'jv-';

const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 10);
}

/** The bridge of `network` on this host (15 characters at most, as Linux requires). */
export function bridgeName(network: string): string {
  return `${BRIDGE_PREFIX}${shortHash(network)}`;
}

/** The host end of the veth pair of the sandbox `id` (a job id). */
export function vethName(id: string): string {
  return `${VETH_PREFIX}${shortHash(id)}`;
}

/** The host ruleset of these bridges (see the module comment). */
export function hostRuleset(bridges: readonly string[]): string {
  const jobs = `"${BRIDGE_PREFIX}*"`;
  return [
    `table inet ${HOST_TABLE} {`,
    '  chain input {',
    '    type filter hook input priority filter - 10; policy accept;',
    `    iifname ${jobs} drop`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter - 10; policy accept;',
    ...bridges.map((b) => `    iifname "${b}" oifname "${b}" accept`),
    `    iifname ${jobs} oifname ${jobs} drop`,
    `    oifname ${jobs} ct state established,related accept`,
    `    oifname ${jobs} drop`,
    '  }',
    '  chain output {',
    '    type filter hook output priority filter - 10; policy accept;',
    `    oifname ${jobs} drop`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    iifname ${jobs} oifname != ${jobs} masquerade`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * Runs a network set-up command as root (`ip`, `nft`, `nsenter`).
 * @throws SandboxError `SANDBOX_NETWORK_FAILED`: `what`, then the command's last lines of stderr.
 */
export async function must(
  what: string,
  cmd: string,
  args: string[],
  input?: string,
): Promise<void> {
  const r = await run(cmd, args, { env: ENV, timeoutMs: 10_000, ...(input && { input }) }).catch(
    (err: Error) => ({ code: -1, stderr: err.message }),
  );
  if (r.code === 0) return;
  const why = r.stderr.trim().split('\n').slice(-3).join('; ') || `exit code ${r.code}`;
  throw new SandboxError(`${what}: ${why}`, SandboxErrorCode.NetworkFailed);
}

/**
 * Replaces the host table atomically (one nft transaction: create, delete, recreate), or removes
 * it when there is no bridge.
 */
async function setHostRules(bridges: readonly string[]): Promise<void> {
  if (bridges.length === 0) return removeHostRules();
  const replace = `table inet ${HOST_TABLE}\ndelete table inet ${HOST_TABLE}\n${hostRuleset(bridges)}`;
  await must(
    "the job networks' host rules could not be set (nftables)",
    'nft',
    ['-f', '-'],
    replace,
  );
}

/** This host's job network bridges. */
export function hostBridges(): string[] {
  try {
    return readdirSync('/sys/class/net').filter((n) => n.startsWith(BRIDGE_PREFIX));
  } catch {
    return [];
  }
}

/** The interfaces attached to `bridge` (none when it does not exist). */
function bridgePorts(bridge: string): string[] {
  try {
    return readdirSync(`/sys/class/net/${bridge}/brif`);
  } catch {
    return [];
  }
}

/** The network's bridge on this host: made (idempotent), its gateway address set, the rules in place. */
export async function ensureBridge(bridge: string, gateway: string, prefix: number): Promise<void> {
  // The rules first: the bridge never exists without them.
  await setHostRules([...new Set([...hostBridges(), bridge])]);
  if (!hostBridges().includes(bridge))
    await must(`bridge ${bridge} could not be made`, 'ip', [
      'link',
      'add',
      bridge,
      'type',
      'bridge',
    ]);
  await must(`bridge ${bridge} could not be configured`, 'ip', [
    'addr',
    'replace',
    `${gateway}/${prefix}`,
    'dev',
    bridge,
  ]);
  await must(`bridge ${bridge} could not be brought up`, 'ip', ['link', 'set', bridge, 'up']);
  await writeFile('/proc/sys/net/ipv4/ip_forward', '1\n').catch((err: Error) => {
    throw new SandboxError(
      `IPv4 forwarding could not be enabled: ${err.message}`,
      SandboxErrorCode.NetworkFailed,
    );
  });
}

/**
 * Removes `bridge` once no job is attached to it, and the host table once no bridge is left. The
 * kernel destroys an ended sandbox's veth with its network namespace, asynchronously: ports
 * still attached get `waitMs` to go before the bridge is left in place (for start-up clean-up).
 * @returns whether the bridge is gone.
 */
export async function removeBridgeIfUnused(bridge: string, waitMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  while (bridgePorts(bridge).length > 0) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  if (hostBridges().includes(bridge))
    await must(`bridge ${bridge} could not be removed`, 'ip', ['link', 'del', bridge]);
  await setHostRules(hostBridges());
  return true;
}

async function removeHostRules(): Promise<void> {
  // Declaring before deleting: deleting a table that does not exist is an error.
  await must(
    "the job networks' host rules could not be removed",
    'nft',
    ['-f', '-'],
    `table inet ${HOST_TABLE}\ndelete table inet ${HOST_TABLE}\n`,
  );
}

/**
 * Start-up clean-up: every job network bridge with nothing attached (its jobs died with the
 * previous agent; their veths went with their namespaces) is removed, and the host table with
 * the last one. Returns the bridges removed.
 */
export async function cleanupBridges(): Promise<string[]> {
  const removed: string[] = [];
  for (const b of hostBridges()) {
    if (bridgePorts(b).length === 0) {
      await must(`bridge ${b} could not be removed`, 'ip', ['link', 'del', b]);
      removed.push(b);
    }
  }
  await setHostRules(hostBridges());
  return removed;
}

/** What job networking has left on this host: bridges, veths, the table (for leak checks). */
export async function bridgeResidue(): Promise<{ links: string[]; table: boolean }> {
  let links: string[] = [];
  try {
    links = readdirSync('/sys/class/net').filter(
      (n) => n.startsWith(BRIDGE_PREFIX) || n.startsWith(VETH_PREFIX),
    );
  } catch {
    // no sysfs: nothing to report
  }
  const r = await run('nft', ['list', 'table', 'inet', HOST_TABLE], { env: ENV }).catch(() => ({
    code: 1,
  }));
  return { links, table: r.code === 0 };
}
