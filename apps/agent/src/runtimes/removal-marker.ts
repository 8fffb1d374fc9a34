/**
 * The "removal pending" marker (`.state/<name>@<version>.removing`): written when a removal is
 * deferred by live leases, so no new lease is given out meanwhile (otherwise a busy runtime could
 * never be removed); deleted when the runtime is removed or installed again.
 */
import { rm, writeFile } from 'node:fs/promises';
import type { RuntimeLayout } from './layout.js';

export async function markRemoving(
  layout: RuntimeLayout,
  name: string,
  version: string,
): Promise<void> {
  await writeFile(layout.removingMarker(name, version), `${new Date().toISOString()}\n`);
}

export async function clearRemoving(
  layout: RuntimeLayout,
  name: string,
  version: string,
): Promise<void> {
  await rm(layout.removingMarker(name, version), { force: true });
}
