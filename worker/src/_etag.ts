/**
 * Strong entity tags for files inside images, and the `If-None-Match` / `If-Range` checks.
 *
 * An image never changes, so the pair (image UUID, normalised path) names one byte sequence
 * forever: the UUID plus a hash of the path is a strong validator without reading the file.
 *
 * @module
 */

const encoder = new TextEncoder();

/** 64-bit FNV-1a of the path's UTF-8 bytes, as 16 hex digits (synchronous and cheap). */
function fnv1a64(text: string): string {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (const byte of encoder.encode(text)) {
    lo = (lo ^ byte) >>> 0;
    // Multiply (hi, lo) by the FNV prime 0x100000001b3 in 32-bit halves.
    const loMul = lo * 0x1b3;
    const carry = Math.floor(loMul / 0x100000000);
    hi = (Math.imul(hi, 0x1b3) + Math.imul(lo, 0x100) + carry) >>> 0;
    lo = loMul >>> 0;
  }
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}

/**
 * The strong ETag of the file at `path` in image `uuid`: the UUID's hex digits and a 64-bit
 * hash of the path.
 *
 * @example
 * ```ts
 * import { fileEtag } from "./_etag.ts";
 *
 * fileEtag("0b8e5f8e-2b7c-4f55-9d57-8d0c2a3a8b51", "/etc/passwd");
 * // '"0b8e5f8e2b7c4f559d578d0c2a3a8b51-" + 16 hex digits'
 * ```
 */
export function fileEtag(uuid: string, path: string): string {
  return `"${uuid.replaceAll("-", "").toLowerCase()}-${fnv1a64(path)}"`;
}

function tags(header: string): string[] {
  return header.split(",").map((tag) => tag.trim()).filter((tag) => tag !== "");
}

/**
 * Whether an `If-None-Match` header matches `etag` (weak comparison, `*` matches anything).
 *
 * @example
 * ```ts
 * import { noneMatch } from "./_etag.ts";
 *
 * noneMatch('W/"abc", "def"', '"abc"'); // true: answer 304
 * ```
 */
export function noneMatch(header: string | null | undefined, etag: string): boolean {
  if (!header) return false;
  const weak = (tag: string) => tag.startsWith("W/") ? tag.slice(2) : tag;
  return tags(header).some((tag) => tag === "*" || weak(tag) === weak(etag));
}

/**
 * Whether a `Range` may be honoured under an `If-Range` header: absent, or exactly the current
 * strong ETag. A date or any other tag means "send everything".
 *
 * @example
 * ```ts
 * import { ifRangeHolds } from "./_etag.ts";
 *
 * ifRangeHolds(null, '"abc"'); // true
 * ifRangeHolds('"abc"', '"abc"'); // true
 * ifRangeHolds('W/"abc"', '"abc"'); // false
 * ```
 */
export function ifRangeHolds(header: string | null | undefined, etag: string): boolean {
  return header === null || header === undefined || header.trim() === etag;
}
