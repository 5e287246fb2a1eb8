/** Timestamp formatting shared by every record the server stores and sends. */

/**
 * Formats a date as the wire's record timestamp: UTC ISO-8601 with microseconds and an
 * explicit `+00:00` offset (`datetime.fromisoformat` in every Python version accepts it).
 * Strings in this format sort chronologically, so they are also used as sort keys.
 *
 * @example
 * ```ts
 * isoTime(new Date(0)); // "1970-01-01T00:00:00.000000+00:00"
 * ```
 */
export function isoTime(date: Date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000+00:00");
}

/**
 * Formats a date with nanosecond precision and a `Z` suffix, as in the `started_at`
 * field of `init` events.
 *
 * @example
 * ```ts
 * isoTimeNs(new Date(0)); // "1970-01-01T00:00:00.000000000Z"
 * ```
 */
export function isoTimeNs(date: Date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");
}
