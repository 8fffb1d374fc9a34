/**
 * The guide's openjdk-17 (platforms ubuntu-amd64 and ubuntu-arm64) on the single-machine farm of
 * `rnx farm up`, which has an amd64 build pool only, through the real `rnx`: the build publishes
 * amd64 and says plainly that arm64 was skipped and how to get it; the build record and
 * `rnx runtime info`/`list` show amd64 only; a second build answers cached and says the same;
 * `--arch amd64,arm64` keeps the all-or-nothing rule (exit 1, nothing built).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { farmForSuite } from './farm-fixture.js';

const OPENJDK = fileURLToPath(new URL('../../examples/openjdk-17', import.meta.url));

describe('platforms the farm has no pool for', () => {
  const farm = farmForSuite();

  it('builds the pools it has, names the platform it skipped and how to get it', async () => {
    const r = await farm().rnx(['runtime', 'build', OPENJDK], { timeoutMs: 1_200_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Building openjdk-17 1.0.0 for amd64');
    expect(r.stdout).toMatch(
      /! arm64 skipped: this farm has no arm64 build pool; .*WORKER_ARCH=arm64/,
    );
    expect(r.stdout).toContain('openjdk-17 1.0.0 published for amd64 (skipped: arm64)');
    expect(r.code).toBe(0);

    const id = /\(build ([0-9a-f-]{36})/.exec(r.stdout)![1]!;
    const status = await farm().rnx(['build', 'status', id]);
    expect(status.stdout).toContain('amd64: succeeded');
    expect(status.stdout).toMatch(/arm64: skipped — this farm has no arm64 build pool/);

    const info = await farm().rnx(['runtime', 'info', 'openjdk-17']);
    expect(info.stdout).toContain('Architectures: amd64\n');
    const list = await farm().rnx(['runtime', 'list']);
    // Joblet's columns: RUNTIME VERSION TYPE SIZE DESCRIPTION (the arches are in `info` above).
    expect(list.stdout).toMatch(/^openjdk-17\s+1\.0\.0\s+java:17\s+\d+[KMG]?B\s+OpenJDK 17/m);

    const again = await farm().rnx(['runtime', 'build', OPENJDK]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('openjdk-17 1.0.0 is cached');
    expect(again.stdout).toContain('! arm64 skipped: this farm has no arm64 build pool');
  }, 1_300_000);

  it('--arch naming an arch without a pool builds nothing and fails', async () => {
    const r = await farm().rnx(['runtime', 'build', '--arch', 'amd64,arm64', '--force', OPENJDK]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('400: this farm has no build pool for arm64 (pools: amd64)');
    const builds = await farm().rnx(['build', 'list']);
    expect(builds.stdout.match(/openjdk-17/g)).toHaveLength(1);
  }, 300_000);
});
