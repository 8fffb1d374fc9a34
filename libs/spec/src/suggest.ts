/**
 * "Did you mean" hints. Candidates are compared case-insensitively with `_` and `-` ignored, so
 * `Pip_Options`, `pip-options` and `pipoptions` all find `pip_options`; a swap of two adjacent
 * letters (`pyhton`) counts as one edit.
 */

/** Other names people use for allowed values; suggested when they are among the candidates. */
const ALIASES: Readonly<Record<string, string>> = {
  x86_64: 'amd64',
  x64: 'amd64',
  aarch64: 'arm64',
  python3: 'python',
  nodejs: 'node',
  golang: 'go',
  openjdk: 'java',
  jdk: 'java',
};

function normalize(s: string): string {
  return s.toLowerCase().replace(/[-_]/g, '');
}

/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), giving up with
 * `max + 1` once the distance must exceed `max`.
 */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, (prev2[j - 2] ?? 0) + 1);
      }
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length] ?? max + 1;
}

/**
 * The candidate closest to `input`, if it is close enough to be a plausible typo: at most a third
 * of the input's length (minimum 1, maximum 3) edits away. Ties go to the earlier candidate.
 */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  if (input.length === 0 || input.length > 64) return undefined;
  const alias = Object.hasOwn(ALIASES, input.toLowerCase())
    ? ALIASES[input.toLowerCase()]
    : undefined;
  if (alias !== undefined && candidates.includes(alias)) return alias;
  const needle = normalize(input);
  const budget = Math.min(3, Math.max(1, Math.floor(needle.length / 3)));
  let best: string | undefined;
  let bestDistance = budget + 1;
  for (const candidate of candidates) {
    const d = editDistance(needle, normalize(candidate), budget);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** ` — did you mean "x"?` or the empty string. */
export function didYouMean(input: string, candidates: readonly string[]): string {
  const s = suggest(input, candidates);
  return s === undefined ? '' : ` — did you mean ${JSON.stringify(s)}?`;
}
