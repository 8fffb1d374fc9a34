/**
 * The probe ELF per arch, reading `e_machine`, and the start-up check's answers: nothing to do for
 * the host's arch; for a foreign arch without a QEMU handler a refusal worded for the daemon that
 * asks (its variables, the fix). Registering the handler for real is covered by the worker's and
 * the agent's arm64 tests.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Arch } from '@joblet/spec';
import { ArchUnsupportedError, ensureArchSupport } from './arch-support.js';
import { ELF_MACHINE, PROBE_EXIT_CODE, elfMachine, probeElf, readElfMachine } from './elf.js';
import { hostDebArch, qemuBinfmtName } from './host-probe.js';
import { cleanupTemps, tempDir, withBinfmtHandlerDisabled } from './testing.js';

afterAll(cleanupTemps);

const host = hostDebArch() as Arch;
const foreign: Arch = host === 'amd64' ? 'arm64' : 'amd64';
const daemon = {
  role: 'agent',
  archVariable: 'AGENT_ARCH',
  registerVariable: 'AGENT_REGISTER_BINFMT',
  purpose: `run ${foreign} jobs`,
};

describe('probe ELF', () => {
  it('is a tiny static ELF per arch with its e_machine', () => {
    expect(elfMachine(probeElf('arm64'))).toBe(0xb7);
    expect(elfMachine(probeElf('amd64'))).toBe(0x3e);
    expect(probeElf('arm64')).toHaveLength(132);
    expect(ELF_MACHINE).toEqual({ amd64: 0x3e, arm64: 0xb7 });
    expect(elfMachine(Buffer.from('#!/bin/sh\n'))).toBeUndefined();
  });

  it('runs natively and exits with the probe code; its header reads back from disk', async () => {
    const file = join(tempDir('arch-probe'), 'probe');
    writeFileSync(file, probeElf(host));
    chmodSync(file, 0o755);
    expect(spawnSync(file).status).toBe(PROBE_EXIT_CODE);
    expect(await readElfMachine(file)).toBe(ELF_MACHINE[host]);
    expect(await readElfMachine(process.execPath)).toBe(ELF_MACHINE[host]);
  });
});

describe('ensureArchSupport', () => {
  it('needs nothing for the host arch', async () => {
    const s = await ensureArchSupport({
      arch: host,
      daemon,
      registerBinfmt: false,
      probeDir: '/nonexistent',
    });
    expect(s.native).toBe(true);
  });

  it('refuses a foreign arch without a usable handler, worded for the daemon that asks', async () => {
    const name = qemuBinfmtName(foreign);
    // Where the host has the handler, it is disabled for this test only (no other test of this
    // package runs foreign code).
    const { result: err } = await withBinfmtHandlerDisabled(name, () =>
      ensureArchSupport({
        arch: foreign,
        daemon,
        registerBinfmt: false,
        probeDir: tempDir('arch-probe'),
      }).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(err).toBeInstanceOf(ArchUnsupportedError);
    const message = (err as Error).message;
    expect(message).toContain(
      `this agent (AGENT_ARCH=${foreign}) cannot execute ${foreign} binaries`,
    );
    expect(message).toMatch(
      new RegExp(
        `binfmt_misc is not mounted|no binfmt_misc handler ${name}|handler ${name} is disabled`,
      ),
    );
    expect(message).toContain(`to run ${foreign} jobs on this ${host} host`);
    expect(message).toContain('apt-get install qemu-user-static');
    expect(message).toContain('AGENT_REGISTER_BINFMT=true');
  });
});
