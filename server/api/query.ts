/** Query-string conventions of the API: flags, pagination and time windows. */
import type { Context } from "hono";
import { isoTime } from "../store/mod.ts";
import { HttpError } from "./http_error.ts";

/**
 * Reads a flag: `""` or `"1"` (also `"true"`) is true, `"0"` (also `"false"`) or absence is
 * false; anything else is a 400.
 *
 * @example
 * ```ts
 * const tagged = flag(c, "tagged");
 * ```
 */
export function flag(c: Context, name: string): boolean {
  const value = c.req.query(name);
  if (value === undefined || value === "0" || value === "false") return false;
  if (value === "" || value === "1" || value === "true") return true;
  throw new HttpError(400, `${name} must be "", "0" or "1"`);
}

/** A page of a listing. */
export interface Page {
  /** Page size, 1..1000. */
  limit: number;
  /** Rows to skip. */
  offset: number;
}

/**
 * Reads `limit` (1..1000, default 100) and `offset` (default 0).
 *
 * @example
 * ```ts
 * const { limit, offset } = page(c);
 * ```
 */
export function page(c: Context): Page {
  const rawLimit = c.req.query("limit");
  const limit = rawLimit === undefined || rawLimit === "" ? 100 : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new HttpError(400, "limit must be between 1 and 1000");
  }
  const rawOffset = c.req.query("offset");
  const offset = rawOffset === undefined || rawOffset === "" ? 0 : Number(rawOffset);
  if (!Number.isInteger(offset) || offset < 0) {
    throw new HttpError(400, "offset must be a non-negative integer");
  }
  return { limit, offset };
}

const UNIT_SECONDS: Record<string, number> = {
  "": 1,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 7 * 86400,
  M: 30 * 86400,
  y: 365 * 86400,
};

/**
 * Parses a time filter: ISO-8601 (with `Z` or an offset) or a relative interval meaning
 * "now minus" (`3600`, `15m`, `1h`, `2d`, `1w`, `1M`, `1y`). Returns an `isoTime` string.
 *
 * @example
 * ```ts
 * parseTime("1h", "since"); // an hour ago
 * ```
 */
export function parseTime(value: string, name: string, now: Date = new Date()): string {
  const relative = /^(\d+)([smhdwMy]?)$/.exec(value.trim());
  if (relative) {
    return isoTime(
      new Date(now.getTime() - Number(relative[1]) * UNIT_SECONDS[relative[2]] * 1000),
    );
  }
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    throw new HttpError(
      400,
      `${name} must be an ISO-8601 time or a relative interval such as 15m, 1h or 3600`,
    );
  }
  return isoTime(new Date(ms));
}

/**
 * Reads the optional `since`/`until` window of a listing.
 *
 * @example
 * ```ts
 * const { since, until } = timeWindow(c);
 * ```
 */
export function timeWindow(c: Context): { since?: string; until?: string } {
  const since = c.req.query("since");
  const until = c.req.query("until");
  return {
    since: since ? parseTime(since, "since") : undefined,
    until: until ? parseTime(until, "until") : undefined,
  };
}
