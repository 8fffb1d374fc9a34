/**
 * The sandbox's end of a `bridge` or custom network: a veth pair whose host end joins the
 * network's bridge (bridge-host.ts) and whose other end becomes `eth0` in the sandbox's network
 * namespace, with the job's address and a default route through the gateway. Done as root by
 * the launcher (through egress.ts's block fd) after bwrap made the namespace and before the
 * command runs; the command holds no CAP_NET_ADMIN there, so it cannot change any of it.
 */
import { must } from './bridge-host.js';

/** Where a sandbox sits in a bridge network (the agent allocates it; see SandboxSpec.bridge). */
export interface BridgeAttachment {
  /** The host's bridge of the network (bridge-host.ts `bridgeName`); it must exist. */
  bridge: string;
  /** The host end of the veth pair (`vethName`), unique per sandbox. */
  veth: string;
  /** The network's range, e.g. `10.10.0.0/24`: the sandbox may reach it though it is private. */
  cidr: string;
  /** The sandbox's address in it. */
  address: string;
  /** The network's first address, on the host's bridge. */
  gateway: string;
}

function ip(pid: number | undefined, args: string[], input?: string): Promise<void> {
  const argv = pid === undefined ? args : [`--net=/proc/${pid}/ns/net`, '--', 'ip', ...args];
  return must(
    `the sandbox's bridge network could not be set up (ip ${args.join(' ')})`,
    pid === undefined ? 'ip' : 'nsenter',
    argv,
    input,
  );
}

/**
 * Links the network namespace of `pid` to its bridge network (see the module comment). The link
 * is gone with the namespace; `stop` removes the host end sooner (idempotent, never fails).
 */
export async function attachBridge(
  pid: number,
  a: BridgeAttachment,
): Promise<{ stop(): Promise<void> }> {
  const prefix = a.cidr.split('/')[1];
  const stop = async (): Promise<void> => {
    await ip(undefined, ['link', 'del', a.veth]).catch(() => undefined);
  };
  try {
    await ip(undefined, [
      'link',
      'add',
      a.veth,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      `${pid}`,
    ]);
    await ip(undefined, ['link', 'set', a.veth, 'master', a.bridge, 'up']);
    await ip(
      pid,
      ['-batch', '-'],
      [
        `addr add ${a.address}/${prefix} dev eth0`,
        'link set eth0 up',
        `route add default via ${a.gateway}`,
        '',
      ].join('\n'),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return { stop: () => (stopping ??= stop()) };
}
