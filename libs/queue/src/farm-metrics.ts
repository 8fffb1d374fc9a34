/**
 * The farm-wide metrics that live in Redis (so every API replica, worker and agent adds to the
 * same numbers): their names, label names and buckets — the only place they are spelled.
 * The API renders them on `/metrics` (`renderRedisMetrics`).
 */

/**
 * Histogram buckets in seconds, fixed for every farm histogram so that series from different
 * processes and versions always add up: 5 ms (a job start) to one hour (a cold build phase).
 */
export const FARM_BUCKETS_S = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
] as const;

interface MetricDef<L extends string> {
  help: string;
  labels: readonly L[];
}

/** Counters: only ever incremented (`incrementCounter`). */
export const FARM_COUNTERS = {
  joblet_builds_total: {
    help: 'Per-architecture parts of builds that reached a final state, by arch and result (succeeded, failed, canceled, cached).',
    labels: ['arch', 'result'],
  },
  joblet_build_cache_hits_total: {
    help: 'Build submissions answered from a published artifact without building.',
    labels: [],
  },
  joblet_jobs_finished_total: {
    help: 'Jobs that reached a final state, by state (COMPLETED, FAILED, STOPPED, CANCELED).',
    labels: ['state'],
  },
  joblet_runtime_sync_failures_total: {
    help: 'Runtime installs that failed on a node, by node.',
    labels: ['node'],
  },
} as const satisfies Record<string, MetricDef<string>>;

/** Histograms in seconds over {@link FARM_BUCKETS_S} (`observeHistogram`). */
export const FARM_HISTOGRAMS = {
  joblet_build_phase_duration_seconds: {
    help: 'Duration of one build phase on one architecture (phase = the worker’s phase id).',
    labels: ['arch', 'phase'],
  },
  joblet_runtime_sync_duration_seconds: {
    help: 'Time for a node to download, verify, extract and install one runtime.',
    labels: ['node'],
  },
  joblet_job_start_latency_seconds: {
    help: 'Time from job submission to its process starting in the sandbox.',
    labels: [],
  },
} as const satisfies Record<string, MetricDef<string>>;

export type FarmCounterName = keyof typeof FARM_COUNTERS;
export type FarmHistogramName = keyof typeof FARM_HISTOGRAMS;

/** The label set a metric takes: exactly its declared label names, string values. */
export type LabelsOf<D extends { labels: readonly string[] }> = {
  [K in D['labels'][number]]: string;
};
export type CounterLabels<N extends FarmCounterName> = LabelsOf<(typeof FARM_COUNTERS)[N]>;
export type HistogramLabels<N extends FarmHistogramName> = LabelsOf<(typeof FARM_HISTOGRAMS)[N]>;

/** Prometheus label value escaping: backslash, double quote and newline. */
function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * `a="x",b="y"` in the metric's declared label order — the canonical form used both as the Redis
 * field and, unchanged, in the exposition text. Missing labels are empty strings.
 */
export function labelText(names: readonly string[], labels: Record<string, string>): string {
  return names.map((n) => `${n}="${escapeLabelValue(labels[n] ?? '')}"`).join(',');
}

/** Index of the bucket an observation falls in (`value <= le`), or -1 for +Inf only. */
export function bucketIndex(seconds: number): number {
  return FARM_BUCKETS_S.findIndex((le) => seconds <= le);
}
