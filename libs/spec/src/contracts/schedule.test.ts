import { describe, expect, it } from 'vitest';
import { parseSchedule } from './schedule.js';

const now = new Date('2026-11-28T20:00:00Z');
const at = (s: string) => {
  const r = parseSchedule(s, now);
  return 'at' in r ? r.at.toISOString() : r.error;
};

describe('parseSchedule', () => {
  it.each([
    ['30s', '2026-11-28T20:00:30.000Z'],
    ['30min', '2026-11-28T20:30:00.000Z'],
    ['1hour', '2026-11-28T21:00:00.000Z'],
    ['1h30m', '2026-11-28T21:30:00.000Z'],
    ['2days', '2026-11-30T20:00:00.000Z'],
    ['2026-11-28T21:00:00Z', '2026-11-28T21:00:00.000Z'],
    ['2026-11-28T22:00:00+01:00', '2026-11-28T21:00:00.000Z'],
  ])('%s', (input, expected) => expect(at(input)).toBe(expected));

  it.each([
    ['soon', /not a schedule/],
    ['5 fortnights', /"fortnights" is not a time unit/],
    ['0s', /not in the future/],
    ['2020-01-01T00:00:00Z', /in the past/],
    ['400days', /more than a year/],
    ['30', /not a schedule/],
    ['1h; rm -rf /', /not a schedule/],
  ])('refuses %s', (input, message) => expect(at(input)).toMatch(message));
});
