/**
 * Layer decompression by content sniffing (gzip, zstd, or a plain tar), as container runtimes
 * do rather than trusting media types. gzip and zstd use `node:zlib` (multi-member gzip works;
 * the web `DecompressionStream` rejects it and has no zstd).
 */
import zlib from "node:zlib";
import { Duplex } from "node:stream";
import { ImportError, InvalidImageError, UnsupportedImageError } from "./errors.ts";

/** Compression of a layer blob. */
export type Compression = "gzip" | "zstd" | "none";

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

function startsWith(head: Uint8Array, magic: number[]): boolean {
  return magic.every((byte, i) => head[i] === byte);
}

/** The stream re-read from its start after `head` was taken from `reader`. */
function rejoin(
  head: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of head) controller.enqueue(chunk);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/**
 * `stream` with its errors passed through `map` (errors of the stream, not of its
 * consumers).
 */
export function mapErrors(
  stream: ReadableStream<Uint8Array>,
  map: (error: unknown) => unknown,
): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  return new ReadableStream({
    async pull(controller) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        throw map(error);
      }
      if (result.done) controller.close();
      else controller.enqueue(result.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

function decoder(
  compression: Exclude<Compression, "none">,
): TransformStream<Uint8Array, Uint8Array> {
  const z = zlib as unknown as { createZstdDecompress?: () => Duplex };
  if (compression === "zstd" && typeof z.createZstdDecompress !== "function") {
    throw new UnsupportedImageError(
      "zstd-compressed layers need a runtime whose node:zlib has zstd",
    );
  }
  const duplex = compression === "gzip" ? zlib.createGunzip() : z.createZstdDecompress!();
  return Duplex.toWeb(duplex) as unknown as TransformStream<Uint8Array, Uint8Array>;
}

/**
 * The uncompressed content of a layer blob, whatever its compression (told apart by magic
 * bytes). Corrupt compressed data errors the stream with {@linkcode InvalidImageError};
 * errors of `stream` itself pass through.
 */
export async function decompress(
  stream: ReadableStream<Uint8Array>,
  what: string,
): Promise<{ compression: Compression; stream: ReadableStream<Uint8Array> }> {
  const reader = stream.getReader();
  const head: Uint8Array[] = [];
  let length = 0;
  while (length < ZSTD_MAGIC.length) {
    const { done, value } = await reader.read();
    if (done) break;
    head.push(value);
    length += value.length;
  }
  const first = new Uint8Array(length);
  head.reduce((offset, chunk) => (first.set(chunk, offset), offset + chunk.length), 0);
  const compression: Compression = startsWith(first, GZIP_MAGIC)
    ? "gzip"
    : startsWith(first, ZSTD_MAGIC)
    ? "zstd"
    : "none";
  const source = rejoin(head, reader);
  if (compression === "none") return { compression, stream: source };
  let transform: TransformStream<Uint8Array, Uint8Array>;
  try {
    transform = decoder(compression);
  } catch (error) {
    await reader.cancel(error);
    throw error;
  }
  const output = mapErrors(
    source.pipeThrough(transform),
    (error) =>
      error instanceof ImportError || (error as Error)?.name === "AbortError"
        ? error
        : new InvalidImageError(
          `${what}: corrupt ${compression} data: ${(error as Error).message}`,
          {
            cause: error,
          },
        ),
  );
  return { compression, stream: output };
}
