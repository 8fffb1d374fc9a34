/**
 * infra/docker/app.Dockerfile cannot be built here (no Docker engine): these checks read it — its
 * stages, what each runtime image installs and runs as, and that compose builds targets it has.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO } from './repo.js';

const dockerfile = readFileSync(join(REPO, 'infra/docker/app.Dockerfile'), 'utf8');

interface Stage {
  name: string;
  from: string;
  /** Instructions with continuation lines joined. */
  lines: string[];
}

function stages(text: string): Stage[] {
  const joined = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  const out: Stage[] = [];
  for (const line of joined) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) out.push({ name: from[2] ?? '', from: from[1]!, lines: [] });
    else out.at(-1)?.lines.push(line.trim());
  }
  return out;
}

const all = stages(dockerfile);
const stage = (name: string) => {
  const s = all.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
};
/** The stage and every stage it is built FROM, nearest first. */
const lineage = (name: string): Stage[] => {
  const s = stage(name);
  return all.some((x) => x.name === s.from) ? [s, ...lineage(s.from)] : [s];
};
const has = (name: string, re: RegExp) =>
  lineage(name).some((s) => s.lines.some((l) => re.test(l)));
const aptInstalls = (name: string) =>
  lineage(name)
    .flatMap((s) => s.lines)
    .filter((l) => l.includes('apt-get install'))
    .join(' ');

describe('infra/docker/app.Dockerfile', () => {
  it('has a runtime target per app on node:24-bookworm-slim (Node 24 LTS)', () => {
    for (const app of ['api', 'worker', 'agent', 'cli']) {
      expect(lineage(app).at(-1)!.from).toBe('${NODE_IMAGE}');
    }
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
  });

  it('builds only that app with turbo, from a lockfile install', () => {
    expect(has('source', /npm ci\b/)).toBe(true);
    expect(has('source', /--omit=dev/)).toBe(false);
    for (const app of ['api', 'worker', 'agent', 'cli']) {
      expect(stage(`build-${app}`).lines).toContain(`RUN sh infra/docker/build-app.sh ${app}`);
      expect(
        has(`prod-${app}`, new RegExp(`npm ci --omit=dev --workspace=@joblet/${app}\\b`)),
      ).toBe(true);
    }
    const script = readFileSync(join(REPO, 'infra/docker/build-app.sh'), 'utf8');
    expect(script).toContain('npx turbo run build --filter="@joblet/${app}"');
  });

  it('copies into each runtime image only its app: prod node_modules and dist', () => {
    for (const app of ['api', 'worker', 'agent']) {
      const copies = stage(app).lines.filter((l) => l.startsWith('COPY'));
      expect(copies).toEqual([
        `COPY --from=prod-${app} /src/node_modules ./node_modules`,
        `COPY --from=prod-${app} /src/apps/${app} ./apps/${app}`,
        `COPY --from=build-${app} /src/apps/${app}/dist ./apps/${app}/dist`,
      ]);
      // The agent runs with V8 flags that keep an idle agent small; the entry point is the same.
      expect(stage(app).lines.find((l) => l.startsWith('CMD ["node"'))).toMatch(
        /^CMD \["node", (.*, )?"dist\/index\.js"\]$/,
      );
    }
    for (const from of dockerfile.matchAll(/--from=(\S+)/g)) {
      expect(all.map((s) => s.name)).toContain(from[1]);
    }
  });

  it('runs the API unprivileged, and the worker and agent as root (namespaces need it)', () => {
    expect(stage('api').lines).toContain('USER node');
    expect(stage('cli').lines).toContain('USER node');
    for (const app of ['worker', 'agent']) {
      expect(lineage(app).some((s) => s.lines.some((l) => l.startsWith('USER')))).toBe(false);
    }
  });

  it('installs what builds and jobs need, and nothing of it in the API image', () => {
    for (const pkg of ['bubblewrap', 'debootstrap', 'zstd', 'tar', 'qemu-user-static']) {
      expect(aptInstalls('worker')).toMatch(new RegExp(`\\b${pkg}\\b`));
    }
    for (const pkg of ['bubblewrap', 'zstd', 'tar']) {
      expect(aptInstalls('agent')).toMatch(new RegExp(`\\b${pkg}\\b`));
    }
    expect(aptInstalls('agent')).not.toMatch(/debootstrap|qemu/);
    expect(aptInstalls('api')).not.toMatch(/bubblewrap|debootstrap|qemu/);
    // apt lists are removed in the same layer that fetched them.
    for (const line of all.flatMap((s) => s.lines).filter((l) => l.includes('apt-get install'))) {
      expect(line).toContain('rm -rf /var/lib/apt/lists/*');
      expect(line).toContain('--no-install-recommends');
    }
  });

  it('stops with SIGTERM through tini, which signals node only (so builds can drain)', () => {
    expect(has('worker', /^STOPSIGNAL SIGTERM$/)).toBe(true);
    expect(has('worker', /^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/)).toBe(true);
    expect(dockerfile).not.toMatch(/tini"?,\s*"-g"/);
  });

  it('is the Dockerfile compose builds, with targets it has', () => {
    const compose = parse(readFileSync(join(REPO, 'docker-compose.yml'), 'utf8'), {
      merge: true,
    }) as {
      services: Record<string, { build?: { dockerfile: string; target: string } }>;
    };
    const targets = Object.values(compose.services).flatMap((s) => (s.build ? [s.build] : []));
    expect(targets.length).toBeGreaterThanOrEqual(5);
    for (const t of targets) {
      expect(t.dockerfile).toBe('infra/docker/app.Dockerfile');
      expect(all.map((s) => s.name)).toContain(t.target);
    }
  });

  it('keeps node_modules, builds, caches and secrets out of the build context', () => {
    const ignore = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['**/node_modules', '**/dist', '**/.turbo', '.git', 'test/artifacts']) {
      expect(ignore).toContain(entry);
    }
    expect(ignore).toContain('.env');
  });
});
