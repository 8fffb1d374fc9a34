/**
 * The package mirrors an operator hands to jobs (AGENT_JOB_PIP_INDEX_URL, AGENT_JOB_NPM_REGISTRY):
 * an air-gapped farm has a PyPI mirror and an npm registry on its LAN, and `rnx job run
 * --runtime=python-3.11 pip install requests` should use it without the job saying so.
 *
 * - Every job gets the client settings in its environment: `PIP_INDEX_URL` (plus
 *   `PIP_TRUSTED_HOST` for a plain-http index, which pip refuses otherwise) and
 *   `npm_config_registry`. A job's own `--env` wins over them.
 * - Jobs with a network that reaches out (`isolated`, `bridge`, custom) may reach each mirror's
 *   resolved address at its port only, although the egress policy refuses private ranges and this
 *   host's own addresses: the same exception the worker makes for its build package sources.
 *   Nothing else on the LAN becomes reachable; `none` jobs still reach nothing.
 * - `PIP_BREAK_SYSTEM_PACKAGES=1`: Debian's pythons carry PEP 668's EXTERNALLY-MANAGED marker, so
 *   pip refuses any install, `--user` included. What the marker guards (the distribution's own
 *   python, changed for good) cannot happen in a job: a runtime is mounted read-only (pip falls
 *   back to the user site under HOME=/work, thrown away with the job) and the default runtime's
 *   writable root is thrown away too.
 */
import { lookup } from 'node:dns/promises';
import type { EgressAllow } from '@joblet/spec';

export interface JobMirrors {
  /** AGENT_JOB_PIP_INDEX_URL: a PEP 503 "simple" index. */
  pipIndexUrl?: string;
  /** AGENT_JOB_NPM_REGISTRY. */
  npmRegistry?: string;
}

/** A mirror whose host name does not resolve at start-up (exit 78: fix the setting). */
export class JobMirrorError extends Error {
  override readonly name = 'JobMirrorError';
}

/** The environment every job gets from the operator (see the module comment). */
export function jobMirrorEnv(m: JobMirrors): Record<string, string> {
  const env: Record<string, string> = { PIP_BREAK_SYSTEM_PACKAGES: '1' };
  if (m.pipIndexUrl) {
    env.PIP_INDEX_URL = m.pipIndexUrl;
    if (m.pipIndexUrl.startsWith('http://')) env.PIP_TRUSTED_HOST = new URL(m.pipIndexUrl).host;
  }
  if (m.npmRegistry) env.npm_config_registry = m.npmRegistry;
  return env;
}

/**
 * address:port of each mirror, resolved once (at start-up), for the egress policy's exceptions.
 * @throws JobMirrorError naming the variable whose host does not resolve.
 */
export async function jobMirrorAllows(m: JobMirrors): Promise<EgressAllow[]> {
  const sources: [string, string | undefined][] = [
    ['AGENT_JOB_PIP_INDEX_URL', m.pipIndexUrl],
    ['AGENT_JOB_NPM_REGISTRY', m.npmRegistry],
  ];
  const out: EgressAllow[] = [];
  for (const [name, url] of sources) {
    if (!url) continue;
    const u = new URL(url);
    const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const addrs = await lookup(host, { all: true }).catch((err: Error) => {
      throw new JobMirrorError(`${name}=${url}: cannot resolve ${host}: ${err.message}`);
    });
    for (const a of addrs) out.push({ net: a.address, family: a.family === 6 ? 6 : 4, port });
  }
  return out;
}
