/**
 * Progress reports of transfers: a callback type that uploads, downloads and
 * imports accept as `onProgress`, and a stream that reports the bytes flowing
 * through it. Web APIs only.
 *
 * @module
 */

/**
 * How far a transfer got.
 *
 * @example
 * ```ts
 * import type { Progress } from "@contree/sdk";
 *
 * const percent = (p: Progress) => p.total ? Math.floor((100 * p.bytes) / p.total) : undefined;
 * ```
 */
export interface Progress {
  /** Bytes transferred so far (for an import: bytes of the layers unpacked so far). */
  bytes: number;
  /** Bytes in all, when known. */
  total: number | undefined;
  /** A line the server sent about the work (imports), when there is one. */
  message?: string;
}

/**
 * Called as a transfer goes; it must not throw (an exception is ignored).
 *
 * @example
 * ```ts
 * import type { ProgressCallback } from "@contree/sdk";
 *
 * const log: ProgressCallback = ({ bytes, total }) => console.error(`${bytes}/${total ?? "?"}`);
 * ```
 */
export type ProgressCallback = (progress: Progress) => void;

function report(callback: ProgressCallback, progress: Progress): void {
  try {
    callback(progress);
  } catch {
    // A failing progress display must not break the transfer it watches.
  }
}

/**
 * Passes a byte stream through unchanged, calling `onProgress` after each chunk
 * (and once at the start, with 0 bytes). `offset` counts bytes already
 * transferred before this stream (a resumed download).
 *
 * @example
 * ```ts
 * import { withProgress } from "@contree/sdk";
 *
 * const body = new Blob(["hello"]).stream();
 * const counted = withProgress(body, 5, ({ bytes, total }) => console.log(bytes, total));
 * console.log(await new Response(counted).text()); // "hello"
 * ```
 */
export function withProgress(
  stream: ReadableStream<Uint8Array>,
  total: number | undefined,
  onProgress: ProgressCallback,
  offset = 0,
): ReadableStream<Uint8Array> {
  let bytes = offset;
  report(onProgress, { bytes, total });
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytes += chunk.length;
        controller.enqueue(chunk);
        report(onProgress, { bytes, total });
      },
    }),
  );
}

// The local backend writes MB for 2^20 bytes.
const UNITS: Record<string, number> = { B: 1, KB: 1 << 10, MB: 1 << 20, GB: 1 << 30 };

/**
 * Follows the text lines an import operation writes to its log (as the local
 * backend does: `image sha256:… (3 layers, 1.0 MB)`, then `layer 1 … unpacked
 * (0.4 MB)` or `… already present`) and reports the bytes of the layers done.
 * Returns a function to feed each line to; lines it does not know are passed on
 * as `message` only.
 *
 * @example
 * ```ts
 * import { importProgressReader } from "@contree/sdk";
 *
 * const feed = importProgressReader(({ bytes, total }) => console.log(bytes, total));
 * feed("image sha256:ab (2 layers, 2.0 MB)\n"); // 0 2097152
 * feed("layer 1 sha256:cd unpacked (1.0 MB)\n"); // 1048576 2097152
 * ```
 */
export function importProgressReader(onProgress: ProgressCallback): (line: string) => void {
  let total: number | undefined;
  let bytes = 0;
  const amount = (text: string): number | undefined => {
    const match = /\(([\d.]+)\s*([KMG]?B)\)/i.exec(text);
    return match ? Math.round(Number(match[1]) * (UNITS[match[2].toUpperCase()] ?? 1)) : undefined;
  };
  return (raw) => {
    for (const line of raw.split("\n").map((l) => l.trim()).filter((l) => l !== "")) {
      if (/^image\s/.test(line)) total = amount(line.replace(/^.*layers?,\s*/, "(")) ?? total;
      else if (/^layer\s.*unpacked/.test(line)) bytes += amount(line) ?? 0;
      else if (/^imported\s/.test(line) && total !== undefined) bytes = total;
      report(onProgress, {
        bytes: total === undefined ? bytes : Math.min(bytes, total),
        total,
        message: line,
      });
    }
  };
}
