/**
 * One arch's build, step by step (ARCHITECTURE.md, "Builds"), each step a numbered phase. Runs in
 * the build child, inside its private mount namespace. Whatever happens, the `finally` kills and
 * removes the build's cgroup, unmounts and removes its work dir.
 */
import { CgroupManager, type Cgroup } from '@joblet/sandbox';
import { FALLBACK_MIRROR, hostAptMirror } from '../base-root/index.js';
import { removeTree, unmountUnder } from '@joblet/artifact';
import {
  findCatalogEntry,
  formatDiagnostic,
  validateRuntimeSpec,
  type ArtifactInfo,
} from '@joblet/spec';
import { createArtifactStore } from '@joblet/storage';
import type { Logger } from '@joblet/logging';
import { aptInstall, aptPackages, aptUpdate, listsAreFresh } from './apt.step.js';
import { prepareLanguageLayer } from './language-layer.step.js';
import {
  checkLibraries,
  makeRuntimeYml,
  presentDirs,
  prune,
  resolvedPackages,
} from './assemble.step.js';
import { prepareBaseRoot, rootlessBaseRoot } from './base-root.step.js';
import { BuildFailure } from './build-failure.js';
import { attestRuntime } from './attest.step.js';
import { aptAdmission, npmAdmission } from './cache-verify.js';
import { promoteNewFiles } from './caches.js';
import { Reporter, type BuildContext } from './context.js';
import { runHook } from './hooks.step.js';
import { installToolchain, linkCommands } from './toolchain.step.js';
import { packRuntime, uploadArtifact } from './package.step.js';
import type { PhaseId } from './phases.js';
import { npmInstall, pipInstall } from './pip-npm.step.js';
import type { ChildMessage, StartMessage } from './protocol.js';
import { BUILD_CGROUP_NAMESPACE, prepareSandbox } from './sandbox-setup.js';
import { createWorkDir } from './work-dir.js';

export async function runBuild(
  start: StartMessage,
  send: (m: ChildMessage) => void,
  signal: AbortSignal,
  log: Logger,
): Promise<ArtifactInfo> {
  const { job, config } = start;
  const report = new Reporter(send);
  const startedOn = new Date();
  const checked = validateRuntimeSpec(job.specText, {
    catalog: config.catalog,
    catalogMode: 'server',
  });
  const entry = checked.spec
    ? findCatalogEntry(config.catalog, checked.spec.base.language, checked.spec.base.version)
    : undefined;
  if (!checked.ok || !checked.spec || !entry) {
    throw new BuildFailure('INVALID_SPEC', 'runtime.yaml is invalid', {
      details: checked.errors.map(formatDiagnostic).join('\n'),
    });
  }
  const mirror =
    entry.mirror ??
    config.aptMirror ??
    (await hostAptMirror({ arch: config.arch })) ??
    FALLBACK_MIRROR;
  const store = createArtifactStore(config.storageUrl, {
    accessKey: config.storageAccessKey,
    secretKey: config.storageSecretKey,
  });
  const wd = await createWorkDir(config.workDir, job.buildId, config.arch, config.buildSubids);
  const ctx: BuildContext = {
    ...start,
    spec: checked.spec,
    entry,
    mirror,
    store,
    wd,
    signal,
    report,
    log,
  };
  let cgroup: Cgroup | undefined;
  const phase = (id: PhaseId) => {
    signal.throwIfAborted();
    report.phase(id);
  };
  try {
    phase('baseRoot');
    const base = await prepareBaseRoot(ctx);
    // Rootless: what the sandbox's root may change is owned by its host id range.
    const baseRoot = await rootlessBaseRoot(ctx, base);

    phase('sandbox');
    const cgroups = await CgroupManager.detect({ namespace: BUILD_CGROUP_NAMESPACE });
    const sb = await prepareSandbox(ctx, cgroups, baseRoot, (cg) => (cgroup = cg));
    // Shared lists and layers are pruned once no build can still be using them.
    const keepMs = (config.buildTimeoutS + 3600) * 1000;

    phase('aptUpdate');
    let listsDir: string | undefined;
    if (await listsAreFresh(ctx, sb.caches, sb.sourcesHash)) {
      report.system('package lists are fresh (under an hour old, same sources): no apt-get update');
      listsDir = (await sb.caches.currentLists())?.dir;
    } else {
      await aptUpdate(ctx, sb.sandbox);
      signal.throwIfAborted();
      // Published now, before any code of the spec ran, so shared lists only ever come from apt.
      listsDir = await sb.caches
        .publishLists(sb.cacheMounts.lists.merged, sb.sourcesHash, keepMs)
        .catch((err: unknown) => {
          log.warn({ err }, 'cannot publish package lists');
          return undefined;
        });
    }

    phase('languageLayer');
    const root = await prepareLanguageLayer(ctx, sb, baseRoot, listsDir);
    await installToolchain(ctx, sb.sandbox);
    await linkCommands(ctx, sb.sandbox);

    phase('preInstall');
    if (ctx.spec.hooks?.pre_install) {
      await runHook(ctx, sb.sandbox, 'pre_install', ctx.spec.hooks.pre_install);
    } else report.system('no pre_install hook');

    phase('aptInstall');
    const extra = aptPackages(ctx).filter((p) => !root.layered || !entry.packages.includes(p));
    if (extra.length > 0) {
      await aptInstall(ctx, sb.sandbox, extra);
      // Shared only what the trusted lists vouch for (cache-verify.ts), whatever ran before.
      const lists = listsDir === undefined ? undefined : sb.caches.listsPath(listsDir);
      await promoteNewFiles(
        sb.cacheMounts.archives.upper,
        sb.caches.archivesDir,
        aptAdmission(lists),
        config.buildSubids.first,
      );
    } else report.system('no other system packages');

    phase('pip');
    if ((ctx.spec.pip?.length ?? 0) > 0) {
      await pipInstall(ctx, sb.sandbox); // pip's cache stays private (cache-verify.ts)
    } else report.system('no pip packages');

    phase('npm');
    if ((ctx.spec.npm?.length ?? 0) > 0) {
      await npmInstall(ctx, sb.sandbox);
      await promoteNewFiles(
        sb.cacheMounts.npm.upper,
        sb.caches.npmDir,
        npmAdmission,
        config.buildSubids.first,
      );
    } else report.system('no npm packages');

    phase('postInstall');
    if (ctx.spec.hooks?.post_install)
      await runHook(ctx, sb.sandbox, 'post_install', ctx.spec.hooks.post_install);
    else report.system('no post_install hook');

    phase('assemble');
    await prune(ctx, sb.bare);
    signal.throwIfAborted();
    await checkLibraries(ctx, wd.merged);
    const resolved = await resolvedPackages(ctx, sb.bare);
    const builtAt = new Date();
    const runtimeYml = makeRuntimeYml(ctx, resolved, await presentDirs(ctx, wd.merged), builtAt);
    report.system(
      `resolved ${resolved.system.length} system, ${resolved.pip.length} pip, ${resolved.npm.length} npm packages`,
    );
    // Nothing runs in the sandbox any more: drop the writable mounts before packing.
    await sb.cgroup.kill();
    await unmountUnder(wd.caches);
    await unmountUnder(wd.merged);

    phase('pack');
    const packed = await packRuntime(ctx, root.lowers, runtimeYml);

    const attestations = await attestRuntime(ctx, { packed, base, resolved, startedOn, builtAt });

    phase('upload');
    return await uploadArtifact(ctx, packed, runtimeYml, builtAt, attestations);
  } finally {
    await cleanup(ctx, cgroup);
    await store.close().catch(() => undefined);
  }
}

async function cleanup(ctx: BuildContext, cgroup: Cgroup | undefined): Promise<void> {
  try {
    await cgroup?.destroy();
  } catch (err) {
    ctx.log.warn({ err }, 'cannot destroy build cgroup');
  }
  try {
    await removeTree(ctx.wd.path); // unmounts first
  } catch (err) {
    ctx.log.warn({ err, dir: ctx.wd.path }, 'cannot remove work dir');
  }
}
