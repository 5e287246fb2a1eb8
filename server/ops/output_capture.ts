/** Capture of one output stream up to `truncate_output_at` bytes. */

/**
 * Keeps the first `limit` bytes of a stream and counts the rest.
 *
 * @example
 * ```ts
 * const out = new OutputCapture(4);
 * out.push(new TextEncoder().encode("hello")); // bytes of "hell"
 * out.dropped; // 1
 * ```
 */
export class OutputCapture {
  readonly #limit: number;
  #chunks: Uint8Array[] = [];
  #kept = 0;
  #total = 0;

  /** Captures at most `limit` bytes. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Adds a chunk; returns the part that was kept (`null` when nothing was). */
  push(chunk: Uint8Array): Uint8Array | null {
    this.#total += chunk.byteLength;
    const room = this.#limit - this.#kept;
    if (room <= 0 || chunk.byteLength === 0) return null;
    const kept = chunk.byteLength <= room ? chunk : chunk.subarray(0, room);
    const copy = kept.slice();
    this.#chunks.push(copy);
    this.#kept += copy.byteLength;
    return copy;
  }

  /** Bytes kept. */
  get emitted(): number {
    return this.#kept;
  }

  /** Bytes seen past the limit. */
  get dropped(): number {
    return this.#total - this.#kept;
  }

  /** Whether anything was dropped. */
  get truncated(): boolean {
    return this.#total > this.#kept;
  }

  /** The kept bytes as one array. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#kept);
    let offset = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return out;
  }
}
