/**
 * Steps 6–7: `pip install` and `npm install -g` inside the sandbox. The requirements come after
 * `--`, so none of them can be read as an option; the spec's `pip_options` (validated against an
 * allow-list) and the configured index/registry come before it.
 */
import { BuildFailure } from './build-failure.js';
import { packageFailure } from './classify.js';
import type { BuildContext } from './context.js';
import type { BuildSandbox } from './sandbox.js';

const INSTALL_TIMEOUT_MS = 30 * 60_000;

export function pipInstallArgs(ctx: Pick<BuildContext, 'spec' | 'config'>): string[] {
  const { spec, config } = ctx;
  return [
    'python3',
    '-m',
    'pip',
    'install',
    '--break-system-packages',
    '--root-user-action=ignore',
    '--no-input',
    '--disable-pip-version-check',
    '--progress-bar=off',
    ...(config.pipIndexUrl ? ['--index-url', config.pipIndexUrl] : []),
    ...trustedHost(config.pipIndexUrl),
    ...(spec.pip_options ?? []),
    '--',
    ...(spec.pip ?? []),
  ];
}

/**
 * `--trusted-host` for an operator's plain-http index: pip only accepts http from localhost, and
 * isolated builds cannot reach the host's loopback, so a local mirror listens on another address.
 * The operator chose http for it; a spec's own `--index-url` gets no such pass.
 */
function trustedHost(indexUrl: string | undefined): string[] {
  if (!indexUrl?.startsWith('http://')) return [];
  return ['--trusted-host', new URL(indexUrl).host];
}

export async function pipInstall(ctx: BuildContext, sandbox: BuildSandbox): Promise<void> {
  const argv = pipInstallArgs(ctx);
  ctx.report.system(`pip install ${(ctx.spec.pip ?? []).join(' ')}`);
  const r = await sandbox.run(argv, { timeoutMs: INSTALL_TIMEOUT_MS });
  if (ctx.signal.aborted) return;
  if (r.code !== 0 || r.timedOut) {
    const failure = packageFailure('pip', 'pip install', r);
    throw (await indexOutage(ctx, failure)) ?? failure;
  }
}

/** The index pip used: the spec's last `--index-url`, else BUILD_PIP_INDEX_URL, else PyPI. */
export function pipIndexUrl(ctx: Pick<BuildContext, 'spec' | 'config'>): string {
  const fromSpec = (ctx.spec.pip_options ?? [])
    .filter((o) => o.startsWith('--index-url='))
    .map((o) => o.slice('--index-url='.length))
    .pop();
  return fromSpec ?? ctx.config.pipIndexUrl ?? 'https://pypi.org/simple/';
}

/**
 * pip reports an index answering 5xx (or not at all, with --retries=0) exactly like a package
 * that does not exist: "No matching distribution found". Asking the index for the project page
 * tells the two apart, so an outage is retried instead of failing the build for good.
 */
async function indexOutage(
  ctx: BuildContext,
  failure: BuildFailure,
): Promise<BuildFailure | undefined> {
  const m = /no distribution of "([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(failure.message);
  if (failure.retryable || !m?.[1]) return undefined;
  const project = m[1].toLowerCase().replace(/[-_.]+/g, '-');
  const base = pipIndexUrl(ctx);
  const url = `${base.endsWith('/') ? base : `${base}/`}${project}/`;
  let status: string | undefined;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
    await res.body?.cancel();
    if (res.status >= 500) status = `HTTP ${res.status}`;
  } catch (err) {
    status = (err as Error).message;
  }
  if (status === undefined) return undefined;
  return new BuildFailure(
    'PACKAGE_INSTALL_FAILED',
    `pip install: the package index ${base} is unavailable (${status})`,
    { details: failure.opts.details, retryable: true },
  );
}

export function npmInstallArgs(ctx: Pick<BuildContext, 'spec' | 'config'>): string[] {
  const { spec, config } = ctx;
  return [
    'npm',
    'install',
    '-g',
    '--no-audit',
    '--no-fund',
    '--no-update-notifier',
    ...(config.npmRegistry ? ['--registry', config.npmRegistry] : []),
    '--',
    ...(spec.npm ?? []),
  ];
}

export async function npmInstall(ctx: BuildContext, sandbox: BuildSandbox): Promise<void> {
  ctx.report.system(`npm install -g ${(ctx.spec.npm ?? []).join(' ')}`);
  const r = await sandbox.run(npmInstallArgs(ctx), { timeoutMs: INSTALL_TIMEOUT_MS });
  if (ctx.signal.aborted) return;
  if (r.code !== 0 || r.timedOut) throw packageFailure('npm', 'npm install -g', r);
}
