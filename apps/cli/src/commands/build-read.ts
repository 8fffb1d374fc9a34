/** `rnx build list`, `rnx build status <id>`, `rnx build logs [-f] <id>`, `rnx build cancel <id>`. */
import { BuildRecord, ListBuildsResponse } from '@joblet/spec';
import type { ApiClient } from '../api-client.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import { table } from '../render/format.js';
import { followBuild } from './runtime-build.js';

export async function buildList(
  client: ApiClient,
  opts: { json?: boolean; limit?: number },
  io: Io,
): Promise<number> {
  const { builds } = await client.get(`/v1/builds?limit=${opts.limit ?? 20}`, ListBuildsResponse);
  if (opts.json) {
    io.out(JSON.stringify(builds, null, 2));
    return EXIT.OK;
  }
  const rows = builds.map((b) => [
    b.id,
    `${b.name}@${b.version}`,
    b.arches.map((a) => `${a}:${b.archStatus[a]?.state ?? '?'}`).join(' '),
    b.state,
    b.createdAt,
  ]);
  for (const l of table([['BUILD', 'RUNTIME', 'ARCHES', 'STATE', 'SUBMITTED'], ...rows])) io.out(l);
  io.out(`Total builds: ${builds.length}`);
  return EXIT.OK;
}

export async function buildStatus(
  client: ApiClient,
  id: string,
  opts: { json?: boolean },
  io: Io,
): Promise<number> {
  const b = await client.get(`/v1/builds/${encodeURIComponent(id)}`, BuildRecord);
  if (opts.json) {
    io.out(JSON.stringify(b, null, 2));
  } else {
    io.out(`Build ${b.id}: ${b.name}@${b.version} ${b.state}`);
    for (const a of b.arches) {
      const s = b.archStatus[a];
      const phase = s?.phase ? ` [${s.phase.n}/${s.phase.total}] ${s.phase.name}` : '';
      const err = s?.error ? ` — ${s.error.code}: ${s.error.message}` : '';
      io.out(`  ${a}: ${s?.state ?? 'unknown'}${phase}${err}`);
    }
  }
  return b.state === 'failed' || b.state === 'canceled' ? EXIT.FAILED : EXIT.OK;
}

export async function buildLogs(
  client: ApiClient,
  id: string,
  opts: { verbose?: boolean; interactive?: boolean },
  io: Io,
): Promise<number> {
  return followBuild(
    client,
    id,
    { verbose: opts.verbose ?? true, interactive: opts.interactive },
    io,
  );
}

export async function buildCancel(client: ApiClient, id: string, io: Io): Promise<number> {
  const b = await client.post(`/v1/builds/${encodeURIComponent(id)}/cancel`, {}, BuildRecord);
  io.out(`Build ${b.id}: ${b.state}`);
  return EXIT.OK;
}
