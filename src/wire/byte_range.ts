/**
 * Single byte ranges (RFC 9110 section 14) and the stream that cuts one out of a body.
 *
 * @module
 */

/**
 * One byte range as a client asks for it, before the size of the body is known: from `start`
 * to `end` inclusive (to the last byte without `end`), or the last `suffix` bytes.
 *
 * @example
 * ```ts
 * import type { ByteRange } from "@contree/sdk";
 *
 * const head: ByteRange = { start: 0, end: 1023 };
 * const tail: ByteRange = { suffix: 4096 };
 * ```
 */
export type ByteRange = { start: number; end?: number } | { suffix: number };

/**
 * What a `Range` header asks of a representation of a known size.
 *
 * @example
 * ```ts
 * import { parseRange, type RangeRequest } from "@contree/sdk";
 *
 * const range: RangeRequest = parseRange("bytes=0-9", 100); // { kind: "partial", start: 0, end: 9 }
 * ```
 */
export type RangeRequest =
  /** No `Range`, another unit, or several ranges: answer the whole body (200). */
  | { kind: "full" }
  /** A malformed `bytes` range or one that starts past the end: answer 416. */
  | { kind: "unsatisfiable" }
  /** One range, `end` inclusive: answer 206. */
  | { kind: "partial"; start: number; end: number };

const SPEC = /^\s*(\d{0,15})\s*-\s*(\d{0,15})\s*$/;

/**
 * Reads a `Range` header without knowing the body's size: the single byte range it asks for,
 * `"whole"` (no header, another unit, or several ranges, which a server may answer with the
 * whole body) or `"invalid"` (a malformed `bytes` range).
 *
 * @example
 * ```ts
 * import { readRangeHeader } from "@contree/sdk";
 *
 * readRangeHeader("bytes=100-"); // { start: 100 }
 * readRangeHeader("bytes=-10"); // { suffix: 10 }
 * readRangeHeader("bytes=0-1,5-6"); // "whole"
 * ```
 */
export function readRangeHeader(
  header: string | null | undefined,
): ByteRange | "whole" | "invalid" {
  if (header === null || header === undefined) return "whole";
  const eq = header.indexOf("=");
  if (eq < 0) return "invalid";
  if (header.slice(0, eq).trim().toLowerCase() !== "bytes") return "whole";
  const specs = header.slice(eq + 1).split(",").filter((spec) => spec.trim() !== "");
  if (specs.length === 0) return "invalid";
  const ranges = specs.map(one);
  if (ranges.some((range) => range === "invalid")) return "invalid";
  return ranges.length > 1 ? "whole" : ranges[0] as ByteRange;
}

function one(spec: string): ByteRange | "invalid" {
  const match = SPEC.exec(spec);
  if (!match) return "invalid";
  const [, first, last] = match;
  if (first === "") return last === "" ? "invalid" : { suffix: Number(last) };
  const start = Number(first);
  if (last === "") return { start };
  const end = Number(last);
  return end < start ? "invalid" : { start, end };
}

/**
 * The inclusive bounds of `range` in a body of `size` bytes, or `null` when it asks for none
 * of them (it starts past the end, or is an empty suffix).
 *
 * @example
 * ```ts
 * import { resolveRange } from "@contree/sdk";
 *
 * resolveRange({ suffix: 10 }, 1000); // { start: 990, end: 999 }
 * resolveRange({ start: 2000 }, 1000); // null
 * ```
 */
export function resolveRange(
  range: ByteRange,
  size: number,
): { start: number; end: number } | null {
  if ("suffix" in range) {
    return range.suffix === 0 || size === 0
      ? null
      : { start: Math.max(0, size - range.suffix), end: size - 1 };
  }
  if (range.start >= size) return null;
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}

/**
 * Reads a `Range` header against a body of `size` bytes.
 *
 * Only one range is served: several ranges are valid HTTP that a server may ignore, so they get
 * the whole body; a malformed or unsatisfiable `bytes` range gets 416.
 *
 * @example
 * ```ts
 * import { parseRange } from "@contree/sdk";
 *
 * parseRange("bytes=0-99", 1000); // { kind: "partial", start: 0, end: 99 }
 * parseRange("bytes=-10", 1000); // { kind: "partial", start: 990, end: 999 }
 * parseRange("bytes=2000-", 1000); // { kind: "unsatisfiable" }
 * parseRange(null, 1000); // { kind: "full" }
 * ```
 */
export function parseRange(header: string | null | undefined, size: number): RangeRequest {
  const range = readRangeHeader(header);
  if (range === "whole") return { kind: "full" };
  const bounds = range === "invalid" ? null : resolveRange(range, size);
  return bounds ? { kind: "partial", ...bounds } : { kind: "unsatisfiable" };
}

/**
 * Reads a `Content-Range` header: the bytes a 206 answer carries and the whole size (when
 * not `*`), or for a 416 answer (`bytes *&#47;SIZE`) only the size; `null` when malformed.
 *
 * @example
 * ```ts
 * import { readContentRange } from "@contree/sdk";
 *
 * readContentRange("bytes 0-9/100"); // { start: 0, end: 9, total: 100 }
 * readContentRange("bytes *" + "/100"); // { total: 100 }
 * ```
 */
export function readContentRange(
  header: string | null,
): { start: number; end: number; total: number | undefined } | { total: number } | null {
  const match = /^\s*bytes\s+(?:(\d{1,15})-(\d{1,15})|\*)\/(\d{1,15}|\*)\s*$/i.exec(header ?? "");
  if (!match) return null;
  const [, first, last, size] = match;
  const total = size === "*" ? undefined : Number(size);
  if (first === undefined) return total === undefined ? null : { total };
  const [start, end] = [Number(first), Number(last)];
  if (end < start || (total !== undefined && end >= total)) return null;
  return { start, end, total };
}

/**
 * The `Range` header value asking for `range`.
 *
 * @example
 * ```ts
 * import { rangeHeader } from "@contree/sdk";
 *
 * rangeHeader({ start: 5 }); // "bytes=5-"
 * ```
 */
export function rangeHeader(range: ByteRange): string {
  if ("suffix" in range) return `bytes=-${range.suffix}`;
  return `bytes=${range.start}-${range.end ?? ""}`;
}

/**
 * A stream that drops the first `start` bytes of what passes through and ends after `length`
 * more: a range cut out of a whole body, when the source cannot seek or ignored the range.
 *
 * @example
 * ```ts
 * import { sliceStream } from "@contree/sdk";
 *
 * const body = new Response("hello world").body!.pipeThrough(sliceStream(6, 5));
 * console.log(await new Response(body).text()); // "world"
 * ```
 */
export function sliceStream(
  start: number,
  length: number,
): TransformStream<Uint8Array, Uint8Array> {
  let skip = start;
  let left = length;
  return new TransformStream({
    transform(chunk, controller) {
      if (left <= 0) return;
      let from = 0;
      if (skip > 0) {
        if (chunk.byteLength <= skip) {
          skip -= chunk.byteLength;
          return;
        }
        from = skip;
        skip = 0;
      }
      const to = Math.min(chunk.byteLength, from + left);
      controller.enqueue(from === 0 && to === chunk.byteLength ? chunk : chunk.subarray(from, to));
      left -= to - from;
      if (left <= 0) controller.terminate();
    },
  });
}
