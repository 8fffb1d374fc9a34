/**
 * Start-up check of WORKER_BUILD_NETWORK. With `isolated` (the default) every build command gets
 * egress-only networking through slirp4netns; a worker that cannot provide it must refuse to
 * start rather than fail every build, or quietly fall back to the host's network (where a build
 * hook reaches the farm's Redis on 127.0.0.1). For the same reason a package source on this
 * host's loopback (an apt proxy on 127.0.0.1:3142, a local pip index) is refused: isolated
 * builds cannot reach it. `host` is allowed but logged as unsafe.
 */
import type { Logger } from '@joblet/logging';
import { lookup } from 'node:dns/promises';
import { egressDnsProblem, probeEgress } from '@joblet/sandbox';
import type { EgressAllow } from '@joblet/spec';
import { hostAptMirror } from '../base-root/index.js';
import type { WorkerConfig } from '../env.js';

/** Isolated build networking is configured but unusable on this host (exit 78). */
export class BuildNetworkUnavailableError extends Error {
  override readonly name = 'BuildNetworkUnavailableError';
}

export interface BuildNetworkCheckOptions {
  /** Default `slirp4netns` from PATH. */
  slirpPath?: string;
  /** Where the host's apt sources are read (tests). Default `/`. */
  aptRoot?: string;
  /** The host's resolv.conf and systemd-resolved's upstream list (tests). */
  resolvConf?: string;
  resolvedUpstream?: string;
}

type NetworkConfig = Pick<
  WorkerConfig,
  'buildNetwork' | 'buildDns' | 'arch' | 'aptMirror' | 'pipIndexUrl' | 'npmRegistry'
> &
  Partial<Pick<WorkerConfig, 'buildSubids'>>;

/** The package sources builds use, by the name an operator knows them. */
async function packageSources(
  c: NetworkConfig,
  aptRoot: string | undefined,
): Promise<Record<string, string | undefined>> {
  const hostApt = c.aptMirror
    ? undefined
    : await hostAptMirror({ arch: c.arch, ...(aptRoot !== undefined && { root: aptRoot }) });
  return {
    ...(c.aptMirror
      ? { BUILD_APT_MIRROR: c.aptMirror }
      : { "the host's apt mirror (BUILD_APT_MIRROR unset)": hostApt }),
    BUILD_PIP_INDEX_URL: c.pipIndexUrl,
    BUILD_NPM_REGISTRY: c.npmRegistry,
  };
}

/** True for `localhost`, 127.0.0.0/8 and ::1 (what an isolated sandbox's loopback shadows). */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\.\d+\.\d+\.\d+$/.test(host) ||
    host === '[::1]' ||
    host === '0.0.0.0'
  );
}

/**
 * address:port of every package source, for the egress policy: a mirror on the LAN (a private
 * address, or this host's own) stays reachable to builds, and only on its port. Names are
 * resolved once, here, at start-up.
 */
export async function packageSourceAllows(
  sources: Record<string, string | undefined>,
): Promise<EgressAllow[]> {
  const out: EgressAllow[] = [];
  for (const [name, url] of Object.entries(sources)) {
    if (url === undefined) continue;
    const u = new URL(url);
    const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const addrs = await lookup(host, { all: true }).catch((err: Error) => {
      throw new BuildNetworkUnavailableError(
        `${name}=${url}: cannot resolve ${host}: ${err.message}`,
      );
    });
    for (const a of addrs) out.push({ net: a.address, family: a.family === 6 ? 6 : 4, port });
  }
  return out;
}

/**
 * Resolves when builds can get the configured network, with what isolated builds must be able to
 * reach beyond the public internet (the package sources; see {@link packageSourceAllows}).
 * @throws BuildNetworkUnavailableError saying what is missing and what to do.
 */
export async function checkBuildNetwork(
  config: NetworkConfig,
  log: Pick<Logger, 'warn'>,
  o: BuildNetworkCheckOptions = {},
): Promise<EgressAllow[]> {
  if (config.buildNetwork === 'host') {
    log.warn(
      'WORKER_BUILD_NETWORK=host: build hooks share this host network and can reach every ' +
        'service on its loopback (Redis, the API); use it only where no build is untrusted',
    );
    return [];
  }
  const sources = await packageSources(config, o.aptRoot);
  const onLoopback = Object.entries(sources).filter(
    ([, url]) => url !== undefined && isLoopbackUrl(url),
  );
  if (onLoopback.length > 0) {
    const list = onLoopback.map(([name, url]) => `${name}=${url}`).join(', ');
    throw new BuildNetworkUnavailableError(
      `${list}: isolated builds (WORKER_BUILD_NETWORK=isolated, the default) cannot reach this ` +
        "host's loopback. Let the mirror listen on a non-loopback address and use that, or set " +
        "WORKER_BUILD_NETWORK=host (unsafe: build hooks then reach every service on this host's " +
        'loopback, e.g. Redis).',
    );
  }
  const dns = config.buildDns ? undefined : egressDnsProblem(o.resolvConf, o.resolvedUpstream);
  if (dns !== undefined) {
    throw new BuildNetworkUnavailableError(
      `isolated builds (WORKER_BUILD_NETWORK=isolated, the default) could not resolve names: ` +
        `${dns}. Set WORKER_BUILD_DNS to nameservers builds may use (e.g. your network's ` +
        'resolvers), or WORKER_BUILD_NETWORK=host (unsafe).',
    );
  }
  const allows = await packageSourceAllows(sources);
  try {
    // As builds run: rootless (build-userns-check.ts checked the delegation first).
    await probeEgress({
      uid: 0,
      ...(config.buildSubids && { subids: config.buildSubids }),
      ...(o.slirpPath !== undefined && { slirpPath: o.slirpPath }),
    });
  } catch (err) {
    throw new BuildNetworkUnavailableError(
      `WORKER_BUILD_NETWORK=isolated (the default) needs slirp4netns: ${(err as Error).message}. ` +
        'Install it (apt-get install slirp4netns), or set WORKER_BUILD_NETWORK=host ' +
        "(unsafe: build hooks then reach every service on this host's loopback, e.g. Redis).",
      { cause: err },
    );
  }
  return allows;
}
