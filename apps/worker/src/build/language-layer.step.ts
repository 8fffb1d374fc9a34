/**
 * Step 4: the language packages of the catalog entry, from the shared layer of this host when
 * it has one for the current package lists, else installed now (in the preparation root, before
 * any code of the spec runs) and published as that layer. Then the build's own root is mounted
 * on top of it.
 */
import { aptInstall } from './apt.step.js';
import { aptAdmission } from './cache-verify.js';
import { promoteNewFiles } from './caches.js';
import type { BuildContext } from './context.js';
import { unmount } from './mounts.js';
import { PackageLayers } from './package-layer.js';
import { mountBuildRoot, type PreparedSandbox } from './sandbox-setup.js';

export interface BuildRoot {
  /** Read-only layers under the build's upper, top first. */
  lowers: string[];
  /** True when the catalog's packages are in `lowers` already. */
  layered: boolean;
}

export async function prepareLanguageLayer(
  ctx: BuildContext,
  sb: PreparedSandbox,
  baseRoot: string,
  listsDir: string | undefined,
): Promise<BuildRoot> {
  const { config, entry, report, wd } = ctx;
  if (listsDir === undefined) {
    report.system('no shared package lists: language packages are installed with the others');
    await unmount(wd.merged);
    await mountBuildRoot(ctx, [baseRoot]);
    return { lowers: [baseRoot], layered: false };
  }
  const layers = new PackageLayers(config.cacheDir, entry.suite, config.arch, config.buildSubids);
  const key = PackageLayers.key({
    sourcesHash: sb.sourcesHash,
    listsDir,
    packages: entry.packages,
  });
  let layer = await layers.get(key);
  if (layer) {
    report.system(`language packages: shared layer ${key} (${entry.packages.join(' ')})`);
    await unmount(wd.merged);
  } else {
    report.system(`language packages: installing them into a new shared layer ${key}`);
    await aptInstall(ctx, sb.sandbox, [...entry.packages]);
    ctx.signal.throwIfAborted();
    await promoteNewFiles(
      sb.cacheMounts.archives.upper,
      sb.caches.archivesDir,
      aptAdmission(sb.caches.listsPath(listsDir)),
      config.buildSubids.first,
    );
    await unmount(wd.merged);
    try {
      await layers.publish(key, wd.prepUpper);
      layer = await layers.get(key);
    } catch (err) {
      ctx.log.warn({ err }, 'cannot publish language layer; using it for this build only');
    }
  }
  await layers
    .prune(key, (config.buildTimeoutS + 3600) * 1000)
    .catch((err: unknown) => ctx.log.warn({ err }, 'cannot prune language layers'));
  const lowers = [layer ?? wd.prepUpper, baseRoot];
  await mountBuildRoot(ctx, lowers);
  return { lowers, layered: true };
}
