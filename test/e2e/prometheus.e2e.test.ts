/**
 * Prometheus for real: a farm started by `rnx farm up`, scraped by Debian's Prometheus with the
 * shipped scrape config (infra/prometheus/prometheus.yml: a reader token from `rnx token create`)
 * and the shipped alert rules, after the farm did real work (the default runtime built on first
 * use, installed on the node, a job run in it). Then every query of the Grafana dashboard runs
 * against that Prometheus and answers, the rules evaluate without error, and `promtool check
 * metrics` finds nothing to lint in the farm's exposition.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { freePort } from '@joblet/testkit';
import { farmForSuite } from './farm-fixture.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;
if (!hasPrometheus)
  console.warn('skipping: prometheus (Debian package prometheus) is not installed');

/** Series that exist only once something failed: a healthy farm has their metadata, not samples. */
const ON_FAILURE_ONLY = ['joblet_runtime_sync_failures_total'];

interface QueryResult {
  status: string;
  error?: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe.skipIf(!hasPrometheus)('Prometheus scraping a farm with the shipped config', () => {
  const farm = farmForSuite();
  let prom: ChildProcess | undefined;
  let promUrl = '';
  let token = '';

  const query = async (expr: string): Promise<QueryResult> => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await res.json()) as QueryResult;
  };
  const waitFor = async (what: string, ok: () => Promise<boolean>, ms = 120_000) => {
    const until = Date.now() + ms;
    while (!(await ok().catch(() => false))) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await delay(500);
    }
  };

  beforeAll(async () => {
    const created = await farm().rnx(['token', 'create', '--role', 'reader', '--ttl', '1d', '-q']);
    expect(created.code, created.stderr).toBe(0);
    token = created.stdout.trim();
    const dir = join(farm().tmp.path, 'prometheus');
    await mkdir(join(dir, 'data'), { recursive: true });
    await writeFile(join(dir, 'reader.token'), token, { mode: 0o600 });
    // The shipped config, pointed at this farm and its token, scraping every second.
    const config = parse(readFileSync(join(REPO, 'infra/prometheus/prometheus.yml'), 'utf8')) as {
      global: Record<string, string>;
      rule_files: string[];
      scrape_configs: {
        authorization: { credentials_file: string };
        static_configs: { targets: string[] }[];
      }[];
    };
    config.global = { scrape_interval: '1s', evaluation_interval: '1s' };
    config.rule_files = config.rule_files.map((f) => join(REPO, 'infra/prometheus', f));
    const job = config.scrape_configs[0]!;
    job.authorization.credentials_file = join(dir, 'reader.token');
    job.static_configs = [{ targets: [new URL(farm().url).host] }];
    await writeFile(join(dir, 'prometheus.yml'), stringify(config));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    await waitFor('prometheus to be ready', async () => (await fetch(`${promUrl}/-/ready`)).ok);
  }, 180_000);

  afterAll(async () => {
    if (prom?.exitCode === null) {
      prom.kill('SIGTERM');
      await new Promise((r) => prom!.once('exit', r));
    }
  }, 60_000);

  it('scrapes the farm with the reader token after it built, installed and ran something', async () => {
    // Real work: the default runtime is built on first use, installed, and the job runs in it.
    const run = await farm().rnx(['job', 'run', 'echo scraped'], { timeoutMs: 1_200_000 });
    expect(run.stdout).toBe('scraped\n');
    expect(run.code).toBe(0);
    await waitFor('the scrape to be up', async () => {
      const r = await query('up{job="joblet-api"}');
      return r.data.result[0]?.value[1] === '1';
    });
    await waitFor('the finished job in Prometheus', async () => {
      const r = await query('sum(joblet_jobs_finished_total)');
      return Number(r.data.result[0]?.value[1] ?? 0) >= 1;
    });
  }, 1_500_000);

  it('answers every query of the Grafana dashboard with data', async () => {
    const dash = JSON.parse(readFileSync(join(REPO, 'infra/grafana/joblet-farm.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const meta = (await (await fetch(`${promUrl}/api/v1/metadata`)).json()) as {
      data: Record<string, unknown>;
    };
    /** What is wrong with each query now: an error, or no data where the farm's work made some. */
    const problems = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const panel of dash.panels) {
        for (const { expr } of panel.targets) {
          // Grafana's range variable, as Grafana fills it in for a 1 s scrape interval.
          const r = await query(expr.replaceAll('$__rate_interval', '1m'));
          const names = [...expr.matchAll(/\b(joblet_[a-z_]+?)(?:_bucket)?\b/g)].map((m) => m[1]!);
          if (r.status !== 'success') out.push(`${panel.title}: ${expr}: ${r.error}`);
          else if (names.some((n) => ON_FAILURE_ONLY.includes(n)))
            out.push(...names.filter((n) => !(n in meta.data)).map((n) => `${n}: no metadata`));
          else if (r.data.result.length === 0) out.push(`${panel.title}: ${expr}: no data`);
        }
      }
      return out;
    };
    // Rates need two scrapes after the work: give the 1 s scrape a minute to have them.
    let left = await problems();
    for (const until = Date.now() + 60_000; left.length > 0 && Date.now() < until;) {
      await delay(1_000);
      left = await problems();
    }
    expect(left).toEqual([]);
  }, 120_000);

  it('evaluates every shipped alert rule without error', async () => {
    await waitFor('a rule evaluation', async () => {
      const res = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
        data: { groups: { rules: { lastEvaluation: string }[] }[] };
      };
      return res.data.groups[0]!.rules.every((r) => !r.lastEvaluation.startsWith('0001'));
    });
    const res = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const rules = res.data.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(10);
    for (const r of rules) expect(r.health, `${r.name}: ${r.lastError}`).toBe('ok');
  });

  it('exposes metrics that pass promtool’s naming lint', async () => {
    const res = await fetch(`${farm().url}/metrics`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const lint = spawnSync('promtool', ['check', 'metrics'], {
      input: await res.text(),
      encoding: 'utf8',
    });
    // promtool prints one line per problem; the farm's own series must have none.
    const problems = (lint.stdout + lint.stderr).split('\n').filter((l) => l.startsWith('joblet_'));
    expect(problems).toEqual([]);
  });
});
