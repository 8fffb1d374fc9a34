/**
 * Steps 4 and 8: the spec's hooks, inside the sandbox (never on the host), as `sh -ec SCRIPT`
 * with RUNTIME_NAME, RUNTIME_VERSION and ARCHITECTURE, under the spec's `hooks.timeout`. A hook
 * that fails or runs out of time fails the build at once (no retry: it would fail again).
 */
import { DEFAULT_HOOK_TIMEOUT_S, parseDuration } from '@joblet/spec';
import { BuildFailure, outputTail } from './build-failure.js';
import type { BuildContext } from './context.js';
import type { BuildSandbox } from './sandbox.js';

export type HookName = 'pre_install' | 'post_install';

/** `hooks.timeout` in seconds (validated by the spec; the default when absent). */
export function hookTimeoutS(ctx: Pick<BuildContext, 'spec'>): number {
  const t = ctx.spec.hooks?.timeout;
  return (t !== undefined ? parseDuration(t) : undefined) ?? DEFAULT_HOOK_TIMEOUT_S;
}

export function hookEnv(ctx: Pick<BuildContext, 'spec' | 'config'>): Record<string, string> {
  return {
    RUNTIME_NAME: ctx.spec.name,
    RUNTIME_VERSION: ctx.spec.version,
    ARCHITECTURE: ctx.config.arch,
  };
}

export async function runHook(
  ctx: BuildContext,
  sandbox: BuildSandbox,
  hook: HookName,
  script: string,
): Promise<void> {
  const timeoutS = hookTimeoutS(ctx);
  ctx.report.system(`running ${hook} hook (timeout ${timeoutS}s)`);
  const r = await sandbox.run(['/bin/sh', '-ec', script, hook], {
    env: hookEnv(ctx),
    timeoutMs: timeoutS * 1000,
  });
  if (ctx.signal.aborted) return;
  const details = outputTail(`${r.stdout}\n${r.stderr}`);
  if (r.timedOut) {
    throw new BuildFailure(
      'HOOK_TIMEOUT',
      `${hook} hook exceeded its timeout of ${timeoutS}s and was killed`,
      { details },
    );
  }
  if (r.code !== 0) {
    const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
    const last = details.split('\n').filter(Boolean).pop();
    throw new BuildFailure('HOOK_FAILED', `${hook} hook ${how}${last ? `: ${last}` : ''}`, {
      details,
    });
  }
}
