/**
 * Failing builds end to end: each ends as it should (code, message, the failing command's output,
 * no retry for what a retry cannot fix) and leaves nothing behind: no work dir, mount, cgroup,
 * staging object, artifact or index entry.
 */
import { describe, expect, it } from 'vitest';
import { BuildStore, Keys } from '@joblet/queue';
import { uniqueName } from '@joblet/testkit';
import { createWorker } from '../worker.js';
import { cancelBuild, enqueueBuild, logLines, waitForEvent } from '../test-support/flow.js';
import {
  E2E_MISSING,
  doneEvent,
  pySpec,
  useWorkerFixture,
} from '../test-support/worker-fixture.js';

describe.skipIf(E2E_MISSING.length > 0)('failing builds', () => {
  const fx = useWorkerFixture('wkf');

  it('fails at once with HOOK_FAILED and the hook output in the log', async () => {
    const { b, events } = await fx.run(
      pySpec(
        `hooks:
  pre_install: |
    echo "about to fail on purpose"
    false
    echo "never printed"
`,
        '1.0.4',
      ),
      { attempts: 3, verbose: false },
    );
    const end = doneEvent(events);
    expect(end).toMatchObject({ type: 'done', state: 'failed', error: { code: 'HOOK_FAILED' } });
    expect(end?.type === 'done' && end.error?.message).toMatch(
      /pre_install hook exited with code 1/,
    );
    expect(logLines(events)).toContain('about to fail on purpose');
    expect(logLines(events)).not.toContain('never printed');
    expect(events.filter((e) => e.type === 'arch-retry')).toEqual([]);
    await fx.expectNothingLeft(b.buildId);
    await fx.expectNotPublished(b);
  });

  it('fails with PACKAGE_INSTALL_FAILED naming a package that does not exist', async () => {
    const { b, events } = await fx.run(pySpec('apt: [joblet-no-such-package]\n', '1.0.1'), {
      attempts: 3,
    });
    const end = doneEvent(events);
    expect(end).toMatchObject({ state: 'failed', error: { code: 'PACKAGE_INSTALL_FAILED' } });
    expect(end?.type === 'done' && end.error?.message).toContain('joblet-no-such-package');
    expect(events.filter((e) => e.type === 'arch-retry')).toEqual([]);
    await fx.expectNothingLeft(b.buildId);
    await fx.expectNotPublished(b);
  });

  it('fails with INVALID_SPEC when a libraries pattern matches no file', async () => {
    const { b, events } = await fx.run(
      pySpec('libraries: ["libexpat*", "libjobletnothing*"]\n', '1.0.8'),
      {
        attempts: 3,
      },
    );
    const end = doneEvent(events);
    expect(end).toMatchObject({ state: 'failed', error: { code: 'INVALID_SPEC' } });
    expect(end?.type === 'done' && end.error?.message).toMatch(
      /^libraries: "libjobletnothing\*" matched no file in \/usr\/lib\/x86_64-linux-gnu, .*add the Debian package/,
    );
    await fx.expectNothingLeft(b.buildId);
    await fx.expectNotPublished(b);
  });

  it('kills a hook that exceeds its timeout: HOOK_TIMEOUT', async () => {
    const started = Date.now();
    const { b, events } = await fx.run(
      pySpec(
        `hooks:
  timeout: 2s
  pre_install: |
    sleep 300 &
    sleep 300
`,
        '1.0.5',
      ),
    );
    expect(Date.now() - started).toBeLessThan(60_000);
    const end = doneEvent(events);
    expect(end).toMatchObject({ state: 'failed', error: { code: 'HOOK_TIMEOUT' } });
    expect(end?.type === 'done' && end.error?.message).toBe(
      'pre_install hook exceeded its timeout of 2s and was killed',
    );
    await fx.expectNothingLeft(b.buildId);
    await fx.expectNotPublished(b);
  });

  it('stops a build that exceeds WORKER_BUILD_TIMEOUT_S: BUILD_TIMEOUT, no retry', async () => {
    const p2 = uniqueName('wkto');
    fx.prefixes.push(p2);
    const short = await createWorker({
      ...fx.config,
      queuePrefix: p2,
      name: 'e2e-timeout-worker',
      buildTimeoutS: 3,
    });
    try {
      const b = await enqueueBuild(
        fx.redis,
        p2,
        pySpec('hooks:\n  pre_install: sleep 300\n', '1.0.7'),
        {
          attempts: 3,
        },
      );
      const events = await waitForEvent(fx.redis, p2, b.buildId, undefined, 60_000);
      expect(doneEvent(events)).toMatchObject({
        state: 'failed',
        error: {
          code: 'BUILD_TIMEOUT',
          message: 'the build exceeded WORKER_BUILD_TIMEOUT_S (3s) and was killed',
        },
      });
      expect(events.filter((e) => e.type === 'arch-retry')).toEqual([]);
      await fx.expectNothingLeft(b.buildId);
    } finally {
      await short.close({ deadlineMs: 1_000 });
    }
  });

  it('cancels a running build: the sandbox is killed, the arch CANCELED', async () => {
    const b = await enqueueBuild(
      fx.redis,
      fx.prefix,
      pySpec(
        `hooks:
  pre_install: sleep 300
`,
        '1.0.2',
      ),
    );
    await waitForEvent(
      fx.redis,
      fx.prefix,
      b.buildId,
      (e) => e.type === 'phase' && e.name === 'Running pre_install hook',
    );
    await new Promise((r) => setTimeout(r, 500));
    await cancelBuild(fx.redis, fx.prefix, b.buildId);
    const events = await waitForEvent(
      fx.redis,
      fx.prefix,
      b.buildId,
      (e) => e.type === 'arch-canceled',
      60_000,
    );
    expect(events.filter((e) => e.type === 'done')).toEqual([
      expect.objectContaining({ state: 'canceled' }),
    ]);
    // The job is done with once the worker no longer runs it.
    for (let i = 0; i < 100 && fx.worker.runningBuilds().length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const record = await new BuildStore(fx.redis, new Keys(fx.prefix)).get(b.buildId);
    expect(record?.state).toBe('canceled');
    expect(record?.archStatus.amd64?.state).toBe('canceled');
    await fx.expectNothingLeft(b.buildId);
    await fx.expectNotPublished(b);
  });
});
