/**
 * Encoding and decoding of `StreamRepr`, the wire form of captured or injected
 * bytes: printable ASCII text as-is (`ascii`), anything else as `base64`.
 *
 * @module
 */
import type { StreamRepr } from "./types.ts";
import { fromBase64, toBase64 } from "./_base64.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function isPrintable(bytes: Uint8Array): boolean {
  for (const byte of bytes) {
    if ((byte < 32 || byte > 126) && byte !== 9 && byte !== 10 && byte !== 13) return false;
  }
  return true;
}

/**
 * Encodes bytes (or a string, as UTF-8) the way the server does: `ascii` when
 * every byte is printable ASCII, TAB, LF or CR, else `base64`.
 *
 * @example
 * ```ts
 * import { encodeStream } from "@contree/sdk";
 *
 * console.log(encodeStream("hi\n")); // { value: "hi\n", encoding: "ascii" }
 * console.log(encodeStream(new Uint8Array([0, 255]))); // { value: "AP8=", encoding: "base64" }
 * ```
 */
export function encodeStream(content: Uint8Array | string): StreamRepr & {
  encoding: "ascii" | "base64";
} {
  const bytes = typeof content === "string" ? encoder.encode(content) : content;
  if (isPrintable(bytes)) {
    return {
      value: typeof content === "string" ? content : decoder.decode(bytes),
      encoding: "ascii",
    };
  }
  return { value: toBase64(bytes), encoding: "base64" };
}

/**
 * Decodes a `StreamRepr` to bytes: `base64` is decoded, any other encoding is
 * read as text (UTF-8).
 *
 * @example
 * ```ts
 * import { decodeStream } from "@contree/sdk";
 *
 * console.log(decodeStream({ value: "aGkK", encoding: "base64" })); // Uint8Array [104, 105, 10]
 * ```
 */
export function decodeStream(repr: Pick<StreamRepr, "value" | "encoding">): Uint8Array {
  return repr.encoding === "base64" ? fromBase64(repr.value) : encoder.encode(repr.value);
}

/**
 * Decodes a `StreamRepr` to text (UTF-8, invalid sequences replaced).
 *
 * @example
 * ```ts
 * import { decodeStreamText } from "@contree/sdk";
 *
 * console.log(decodeStreamText({ value: "aGkK", encoding: "base64" })); // "hi\n"
 * ```
 */
export function decodeStreamText(repr: Pick<StreamRepr, "value" | "encoding">): string {
  return repr.encoding === "base64" ? decoder.decode(fromBase64(repr.value)) : repr.value;
}
