/** The wire's representation of captured and supplied byte streams. */
import { Buffer } from "node:buffer";

/** Captured output (`StreamRepr` / `EventDataStream`). */
export interface StreamRepr {
  /** The bytes, as text or base64. */
  value: string;
  /** How `value` encodes the bytes. */
  encoding: "ascii" | "base64";
  /** Whether `truncate_output_at` cut the stream. */
  truncated?: boolean;
}

function printable(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if ((b < 32 || b > 126) && b !== 9 && b !== 10 && b !== 13) return false;
  }
  return true;
}

/**
 * Encodes bytes by the wire rule: `ascii` when every byte is printable ASCII, TAB, LF or CR,
 * else `base64`.
 *
 * @example
 * ```ts
 * toStreamRepr(new TextEncoder().encode("hi\n")); // { value: "hi\n", encoding: "ascii" }
 * ```
 */
export function toStreamRepr(bytes: Uint8Array, truncated?: boolean): StreamRepr {
  const repr: StreamRepr = printable(bytes)
    ? {
      value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1"),
      encoding: "ascii",
    }
    : {
      value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64"),
      encoding: "base64",
    };
  if (truncated !== undefined) repr.truncated = truncated;
  return repr;
}

/**
 * Decodes a supplied stream value (`ClosableStreamRepr`): `base64` is decoded, any other
 * encoding is taken as text.
 *
 * @example
 * ```ts
 * fromStreamRepr({ value: "aGkK", encoding: "base64" }); // bytes of "hi\n"
 * ```
 */
export function fromStreamRepr(repr: { value: string; encoding?: string | null }): Uint8Array {
  return repr.encoding === "base64"
    ? new Uint8Array(Buffer.from(repr.value, "base64"))
    : new TextEncoder().encode(repr.value);
}
