/**
 * Farm-wide counters and histograms kept in Redis hashes under the farm prefix, so that the API's
 * replicas, the workers and the agents all add to the same series and any API replica can expose
 * them on `/metrics`. Writes are one round trip (HINCRBY / a MULTI); cardinality is bounded by the
 * label values (architectures × phases, node names, states).
 */
import type { RedisClient } from './connection.js';
import { FINAL_JOB_STATES, JOB_STATES } from '@joblet/spec';
import {
  FARM_BUCKETS_S,
  FARM_COUNTERS,
  FARM_HISTOGRAMS,
  bucketIndex,
  labelText,
  type CounterLabels,
  type FarmCounterName,
  type FarmHistogramName,
  type HistogramLabels,
} from './farm-metrics.js';
import type { Keys } from './names.js';

/** The Redis field of a counter series: `name{labels}`, or `name` without labels. */
export function counterField(name: FarmCounterName, labels: Record<string, string>): string {
  const text = labelText(FARM_COUNTERS[name].labels, labels);
  return text ? `${name}{${text}}` : name;
}

/**
 * Adds `by` to a farm counter, e.g.
 * `incrementCounter(redis, keys, 'joblet_runtime_sync_failures_total', { node: 'n1' })`.
 */
export async function incrementCounter<N extends FarmCounterName>(
  redis: RedisClient,
  keys: Keys,
  name: N,
  labels: CounterLabels<N>,
  by = 1,
): Promise<void> {
  await redis.hincrby(keys.metricCounters, counterField(name, labels), by);
}

/**
 * Records one observation of `seconds` in a farm histogram (one MULTI: bucket, count, sum), e.g.
 * `observeHistogram(redis, keys, 'joblet_build_phase_duration_seconds', { arch: 'amd64', phase: 'pip' }, 12.5)`.
 * Negative or non-finite values are ignored: a clock step must not poison the series.
 */
export async function observeHistogram<N extends FarmHistogramName>(
  redis: RedisClient,
  keys: Keys,
  name: N,
  labels: HistogramLabels<N>,
  seconds: number,
): Promise<void> {
  if (!Number.isFinite(seconds) || seconds < 0) return;
  const series = labelText(FARM_HISTOGRAMS[name].labels, labels);
  const i = bucketIndex(seconds);
  const key = keys.metricHistogram(name);
  const m = redis.multi();
  if (i >= 0) m.hincrby(key, `${series}|${i}`, 1);
  await m.hincrby(key, `${series}|count`, 1).hincrbyfloat(key, `${series}|sum`, seconds).exec();
}

function help(lines: string[], name: string, type: string, text: string): void {
  lines.push(`# HELP ${name} ${text}`, `# TYPE ${name} ${type}`);
}

function withLe(series: string, le: string): string {
  return series ? `{${series},le="${le}"}` : `{le="${le}"}`;
}

/** Prometheus text of one histogram from its hash fields. */
export function renderHistogram(name: FarmHistogramName, fields: Record<string, string>): string[] {
  const bySeries = new Map<string, Map<string, number>>();
  for (const [field, value] of Object.entries(fields)) {
    const cut = field.lastIndexOf('|');
    if (cut < 0) continue;
    const series = field.slice(0, cut);
    let m = bySeries.get(series);
    if (!m) bySeries.set(series, (m = new Map<string, number>()));
    m.set(field.slice(cut + 1), Number(value));
  }
  const lines: string[] = [];
  help(lines, name, 'histogram', FARM_HISTOGRAMS[name].help);
  for (const series of [...bySeries.keys()].sort()) {
    const m = bySeries.get(series)!;
    let cumulative = 0;
    FARM_BUCKETS_S.forEach((le, i) => {
      cumulative += m.get(String(i)) ?? 0;
      lines.push(`${name}_bucket${withLe(series, String(le))} ${cumulative}`);
    });
    const count = m.get('count') ?? 0;
    const braces = series ? `{${series}}` : '';
    lines.push(`${name}_bucket${withLe(series, '+Inf')} ${count}`);
    lines.push(`${name}_sum${braces} ${m.get('sum') ?? 0}`);
    lines.push(`${name}_count${braces} ${count}`);
  }
  return lines;
}

/** Prometheus text of the farm counters; counters never written are shown as 0 when unlabelled. */
export function renderCounters(fields: Record<string, string>): string[] {
  const lines: string[] = [];
  for (const [name, def] of Object.entries(FARM_COUNTERS)) {
    help(lines, name, 'counter', def.help);
    const series = Object.keys(fields)
      .filter((f) => f === name || f.startsWith(`${name}{`))
      .sort();
    if (series.length === 0 && def.labels.length === 0) lines.push(`${name} 0`);
    for (const f of series) lines.push(`${f} ${Number(fields[f])}`);
  }
  return lines;
}

/** `joblet_jobs{state}`: jobs in each non-final state now (final ones are counters). */
export function renderJobStates(fields: Record<string, string>): string[] {
  const lines: string[] = [];
  help(lines, 'joblet_jobs', 'gauge', 'Jobs in each non-final state now.');
  for (const state of JOB_STATES) {
    if (FINAL_JOB_STATES.includes(state)) continue;
    // A record that predates the counters can push one below zero: never show a negative count.
    lines.push(`joblet_jobs{state="${state}"} ${Math.max(0, Number(fields[state] ?? 0))}`);
  }
  return lines;
}

/** Every Redis-kept farm metric as Prometheus exposition text (one pipeline round trip). */
export async function renderRedisMetrics(redis: RedisClient, keys: Keys): Promise<string> {
  const names = Object.keys(FARM_HISTOGRAMS) as FarmHistogramName[];
  const p = redis.pipeline();
  p.hgetall(keys.metricCounters);
  p.hgetall(keys.jobStateCounts);
  for (const n of names) p.hgetall(keys.metricHistogram(n));
  const res = (await p.exec()) ?? [];
  const hash = (i: number): Record<string, string> => {
    const [err, value] = res[i] ?? [null, {}];
    if (err) throw err;
    return (value ?? {}) as Record<string, string>;
  };
  const lines = [...renderCounters(hash(0)), ...renderJobStates(hash(1))];
  names.forEach((n, i) => lines.push(...renderHistogram(n, hash(i + 2))));
  return `${lines.join('\n')}\n`;
}
