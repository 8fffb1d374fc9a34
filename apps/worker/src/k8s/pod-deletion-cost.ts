/**
 * Scale-in that spares busy workers, on Kubernetes: while it builds, a worker pod carries the
 * annotation `controller.kubernetes.io/pod-deletion-cost` = 1000 × its running builds (0 when
 * idle), so when KEDA's HPA lowers the replica count the ReplicaSet deletes an idle pod first
 * (https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/#pod-deletion-cost).
 * Chosen over a KEDA ScaledJob per build because workers keep their base-root and package caches
 * warm between builds; the cost is best-effort (a pod may still be evicted by a node drain, when
 * the worker drains within terminationGracePeriodSeconds).
 *
 * Active when the pod's name and namespace are given (WORKER_POD_NAME, WORKER_POD_NAMESPACE from
 * the downward API) and the pod's service account token is mounted; it patches its own pod
 * through the API server with that token (RBAC: `patch` on pods, infra/k8s/30-worker-rbac.yaml).
 */
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { Logger } from '@joblet/logging';

export const DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface PodDeletionCostOptions {
  pod: string;
  namespace: string;
  /** The builds this worker runs now. */
  running: () => number;
  log: Logger;
  /** The API server (default: the in-cluster one from KUBERNETES_SERVICE_HOST/PORT). */
  apiServer?: string;
  /** Default: the pod's service account token and CA. */
  tokenFile?: string;
  caFile?: string;
  /** How often the count is looked at (ms); default 2000. */
  intervalMs?: number;
}

/** The cost of a pod running `builds` builds. */
export const deletionCost = (builds: number): number => builds * 1000;

/** PATCHes the pod's annotation (a JSON merge patch); throws on a non-2xx answer. */
function patchCost(o: PodDeletionCostOptions, cost: number): Promise<void> {
  const server = new URL(
    o.apiServer ??
      `https://${process.env.KUBERNETES_SERVICE_HOST}:${process.env.KUBERNETES_SERVICE_PORT ?? 443}`,
  );
  const body = JSON.stringify({
    metadata: { annotations: { [DELETION_COST_ANNOTATION]: String(cost) } },
  });
  const token = readFileSync(o.tokenFile ?? `${SA_DIR}/token`, 'utf8').trim();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname: server.hostname,
        port: server.port,
        method: 'PATCH',
        path: `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods/${encodeURIComponent(o.pod)}`,
        ca: readFileSync(o.caFile ?? `${SA_DIR}/ca.crt`),
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/merge-patch+json',
          'content-length': Buffer.byteLength(body),
        },
        timeout: 10_000,
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          (res.statusCode ?? 0) < 300
            ? resolve()
            : reject(
                new Error(
                  `PATCH pod ${o.namespace}/${o.pod}: ${res.statusCode} ${text.slice(0, 200)}`,
                ),
              ),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('the API server did not answer within 10 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Keeps the pod's deletion cost in step with its running builds; returns a function that stops
 * (and sets the cost back to 0, so a draining pod is not kept over an idle one).
 */
export function keepPodDeletionCost(o: PodDeletionCostOptions): () => Promise<void> {
  const tokenFile = o.tokenFile ?? `${SA_DIR}/token`;
  if (!existsSync(tokenFile)) {
    o.log.warn(
      { tokenFile },
      'no service account token: the pod deletion cost is not kept (a scale-in may pick a busy worker)',
    );
    return () => Promise.resolve();
  }
  /** The cost last asked for (set, or on its way); undefined after a failure, to try again. */
  let wanted: number | undefined;
  let pending: Promise<void> = Promise.resolve();
  const update = (cost: number) => {
    if (cost === wanted) return pending;
    wanted = cost;
    pending = pending.then(() =>
      patchCost(o, cost).catch((err: unknown) => {
        if (wanted === cost) wanted = undefined;
        o.log.warn({ err, cost }, 'could not set the pod deletion cost');
      }),
    );
    return pending;
  };
  const timer = setInterval(() => void update(deletionCost(o.running())), o.intervalMs ?? 2000);
  timer.unref();
  void update(deletionCost(o.running()));
  return async () => {
    clearInterval(timer);
    await update(0);
  };
}
