// Where one output stream of a run goes while it executes: a buffer (text or
// bytes), nowhere, or a caller's WritableStream fed with backpressure.
import type { OutputChunk, OutputTarget } from "./result.ts";

/** Joins chunks into one array. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  let size = 0;
  for (const chunk of chunks) size += chunk.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** One stream's sink for one execution. */
export class OutputSink {
  readonly #target: OutputTarget;
  readonly #chunks: Uint8Array[] = [];
  readonly #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;

  /** `writer` is shared when stdout and stderr go to the same stream. */
  constructor(target: OutputTarget, writer: WritableStreamDefaultWriter<Uint8Array> | undefined) {
    this.#target = target;
    this.#writer = writer;
  }

  /** Takes one chunk; resolves when a caller's stream accepted it. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.#writer) {
      await this.#writer.write(chunk);
    } else if (this.#target === "text" || this.#target === "bytes") {
      this.#chunks.push(chunk);
    }
  }

  /** The bytes captured so far (empty when not capturing). */
  captured(): Uint8Array {
    return concatBytes(this.#chunks);
  }

  /** The final value for the result. */
  value(): string | Uint8Array | undefined {
    if (this.#target === "text") return new TextDecoder().decode(this.captured());
    if (this.#target === "bytes") return this.captured();
    return undefined;
  }
}

/** The stdout and stderr sinks of one execution, sharing one writer per stream. */
export class OutputSinks {
  readonly stdout: OutputSink;
  readonly stderr: OutputSink;
  readonly #writers: WritableStreamDefaultWriter<Uint8Array>[] = [];

  constructor(stdout: OutputTarget, stderr: OutputTarget) {
    const writerFor = (target: OutputTarget) => {
      if (!(target instanceof WritableStream)) return undefined;
      if (target === stdout && this.#writers.length > 0) return this.#writers[0];
      const writer = target.getWriter();
      this.#writers.push(writer);
      return writer;
    };
    this.stdout = new OutputSink(stdout, writerFor(stdout));
    this.stderr = new OutputSink(stderr, writerFor(stderr));
  }

  /** Closes the callers' streams after a completed run. */
  async close(): Promise<void> {
    for (const writer of this.#writers) await writer.close();
  }

  /** Aborts the callers' streams after a failed run. */
  async abort(reason: unknown): Promise<void> {
    for (const writer of this.#writers) await writer.abort(reason).catch(() => {});
  }
}

/** Adds `text` to a run's live chunks: one streaming UTF-8 decoder per stream. */
export class ChunkDecoder {
  readonly #decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };

  /** The chunk with the text its bytes complete. */
  chunk(stream: OutputChunk["stream"], data: Uint8Array): OutputChunk {
    return { stream, data, text: this.#decoders[stream].decode(data, { stream: true }) };
  }

  /** After the last chunk: the replacement text of a character left incomplete, if any. */
  *flush(): Generator<OutputChunk> {
    for (const stream of ["stdout", "stderr"] as const) {
      const text = this.#decoders[stream].decode();
      if (text) yield { stream, data: new Uint8Array(0), text };
    }
  }
}
