/**
 * The outcome of a completed run, and how each output stream is captured.
 *
 * @module
 */

import type { ExitEvent } from "../wire/events.ts";

/**
 * Where a run's stdout or stderr goes:
 * - `"text"` (the default): captured and decoded as UTF-8 (invalid bytes replaced);
 * - `"bytes"`: captured as raw bytes;
 * - `"discard"`: dropped;
 * - a `WritableStream<Uint8Array>`: fed chunk by chunk as output arrives (with
 *   backpressure), closed when the run completes and aborted when it fails;
 *   so it serves one execution (give each re-run a new stream with `with()`).
 *
 * @example
 * ```ts
 * import type { OutputTarget } from "@contree/sdk";
 *
 * const raw: OutputTarget = "bytes";
 * ```
 */
export type OutputTarget = "text" | "bytes" | "discard" | WritableStream<Uint8Array>;

/**
 * The type a captured stream has in a {@linkcode ContreeResult}, given its
 * {@linkcode OutputTarget}: `string` for text (and when unset), `Uint8Array`
 * for bytes, `undefined` when discarded or streamed elsewhere.
 *
 * @example
 * ```ts
 * import type { CapturedOutput } from "@contree/sdk";
 *
 * const bytes: CapturedOutput<"bytes"> = new Uint8Array([1, 2]);
 * const text: CapturedOutput<undefined> = "hello";
 * ```
 */
export type CapturedOutput<T> = T extends "bytes" ? Uint8Array
  : T extends "discard" | WritableStream<Uint8Array> ? undefined
  : string;

/**
 * The captured type of stream `K` for run options `T`: what `result.stdout`
 * (or `result.stderr`) holds after a run with those options.
 *
 * @example
 * ```ts
 * import type { RunOutput } from "@contree/sdk";
 *
 * const raw: RunOutput<{ stdout: "bytes" }, "stdout"> = new Uint8Array();
 * const text: RunOutput<{ shell: string }, "stderr"> = "";
 * ```
 */
export type RunOutput<T, K extends "stdout" | "stderr"> = T extends { [P in K]?: infer S }
  ? CapturedOutput<S>
  : string;

/**
 * What the server dropped from a stream beyond `truncateOutputAt`.
 *
 * @example
 * ```ts
 * import type { Truncation } from "@contree/sdk";
 *
 * const lost = (t: Truncation | undefined) => t?.bytesDropped ?? 0;
 * ```
 */
export interface Truncation {
  /** Bytes delivered before the cut. */
  bytesEmitted: number;
  /** Bytes dropped. */
  bytesDropped: number;
}

/**
 * The outcome of a run that completed. A non-zero exit code is a result, not
 * an error.
 *
 * @example
 * ```ts
 * import type { ContreeImage } from "@contree/sdk";
 *
 * async function report(image: ContreeImage) {
 *   const { result } = await image.run({ shell: "echo hi; exit 3" });
 *   console.log(result.exitCode, result.stdout, `${result.elapsed} ms`); // 3 "hi\n" ...
 * }
 * ```
 */
export interface ContreeResult<O = string, E = string> {
  /** The captured stdout (see {@linkcode OutputTarget}). */
  stdout: O;
  /** The captured stderr (see {@linkcode OutputTarget}). */
  stderr: E;
  /** The command's exit code. */
  exitCode: number;
  /** The signal that ended the command, or `undefined`. */
  signal: number | undefined;
  /** Wall time of the command, in milliseconds. */
  elapsed: number;
  /** Streams the server cut at `truncateOutputAt`, keyed by stream name. */
  truncated: { stdout?: Truncation; stderr?: Truncation };
  /** What the operation cost, when the server reports it. */
  cost: number | undefined;
  /** The operation that ran the command. */
  operationUuid: string;
  /** The raw `exit` event payload. */
  exit: ExitEvent["data"];
}

/**
 * A chunk of a run's output, as yielded by `for await` over a run: the bytes,
 * and the text they complete. Each stream is decoded as UTF-8 on its own and
 * across chunks, so a character split between two chunks appears whole in the
 * second one's `text`; joining the `text`s of a stream gives its whole text.
 *
 * @example
 * ```ts
 * import type { ContreeImage } from "@contree/sdk";
 *
 * async function tail(image: ContreeImage) {
 *   for await (const chunk of image.run({ shell: "for i in 1 2 3; do echo $i; done" })) {
 *     console.log(chunk.stream, chunk.text, chunk.data.length);
 *   }
 * }
 * ```
 */
export interface OutputChunk {
  /** Which stream the bytes came from. */
  stream: "stdout" | "stderr";
  /** The bytes. */
  data: Uint8Array;
  /**
   * The text these bytes complete (UTF-8, invalid bytes replaced): may hold less
   * than `data` when a character continues in the next chunk, or more when one ended here.
   */
  text: string;
}
