/**
 * The install record: a small sidecar in `RUNTIMES_DIR/.state/` saying which artifact is in
 * `<name>/<version>/` (its tree hash, verified when it was extracted). It lets an agent — or a
 * second agent sharing the directory — see in one read that a runtime is installed and current,
 * without re-hashing the tree. It lives outside the tree: inside, it would change the tree hash.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { ArchName } from '@joblet/spec';
import type { RuntimeLayout } from './layout.js';

export const InstallRecord = z.object({
  name: z.string(),
  version: z.string(),
  arch: ArchName,
  treeHash: z.string(),
  /** sha256 of the archive it was extracted from. */
  sha256: z.string(),
  treeBytes: z.number().int().nonnegative(),
  installedAt: z.string(),
});
export type InstallRecord = z.infer<typeof InstallRecord>;

/** The record, or undefined when there is none or it is unreadable (then the tree is re-checked). */
export async function readInstallRecord(
  layout: RuntimeLayout,
  name: string,
  version: string,
): Promise<InstallRecord | undefined> {
  try {
    const parsed = InstallRecord.safeParse(
      JSON.parse(await readFile(layout.recordFile(name, version), 'utf8')),
    );
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the record atomically (temporary file + rename). */
export async function writeInstallRecord(layout: RuntimeLayout, rec: InstallRecord): Promise<void> {
  const path = layout.recordFile(rec.name, rec.version);
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, `${JSON.stringify(rec)}\n`, { mode: 0o644 });
  await rename(tmp, path);
}

export async function deleteInstallRecord(
  layout: RuntimeLayout,
  name: string,
  version: string,
): Promise<void> {
  await rm(layout.recordFile(name, version), { force: true });
}
