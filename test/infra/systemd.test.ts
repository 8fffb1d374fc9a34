/**
 * infra/systemd: units that systemd accepts (`systemd-analyze verify`), example env files that
 * document exactly what each app reads, and stop timeouts that let a worker drain.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, appEnvKeys, durationS, hasCommand, type App } from './repo.js';

const DIR = join(REPO, 'infra/systemd');
const UNITS = {
  api: 'joblet-api.service',
  worker: 'joblet-worker@.service',
  agent: 'joblet-agent.service',
} as const;

/** `Key=value` lines of a unit's [Service] section; repeated keys keep every value. */
function serviceSection(file: string): Map<string, string[]> {
  const text = readFileSync(join(DIR, file), 'utf8');
  const section = text.split(/^\[Service\]$/m)[1]!.split(/^\[/m)[0]!;
  const out = new Map<string, string[]>();
  for (const m of section.matchAll(/^([A-Za-z]+)=(.*)$/gm)) {
    out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}
const one = (s: Map<string, string[]>, key: string) => s.get(key)?.at(-1);

/** The `KEY=` names an example env file sets or shows commented out (`# KEY=`). */
function documentedKeys(file: string): string[] {
  const text = readFileSync(join(DIR, file), 'utf8');
  return [...text.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
}

describe('systemd units', () => {
  const hasAnalyze = hasCommand('systemd-analyze');
  const tmp = mkdtempSync(join(tmpdir(), 'units-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it.skipIf(!hasAnalyze)('pass `systemd-analyze verify` without a single warning', () => {
    // A template is verified through an instance of it.
    const files = [
      [UNITS.api, 'joblet-api.service'],
      [UNITS.agent, 'joblet-agent.service'],
      [UNITS.worker, 'joblet-worker@arm64.service'],
    ].map(([src, dst]) => {
      copyFileSync(join(DIR, src!), join(tmp, dst!));
      return join(tmp, dst!);
    });
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8' });
    // verify exits 0 even for unknown keys or bad values: any line naming our files is a defect.
    const about = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes(tmp));
    expect(about).toEqual([]);
    expect(r.status).toBe(0);
  });

  it.skipIf(!hasAnalyze)('keep the API well hardened (systemd-analyze security)', () => {
    copyFileSync(join(DIR, UNITS.api), join(tmp, 'joblet-api.service'));
    const r = spawnSync(
      'systemd-analyze',
      ['security', '--offline=yes', join(tmp, 'joblet-api.service')],
      { encoding: 'utf8' },
    );
    const level = /Overall exposure level for joblet-api\.service: ([\d.]+)/.exec(r.stdout);
    expect(level, r.stdout + r.stderr).not.toBeNull();
    expect(Number(level![1])).toBeLessThan(2.5);
  });

  it('read /etc/joblet-farm/<app>.env, restart on failure and stop with SIGTERM', () => {
    for (const [app, file] of Object.entries(UNITS)) {
      const s = serviceSection(file);
      expect(s.get('EnvironmentFile')).toContain(`/etc/joblet-farm/${app}.env`);
      expect(one(s, 'Restart')).toBe('on-failure');
      expect(one(s, 'KillSignal')).toBe('SIGTERM');
      expect(one(s, 'ExecStart')).toMatch(
        new RegExp(`^/usr/bin/node (--[\\w=-]+ )*/opt/joblet-farm/apps/${app}/dist/index\\.js$`),
      );
    }
  });

  it('run the API unprivileged and sandboxed', () => {
    const s = serviceSection(UNITS.api);
    expect(one(s, 'User')).toBe('joblet-farm');
    for (const [k, v] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['PrivateTmp', 'yes'],
      ['CapabilityBoundingSet', ''],
    ]) {
      expect(one(s, k!), k).toBe(v);
    }
    expect(one(s, 'ReadWritePaths')).toBeDefined();
  });

  it('let the worker drain: SIGTERM to the main process only, and time to finish', () => {
    const s = serviceSection(UNITS.worker);
    expect(s.get('Environment')).toContain('WORKER_ARCH=%i');
    expect(one(s, 'KillMode')).toBe('mixed');
    expect(one(s, 'Delegate')).toBe('yes');
    const example = readFileSync(join(DIR, 'worker.env.example'), 'utf8');
    const drain = Number(/^WORKER_SHUTDOWN_TIMEOUT_S=(\d+)$/m.exec(example)![1]);
    // After the drain the worker hands builds back and exits within 90 s (its index.ts).
    expect(durationS(one(s, 'TimeoutStopSec')!)).toBeGreaterThan(drain + 90);
    // Directives that would break bubblewrap, debootstrap or cgroups are absent.
    for (const k of ['ProtectControlGroups', 'RestrictNamespaces', 'PrivateDevices']) {
      expect(s.has(k), k).toBe(false);
    }
    const agent = serviceSection(UNITS.agent);
    expect(one(agent, 'KillMode')).toBe('mixed');
    expect(one(agent, 'Delegate')).toBe('yes');
    expect(s.has('ProtectControlGroups') || agent.has('ProtectControlGroups')).toBe(false);
  });
});

describe('example env files', () => {
  it.each(['api', 'worker', 'agent'] as App[])(
    '%s.env.example documents every variable the app reads, and no other',
    (app) => {
      const reads = appEnvKeys(app);
      const documented = documentedKeys(`${app}.env.example`);
      expect(
        reads.filter((k) => !documented.includes(k)),
        'missing',
      ).toEqual([]);
      expect(
        documented.filter((k) => !reads.includes(k)),
        'not read by the app',
      ).toEqual([]);
    },
  );

  it('never set a variable to an empty value (the API rejects some empty strings)', () => {
    for (const app of ['api', 'worker', 'agent']) {
      const text = readFileSync(join(DIR, `${app}.env.example`), 'utf8');
      expect(text.match(/^[A-Z][A-Z0-9_]*=$/gm), app).toBeNull();
    }
  });
});
