import { constants, createGzip } from "node:zlib";

/**
 * A gzip `TransformStream` that flushes with `Z_SYNC_FLUSH` after every input chunk, so
 * each chunk is decodable before the stream ends; closing writes the gzip trailer.
 */
export function gzipStream(): TransformStream<Uint8Array, Uint8Array> {
  const gz = createGzip();
  let controller!: TransformStreamDefaultController<Uint8Array>;
  gz.on("data", (data: Uint8Array) => controller.enqueue(new Uint8Array(data)));
  const ended = new Promise<void>((resolve, reject) => {
    gz.on("end", resolve);
    gz.on("error", reject);
  });
  return new TransformStream({
    start(c) {
      controller = c;
    },
    transform(chunk) {
      return new Promise<void>((resolve) => {
        gz.write(chunk);
        gz.flush(constants.Z_SYNC_FLUSH, () => resolve());
      });
    },
    async flush() {
      gz.end();
      await ended;
    },
    cancel() {
      gz.destroy();
    },
  });
}
