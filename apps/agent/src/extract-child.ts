/**
 * The extraction child (`dist/extract-child.js`): one download+extraction per process, so the
 * agent's own event loop only relays a message and its memory stays at its idle footprint (the
 * archive's buffers, the tar listing and the tree hash all live and die here). It gets its request
 * and the store's credentials over the IPC channel, never through its environment, answers with
 * one ExtractOutcome message and exits.
 *
 * It dies with the agent: when the IPC channel closes before it answered (the agent exited or was
 * SIGKILLed), the extraction is aborted (safeExtract removes its staging) and a tree already
 * extracted is removed, since nobody will rename it into place. SIGTERM aborts likewise.
 */
import { removeTree } from '@joblet/artifact';
import { createArtifactStore } from '@joblet/storage';
import { ChildStart, runExtract, type ExtractOutcome } from './runtimes/extract-job.js';

const abort = new AbortController();
let answered = false;
process.once('SIGTERM', () => abort.abort(new Error('stopped')));
process.once('disconnect', () => {
  if (!answered) abort.abort(new Error('the agent is gone'));
});

function reply(outcome: ExtractOutcome): void {
  answered = true;
  process.send?.(outcome, () => process.disconnect?.());
}

process.once('message', (raw: unknown) => {
  const start = ChildStart.safeParse(raw);
  if (!start.success) {
    reply({ ok: false, error: { source: 'other', code: 'BAD_REQUEST', message: 'bad request' } });
    return;
  }
  const { request, storageUrl, accessKey, secretKey } = start.data;
  const store = createArtifactStore(storageUrl, {
    ...(accessKey !== undefined && { accessKey }),
    ...(secretKey !== undefined && { secretKey }),
  });
  void (async () => {
    let outcome = await runExtract(store, request, abort.signal);
    await store.close().catch(() => undefined);
    if (abort.signal.aborted && outcome.ok) {
      // Finished just as it was stopped: nobody will rename this tree into place.
      await removeTree(request.dest);
      outcome = {
        ok: false,
        error: { source: 'extract', code: 'EXTRACT_ABORTED', message: 'extraction aborted' },
      };
    }
    if (process.connected) reply(outcome);
    else process.exit(1);
  })();
});
