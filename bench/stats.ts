/** Percentiles over samples in milliseconds, rounded to microseconds. */
export function percentiles(samples: number[]): {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
} {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => round(s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN);
  return {
    n: s.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: round(s[s.length - 1] ?? NaN),
  };
}

export function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Times `fn` `n` times after `warmup` untimed calls; returns per-call milliseconds. */
export function sample(fn: () => unknown, n: number, warmup = Math.min(200, n)): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    fn();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}
