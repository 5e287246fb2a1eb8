// `--since` / `--until` values as the official CLI reads them: an absolute date
// (`2024-05-01`, `2024-05-01T10:30`), a time of today (`10:30`), or an interval back from
// now (`90`, `15m`, `1h30m`, `2d`; units s m h d M y).
import { UsageError } from "./_session.ts";

const UNIT_SECONDS: Record<string, number> = {
  "": 1,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  M: 30 * 86400,
  y: 365 * 86400,
};

/** The UTC instant `value` names, relative to `now`. */
export function parseInterval(value: string, now: Date = new Date()): Date {
  const date =
    /^(\d{4})(?:[./\- ]?(\d{1,2}))?(?:[./\- ]?(\d{1,2}))?(?:[T ](\d{1,2})(?:[:./\- ](\d{1,2}))?(?:[:./\- ](\d{1,2}))?)?Z?$/
      .exec(value);
  if (date) {
    const [, y, mo, d, h, mi, s] = date.map((part) =>
      part === undefined ? undefined : Number(part)
    );
    const result = new Date(Date.UTC(y!, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, s ?? 0));
    if (Number.isNaN(result.getTime())) throw new UsageError(`bad date '${value}'`);
    return result;
  }
  const clock = /^(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?$/.exec(value);
  if (clock) {
    return new Date(Date.UTC(
      now.getUTCFullYear(),
      now.getUTCMonth(),
      now.getUTCDate(),
      Number(clock[1]),
      Number(clock[2]),
      Number(clock[3] ?? 0),
    ));
  }
  if (!/^([+-]?\d+[smhdMy]?)+$/.test(value)) {
    throw new UsageError(`bad time '${value}' (a date, HH:MM, or an interval like 15m, 2d)`);
  }
  let seconds = 0;
  for (const [, count, unit] of value.matchAll(/[+-]?(\d+)([smhdMy]?)/g)) {
    seconds += Number(count) * UNIT_SECONDS[unit];
  }
  return new Date(now.getTime() - seconds * 1000);
}
