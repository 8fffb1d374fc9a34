/**
 * arm64 on this amd64 host, the worker's part: its start-up check (refuses without a QEMU
 * binfmt_misc handler, registers one itself with WORKER_REGISTER_BINFMT=true), and one
 * submission for [amd64, arm64] by two in-process workers (one per arch pool) sharing a queue
 * prefix and a store where arm64 fails: nothing is published, or only amd64 with `allowPartial`.
 * A successful arm64 build — ELF headers, runtime.yml, installed by an arm64 agent, jobs printing
 * aarch64 — is test/e2e/arm64.e2e.test.ts (the run's one emulated build).
 */
import { existsSync } from 'node:fs';
import { withBinfmtHandlerDisabled } from '@joblet/sandbox/testing';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeIndexEntry } from '@joblet/spec';
import {
  ArchUnsupportedError,
  BINFMT_CONF_DIR,
  BINFMT_DIR,
  binfmtHandler,
  hostDebArch,
  registerQemuBinfmt,
  unregisterBinfmt,
} from '@joblet/sandbox';
import { indexKey } from '@joblet/storage';
import { readWorkerEnv } from '../env.js';
import { enqueueBuild, waitForEvent } from '../test-support/flow.js';
import {
  E2E_MISSING,
  doneEvent,
  pySpec,
  useWorkerFixture,
} from '../test-support/worker-fixture.js';
import { createWorker, type FarmWorker } from '../worker.js';

const HANDLER = 'qemu-aarch64';

/** What this host lacks for emulated arm64 builds (the tests skip, naming it). */
const MISSING = [
  ...E2E_MISSING,
  hostDebArch() !== 'amd64' && `an amd64 host (this one is ${hostDebArch()})`,
  !existsSync('/usr/bin/qemu-aarch64-static') &&
    'qemu-user-static (/usr/bin/qemu-aarch64-static; apt-get install qemu-user-static)',
  !existsSync(join(BINFMT_CONF_DIR, `${HANDLER}.conf`)) &&
    `${BINFMT_CONF_DIR}/${HANDLER}.conf (qemu-user-static)`,
  !existsSync(BINFMT_DIR) && `binfmt_misc (${BINFMT_DIR} does not exist in this kernel)`,
].filter((m): m is string => typeof m === 'string');
if (MISSING.length > 0) {
  console.warn(`arm64 e2e tests skipped: missing ${MISSING.join(', ')}`);
}

const BUILD_TIMEOUT_MS = 900_000;

/** Registers the handler unless someone already did; true when this call registered it. */
async function ensureHandler(): Promise<boolean> {
  if (binfmtHandler(HANDLER)?.flags.includes('F')) return false;
  await registerQemuBinfmt('arm64');
  return true;
}

describe.skipIf(MISSING.length > 0)('arm64 on an amd64 host', () => {
  describe('worker start-up check', () => {
    const env = (extra: Record<string, string> = {}) =>
      readWorkerEnv({
        WORKER_ARCH: 'arm64',
        QUEUE_PREFIX: 'arm64-startup-check',
        STORAGE_URL: 'file:///nonexistent-joblet-store',
        WORKER_NAME: 'arm64-startup',
        WORKER_PUBLISH: 'false',
        LOG_LEVEL: 'silent',
        ...extra,
      });

    it('refuses to start for arm64 without a usable binfmt_misc handler', async () => {
      // Where the host has the handler, it is disabled for this test only, then enabled again.
      const { result: err, wasEnabled } = await withBinfmtHandlerDisabled(HANDLER, () =>
        createWorker(env()).then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
      expect(err).toBeInstanceOf(ArchUnsupportedError);
      const message = (err as Error).message;
      expect(message).toContain('WORKER_ARCH=arm64');
      expect(message).toMatch(
        /binfmt_misc is not mounted|no binfmt_misc handler qemu-aarch64|handler qemu-aarch64 is disabled/,
      );
      expect(message).toContain('apt-get install qemu-user-static');
      expect(message).toContain('WORKER_REGISTER_BINFMT=true');
      // The refused worker registered (or enabled) nothing; the host's handler is as it was.
      expect(binfmtHandler(HANDLER)?.enabled ?? false).toBe(wasEnabled);
    });

    it('starts with WORKER_REGISTER_BINFMT=true (F flag) and unregisters at close', async () => {
      const before = binfmtHandler(HANDLER);
      const tmp = `/tmp/arm64-startup-${process.pid}`;
      const worker = await createWorker(
        env({
          WORKER_REGISTER_BINFMT: 'true',
          STORAGE_URL: `file://${tmp}/store`,
          WORKER_WORK_DIR: `${tmp}/work`,
        }),
      );
      try {
        expect(binfmtHandler(HANDLER)).toMatchObject({ enabled: true });
        expect(binfmtHandler(HANDLER)?.flags).toContain('F');
      } finally {
        await worker.close({ deadlineMs: 1000 });
        await rm(tmp, { recursive: true, force: true });
      }
      // Only what the worker registered itself is removed.
      expect(binfmtHandler(HANDLER) !== undefined).toBe(before !== undefined);
    });
  });

  describe('builds for [amd64, arm64] with one worker per arch', () => {
    // The fixture's worker is the amd64 pool (and publishes); an arm64 worker joins the same
    // queue prefix, store and work dir below.
    const fx = useWorkerFixture('arm64', { WORKER_ARCH: 'amd64' });
    let registered = false;
    let arm64: FarmWorker | undefined;

    const startArm64 = async () => {
      arm64 = await createWorker({
        ...fx.config,
        arch: 'arm64',
        name: 'e2e-worker-arm64',
        publish: false,
      });
    };
    beforeAll(async () => {
      registered = await ensureHandler();
      await startArm64();
    }, 60_000);
    afterAll(async () => {
      await arm64?.close({ deadlineMs: 5_000 });
      if (registered) await unregisterBinfmt(HANDLER);
    });

    /**
     * Submits for both arches. With `amd64First` the arm64 pool is stopped until amd64 succeeded,
     * so that a failing arm64 build really follows an amd64 success (not a canceled sibling).
     */
    const submit = async (spec: string, allowPartial = false, amd64First = false) => {
      if (amd64First) await arm64?.close({ deadlineMs: 5_000 });
      const b = await enqueueBuild(fx.redis, fx.prefix, spec, {
        arches: ['amd64', 'arm64'],
        attempts: 1,
        allowPartial,
      });
      if (amd64First) {
        await waitForEvent(
          fx.redis,
          fx.prefix,
          b.buildId,
          (e) => e.type === 'arch-succeeded' || e.type === 'done',
          BUILD_TIMEOUT_MS,
        );
        await startArm64();
      }
      const events = await waitForEvent(
        fx.redis,
        fx.prefix,
        b.buildId,
        (e) => e.type === 'done',
        BUILD_TIMEOUT_MS,
      );
      return { b, events };
    };

    // Fails only on arm64, after the packages are installed (so amd64 has long succeeded).
    const FAILS_ON_ARM64 = `hooks:
  post_install: |
    if [ "$ARCHITECTURE" = arm64 ]; then echo "no arm64 support in this runtime" >&2; exit 3; fi
`;

    it(
      'an arm64 failure with an amd64 success publishes nothing and names arm64',
      async () => {
        const { b, events } = await submit(
          pySpec(FAILS_ON_ARM64, '1.0.1', 'py-multiarch'),
          false,
          true,
        );
        const end = doneEvent(events);
        expect(end).toMatchObject({
          type: 'done',
          state: 'failed',
          error: { code: 'HOOK_FAILED' },
        });
        const message = end?.type === 'done' ? (end.error?.message ?? '') : '';
        expect(message).toMatch(/^arm64: /);
        expect(message).toMatch(/post_install/);
        expect(events.some((e) => e.type === 'arch-failed' && e.arch === 'arm64')).toBe(true);
        expect(events.some((e) => e.type === 'arch-succeeded' && e.arch === 'amd64')).toBe(true);
        await fx.expectNotPublished(b);
        await fx.expectNothingLeft(b.buildId);
      },
      BUILD_TIMEOUT_MS,
    );

    it(
      'with allowPartial the amd64 artifact is published alone',
      async () => {
        const { b, events } = await submit(
          pySpec(FAILS_ON_ARM64, '1.0.2', 'py-multiarch'),
          true,
          true,
        );
        expect(events.some((e) => e.type === 'arch-failed' && e.arch === 'arm64')).toBe(true);
        expect(events.some((e) => e.type === 'arch-succeeded' && e.arch === 'amd64')).toBe(true);
        expect(doneEvent(events)).toMatchObject({ type: 'done', state: 'succeeded' });
        const entry = RuntimeIndexEntry.parse(await fx.store.getJson(indexKey(b.name, b.version)));
        expect(Object.keys(entry.arches)).toEqual(['amd64']);
        expect(await fx.store.exists('runtimes/py-multiarch/1.0.2/arm64/manifest.json')).toBe(
          false,
        );
        await fx.expectNothingLeft(b.buildId);
      },
      BUILD_TIMEOUT_MS,
    );
  });
});
