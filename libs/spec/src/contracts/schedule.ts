/**
 * `--schedule`: a delay from now (`30s`, `30min`, `1hour`, `1h30m`, `2days`) or an RFC3339 time
 * (`2026-11-28T21:00:00Z`). Returns the time, or an error message that says what is accepted.
 */
const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  sec: 1,
  secs: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hr: 3600,
  hrs: 3600,
  hour: 3600,
  hours: 3600,
  d: 86400,
  day: 86400,
  days: 86400,
};
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The longest delay a schedule may ask for. */
export const MAX_SCHEDULE_AHEAD_S = 366 * 86400;

export function parseSchedule(
  text: string,
  now: Date = new Date(),
): { at: Date } | { error: string } {
  const s = text.trim();
  const accepted =
    'use a delay like 30s, 30min, 1hour, 1h30m, 2days or an RFC3339 time like 2026-01-02T15:04:05Z';
  if (RFC3339.test(s)) {
    const at = new Date(s);
    if (Number.isNaN(at.getTime())) return { error: `"${text}" is not a valid time; ${accepted}` };
    if (at.getTime() <= now.getTime()) return { error: `"${text}" is in the past` };
    if (at.getTime() - now.getTime() > MAX_SCHEDULE_AHEAD_S * 1000)
      return { error: `"${text}" is more than a year ahead` };
    return { at };
  }
  const parts = [...s.matchAll(/(\d+)\s*([a-z]+)/gi)];
  const joined = parts.map((p) => p[0]).join('');
  if (parts.length === 0 || joined.replace(/\s+/g, '') !== s.replace(/\s+/g, '')) {
    return { error: `"${text}" is not a schedule; ${accepted}` };
  }
  let seconds = 0;
  for (const [, n, unit] of parts) {
    const mult = UNIT_SECONDS[unit!.toLowerCase()];
    if (mult === undefined)
      return { error: `"${unit}" is not a time unit in "${text}"; ${accepted}` };
    seconds += Number(n) * mult;
  }
  if (seconds <= 0) return { error: `"${text}" is not in the future` };
  if (seconds > MAX_SCHEDULE_AHEAD_S) return { error: `"${text}" is more than a year ahead` };
  return { at: new Date(now.getTime() + seconds * 1000) };
}
