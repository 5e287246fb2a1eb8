/**
 * Single byte ranges (RFC 9110 section 14) and the stream that cuts one out of a body.
 *
 * @module
 */

/**
 * What a `Range` header asks of a representation of a known size.
 *
 * @example
 * ```ts
 * import { parseRange, type RangeRequest } from "./_range.ts";
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

const SPEC = /^\s*(\d{0,19})\s*-\s*(\d{0,19})\s*$/;

/**
 * Reads a `Range` header against a body of `size` bytes.
 *
 * Only one range is served: several ranges are valid HTTP that a server may ignore, so they get
 * the whole body; a malformed or unsatisfiable `bytes` range gets 416.
 *
 * @example
 * ```ts
 * import { parseRange } from "./_range.ts";
 *
 * parseRange("bytes=0-99", 1000); // { kind: "partial", start: 0, end: 99 }
 * parseRange("bytes=-10", 1000); // { kind: "partial", start: 990, end: 999 }
 * parseRange("bytes=2000-", 1000); // { kind: "unsatisfiable" }
 * parseRange(null, 1000); // { kind: "full" }
 * ```
 */
export function parseRange(header: string | null | undefined, size: number): RangeRequest {
  if (header === null || header === undefined) return { kind: "full" };
  const eq = header.indexOf("=");
  if (eq < 0) return { kind: "unsatisfiable" };
  if (header.slice(0, eq).trim().toLowerCase() !== "bytes") return { kind: "full" };
  const specs = header.slice(eq + 1).split(",").filter((spec) => spec.trim() !== "");
  if (specs.length === 0) return { kind: "unsatisfiable" };
  const ranges = specs.map((spec) => one(spec, size));
  if (ranges.some((range) => range === "invalid")) return { kind: "unsatisfiable" };
  if (ranges.length > 1) return { kind: "full" };
  const range = ranges[0];
  return range === "invalid" || range === "unsatisfiable" ? { kind: "unsatisfiable" } : range;
}

function one(
  spec: string,
  size: number,
): "invalid" | "unsatisfiable" | { kind: "partial"; start: number; end: number } {
  const match = SPEC.exec(spec);
  if (!match) return "invalid";
  const [, first, last] = match;
  if (first === "") {
    if (last === "") return "invalid";
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { kind: "partial", start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Number(last);
  if (end < start) return "invalid";
  if (start >= size) return "unsatisfiable";
  return { kind: "partial", start, end: Math.min(end, size - 1) };
}

/**
 * A stream that drops the first `start` bytes of what passes through and ends after `length`
 * more. Upstream has no ranges, so the gateway streams the whole file through this.
 *
 * @example
 * ```ts
 * import { sliceStream } from "./_range.ts";
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
