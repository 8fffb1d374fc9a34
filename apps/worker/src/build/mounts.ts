/**
 * Mounts made by a build child. The child runs in a private mount namespace (`unshare --mount
 * --propagation private`), so these mounts are invisible to the host and vanish with the child,
 * whatever way it ends; unmounting is a courtesy that lets the work dir be removed early.
 */
import { run } from '@joblet/sandbox';
import { BuildFailure } from './build-failure.js';

/** overlayfs option values are comma/colon separated: refuse paths that would break them. */
function overlayPath(p: string): string {
  if (!p.startsWith('/') || /[,:\\\s]/.test(p)) {
    throw new BuildFailure('INTERNAL', `path unusable in overlay options: ${JSON.stringify(p)}`);
  }
  return p;
}

async function mount(args: string[], what: string): Promise<void> {
  const r = await run('mount', args, { timeoutMs: 30_000 });
  if (r.code !== 0) {
    throw new BuildFailure('INTERNAL', `cannot mount ${what}: ${r.stderr.trim()}`, {
      retryable: true,
    });
  }
}

/** A writable overlay: `lowers` (top first, read-only) under `upper`, at `target`. */
export async function mountOverlay(o: {
  lowers: string[];
  upper: string;
  work: string;
  target: string;
}): Promise<void> {
  const lower = o.lowers.map(overlayPath).join(':');
  const opts = `lowerdir=${lower},upperdir=${overlayPath(o.upper)},workdir=${overlayPath(o.work)}`;
  await mount(['-t', 'overlay', 'overlay', '-o', opts, o.target], `overlay at ${o.target}`);
}

export async function unmount(target: string): Promise<void> {
  const r = await run('umount', [target], { timeoutMs: 30_000 });
  if (r.code !== 0) {
    throw new BuildFailure('INTERNAL', `cannot unmount ${target}: ${r.stderr.trim()}`, {
      retryable: true,
    });
  }
}
