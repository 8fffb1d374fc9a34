import { spawnSync } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostDebArch } from '@joblet/sandbox';
import type { Arch } from '@joblet/spec';
import { makeTempDir } from '@joblet/testkit';
import {
  ELF_MACHINE,
  PROBE_EXIT_CODE,
  elfMachine,
  ensureArchSupport,
  probeElf,
} from './arch-check.js';

describe('arch probe', () => {
  it('builds a tiny static ELF per arch with its e_machine', () => {
    expect(elfMachine(probeElf('arm64'))).toBe(0xb7);
    expect(elfMachine(probeElf('amd64'))).toBe(0x3e);
    expect(probeElf('arm64')).toHaveLength(132);
    expect(ELF_MACHINE).toEqual({ amd64: 0x3e, arm64: 0xb7 });
    expect(elfMachine(Buffer.from('#!/bin/sh\n'))).toBeUndefined();
  });

  it('runs natively and exits with the probe code', async () => {
    const tmp = await makeTempDir('arch-probe');
    try {
      const file = join(tmp.path, 'probe');
      await writeFile(file, probeElf(hostDebArch() as Arch));
      await chmod(file, 0o755);
      expect(spawnSync(file).status).toBe(PROBE_EXIT_CODE);
    } finally {
      await tmp.cleanup();
    }
  });

  it('needs nothing for the host arch', async () => {
    const s = await ensureArchSupport({
      arch: hostDebArch() as Arch,
      registerBinfmt: false,
      probeDir: '/nonexistent',
    });
    expect(s.native).toBe(true);
  });
});
