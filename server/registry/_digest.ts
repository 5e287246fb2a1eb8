/** Content digests (`sha256:<hex>`, `sha512:<hex>`), computed and checked while streaming. */
import { createHash } from "node:crypto";
import { DigestMismatchError, InvalidImageError } from "./errors.ts";

const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

/** Checks that `digest` is a supported, well-formed digest; throws {@linkcode InvalidImageError}. */
export function checkDigest(digest: string, what: string): string {
  if (!DIGEST.test(digest)) {
    throw new InvalidImageError(
      `${what}: unsupported or malformed digest ${JSON.stringify(digest)}`,
    );
  }
  return digest;
}

/** The digest of `bytes` with the algorithm of `like` (sha256 by default). */
export function digestOf(bytes: Uint8Array, like = "sha256:"): string {
  const algorithm = like.startsWith("sha512:") ? "sha512" : "sha256";
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}

/** Throws {@linkcode DigestMismatchError} unless `bytes` has digest `expected` (and `size`). */
export function verifyBytes(
  bytes: Uint8Array,
  expected: string,
  what: string,
  size?: number,
): void {
  if (size !== undefined && bytes.length !== size) {
    throw new DigestMismatchError(what, `${size} bytes`, `${bytes.length} bytes`);
  }
  const actual = digestOf(bytes, expected);
  if (actual !== expected) throw new DigestMismatchError(what, expected, actual);
}

/**
 * A pass-through stream that checks the bytes flowing through against `expected` (and
 * `size`, failing as soon as it is exceeded), erroring with {@linkcode DigestMismatchError}
 * at the end otherwise. `onBytes` sees every chunk's length.
 */
export function verifyingStream(
  expected: string,
  what: string,
  size?: number,
  onBytes?: (n: number) => void,
): TransformStream<Uint8Array, Uint8Array> {
  const hash = createHash(expected.startsWith("sha512:") ? "sha512" : "sha256");
  let total = 0;
  return new TransformStream({
    transform(chunk, controller) {
      total += chunk.length;
      if (size !== undefined && total > size) {
        throw new DigestMismatchError(what, `${size} bytes`, `more than ${size} bytes`);
      }
      hash.update(chunk);
      onBytes?.(chunk.length);
      controller.enqueue(chunk);
    },
    flush() {
      if (size !== undefined && total !== size) {
        throw new DigestMismatchError(what, `${size} bytes`, `${total} bytes`);
      }
      const actual = `${expected.slice(0, expected.indexOf(":"))}:${hash.digest("hex")}`;
      if (actual !== expected) throw new DigestMismatchError(what, expected, actual);
    },
  });
}
