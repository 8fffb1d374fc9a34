/**
 * `rnx farm up --arch`: the list is checked (names, the host's arch in it, the host's first), and
 * a foreign arch's QEMU handler is registered by the farm when missing and removed again — on
 * this host's real binfmt_misc.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BINFMT_CONF_DIR,
  BINFMT_DIR,
  binfmtHandler,
  hostDebArch,
  isRoot,
  qemuBinfmtName,
} from '@joblet/sandbox';
import { UsageError } from '../errors.js';
import { parseFarmArches, planForeignArch, registerForeignArches } from './farm-arches.js';

describe('parseFarmArches', () => {
  it('puts the host first and drops repeats and blanks', () => {
    expect(parseFarmArches('amd64', 'amd64')).toEqual(['amd64']);
    expect(parseFarmArches('arm64, amd64,arm64,', 'amd64')).toEqual(['amd64', 'arm64']);
    expect(parseFarmArches('amd64,arm64', 'arm64')).toEqual(['arm64', 'amd64']);
  });

  it('names an unknown arch and the ones there are', () => {
    expect(() => parseFarmArches('amd64,x86', 'amd64')).toThrow(UsageError);
    expect(() => parseFarmArches('amd64,x86', 'amd64')).toThrow(
      '--arch "x86": not an architecture (amd64, arm64)',
    );
  });

  it("refuses a list without the host's arch, saying what to write", () => {
    expect(() => parseFarmArches('arm64', 'amd64')).toThrow(
      "--arch arm64: the list must include this host's amd64 (its worker signs and publishes, " +
        "its node is this machine's own): --arch amd64,arm64",
    );
  });
});

const FOREIGN = hostDebArch() === 'amd64' ? 'arm64' : 'amd64';
const HANDLER = qemuBinfmtName(FOREIGN);
const MISSING = [
  !isRoot() && 'root',
  !existsSync(BINFMT_DIR) && BINFMT_DIR,
  !existsSync(join(BINFMT_CONF_DIR, `${HANDLER}.conf`)) && `qemu-user-static (${HANDLER}.conf)`,
].filter((m): m is string => typeof m === 'string');
if (MISSING.length > 0)
  console.warn(`foreign-arch registration skipped: missing ${MISSING.join(', ')}`);

describe.skipIf(MISSING.length > 0)(`a foreign arch (${FOREIGN}) on this host`, () => {
  it('registers the missing handler with the F flag, and removes exactly that again', async () => {
    const before = binfmtHandler(HANDLER);
    expect(planForeignArch(FOREIGN)).toBe(before ? 'registered' : 'register');
    const release = await registerForeignArches([FOREIGN]);
    try {
      const h = binfmtHandler(HANDLER);
      expect(h?.enabled).toBe(true);
      expect(h?.flags).toContain('F');
      expect(planForeignArch(FOREIGN)).toBe('registered');
      // A second farm finds it registered and will not remove it.
      const second = await registerForeignArches([FOREIGN]);
      await second();
      expect(binfmtHandler(HANDLER)).toBeDefined();
    } finally {
      await release();
    }
    expect(binfmtHandler(HANDLER) !== undefined).toBe(before !== undefined);
  });
});
