/**
 * infra/prometheus and infra/grafana, checked by Prometheus's own tool: both scrape configs parse,
 * the alert rules load, and their unit tests (rules/joblet-alerts.test.yml) pass — each alert fires
 * on the data it is about and stays quiet on healthy data. The dashboard is well-formed for
 * import (its queries run against a real farm in test/e2e/prometheus.e2e.test.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO } from './repo.js';

const PROM = join(REPO, 'infra/prometheus');
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
if (!hasPromtool) console.warn('skipping: promtool (Debian package prometheus) is not installed');

const promtool = (...args: string[]) =>
  execFileSync('promtool', args, { cwd: PROM, encoding: 'utf8', stdio: 'pipe' });

interface Panel {
  id: number;
  title: string;
  datasource: { uid: string };
  targets: { refId: string; expr: string; datasource: { uid: string } }[];
}

describe.skipIf(!hasPromtool)('Prometheus config and alert rules', () => {
  it('both scrape configs are valid Prometheus configuration', () => {
    const out = promtool(
      'check',
      'config',
      '--syntax-only',
      'prometheus.yml',
      'prometheus-mtls.yml',
    );
    expect(out).toContain('SUCCESS: prometheus.yml');
    expect(out).toContain('SUCCESS: prometheus-mtls.yml');
  });

  it('the alert rules load, and each has a severity and a summary', () => {
    expect(promtool('check', 'rules', 'rules/joblet-alerts.yml')).toMatch(/SUCCESS: \d+ rules/);
    const doc = parse(readFileSync(join(PROM, 'rules/joblet-alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string; labels: { severity: string }; annotations: object }[] }[];
    };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'JobletBuildsFailing',
        'JobletBuildBacklogOld',
        'JobletNoBuildWorker',
        'JobletNodeOffline',
        'JobletRuntimeSyncFailing',
        'JobletNodeDiskLow',
        'JobletWorkerDiskLow',
        'JobletRedisUnavailable',
        'JobletJobStartSlow',
      ]),
    );
    for (const r of rules) {
      expect(['warning', 'critical'], r.alert).toContain(r.labels.severity);
      expect(r.annotations, r.alert).toHaveProperty('summary');
    }
  });

  it('every alert passes its promtool unit tests', () => {
    const r = spawnSync('promtool', ['test', 'rules', 'rules/joblet-alerts.test.yml'], {
      cwd: PROM,
      encoding: 'utf8',
    });
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.status).toBe(0);
    // Every alert of the rules file is exercised by at least one unit test.
    const tests = readFileSync(join(PROM, 'rules/joblet-alerts.test.yml'), 'utf8');
    const alerts = [
      ...readFileSync(join(PROM, 'rules/joblet-alerts.yml'), 'utf8').matchAll(/alert: (\w+)/g),
    ];
    for (const [, name] of alerts) expect(tests, name).toContain(`alertname: ${name}`);
  });
});

describe('Grafana dashboard', () => {
  const dash = JSON.parse(readFileSync(join(REPO, 'infra/grafana/joblet-farm.json'), 'utf8')) as {
    uid: string;
    __inputs: { name: string; pluginId: string }[];
    panels: Panel[];
  };

  it('imports with a Prometheus data source chosen at import, one id per panel', () => {
    expect(dash.uid).toBe('joblet-farm');
    expect(dash.__inputs).toEqual([
      expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' }),
    ]);
    expect(new Set(dash.panels.map((p) => p.id)).size).toBe(dash.panels.length);
    for (const p of dash.panels) {
      expect(p.datasource.uid, p.title).toBe('${DS_PROMETHEUS}');
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) expect(t.expr, p.title).toMatch(/joblet_/);
    }
  });
});
