/**
 * Content hashing with `crypto.subtle`.
 *
 * @module
 */

/**
 * Content accepted by uploads and hashing.
 *
 * @example
 * ```ts
 * import type { Content } from "@contree/sdk";
 *
 * const content: Content = new TextEncoder().encode("hello");
 * ```
 */
export type Content = Uint8Array | Blob | ReadableStream<Uint8Array>;

/**
 * Reads content fully into memory.
 *
 * @example
 * ```ts
 * import { readContent } from "@contree/sdk";
 *
 * const bytes = await readContent(new Blob(["hello"]));
 * console.log(bytes.length); // 5
 * ```
 */
export async function readContent(content: Content | string): Promise<Uint8Array> {
  if (typeof content === "string") return new TextEncoder().encode(content);
  if (content instanceof Uint8Array) return content;
  const buffer = content instanceof Blob
    ? await content.arrayBuffer()
    : await new Response(content).arrayBuffer();
  return new Uint8Array(buffer);
}

/**
 * The lowercase hex SHA-256 of some content (strings are hashed as UTF-8).
 *
 * @example
 * ```ts
 * import { sha256Hex } from "@contree/sdk";
 *
 * console.log(await sha256Hex("")); // "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
 * ```
 */
export async function sha256Hex(content: Content | string): Promise<string> {
  const bytes = await readContent(content);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
