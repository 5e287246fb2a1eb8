/** Reading request bodies under a size cap. */
import type { Context } from "hono";
import { BodyTooLargeError } from "../store/mod.ts";
import { HttpError } from "./http_error.ts";

/**
 * The request body as a stream, refusing at once (413) a declared `Content-Length` over
 * `maxBytes`; chunked bodies are counted by the consumer (`BlobStore.put`).
 *
 * @example
 * ```ts
 * const stream = bodyStream(c, 1 << 30);
 * ```
 */
export function bodyStream(c: Context, maxBytes: number): ReadableStream<Uint8Array> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > maxBytes) throw new BodyTooLargeError(maxBytes);
  return c.req.raw.body ?? new ReadableStream({ start: (ctl) => ctl.close() });
}

/**
 * Reads and decodes a JSON body of at most `maxBytes`; invalid JSON is a 400.
 *
 * @example
 * ```ts
 * const body = await readJson(c, 1 << 20);
 * ```
 */
export async function readJson(c: Context, maxBytes: number): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of bodyStream(c, maxBytes)) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new BodyTooLargeError(maxBytes);
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, "body: invalid JSON: not UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `body: invalid JSON: ${(error as Error).message}`);
  }
}
