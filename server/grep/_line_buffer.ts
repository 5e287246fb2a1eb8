/**
 * Reads a file as runs of whole lines the way ripgrep's line buffer does: 64 KiB reads into
 * a buffer that triples when one line does not fit, and binary detection on every read — the
 * read holding the first NUL byte ends the search, so only the lines delivered before it are
 * searched (a NUL in the first 64 KiB means nothing is).
 */

/** Initial buffer size (ripgrep's `DEFAULT_BUFFER_CAPACITY`). */
const CAPACITY = 64 << 10;

/** Why a file was not read to its end. */
export type StopReason = "binary" | "long line";

/** Whole lines of a file. */
export interface LineRun {
  /**
   * The bytes: complete lines, each ending with `\n` except a file's last. Valid until the
   * next read.
   */
  bytes: Uint8Array;
  /** File offset of the first byte. */
  offset: number;
}

/**
 * Successive runs of whole lines of an open file.
 *
 * @example
 * ```ts
 * using file = await Deno.open(path);
 * const lines = new LineBuffer(file, 16 << 20);
 * for (let run = await lines.next(); run; run = await lines.next()) search(run.bytes);
 * ```
 */
export class LineBuffer {
  readonly #file: Deno.FsFile;
  readonly #maxBytes: number;
  #buffer = new Uint8Array(CAPACITY);
  /** Start of the bytes not delivered yet. */
  #start = 0;
  /** End of the bytes read. */
  #end = 0;
  /** File offset of `#buffer[0]`. */
  #offset = 0;
  #eof = false;
  /** Bytes read from the file so far. */
  bytesRead = 0;
  /** Set when the file was not read to its end. */
  stopped?: StopReason;

  /** Reads `file`; a line that would need a buffer over `maxBytes` stops the reading. */
  constructor(file: Deno.FsFile, maxBytes: number) {
    this.#file = file;
    this.#maxBytes = maxBytes;
  }

  /** The next run of lines, or `null` at the end of the file or when reading stopped. */
  async next(): Promise<LineRun | null> {
    if (this.#eof || this.stopped) return null;
    this.#buffer.copyWithin(0, this.#start, this.#end);
    this.#offset += this.#start;
    this.#end -= this.#start;
    this.#start = 0;
    while (true) {
      if (this.#end === this.#buffer.length) {
        if (this.#buffer.length * 3 > this.#maxBytes) {
          this.stopped = "long line";
          return null;
        }
        const grown = new Uint8Array(this.#buffer.length * 3);
        grown.set(this.#buffer);
        this.#buffer = grown;
      }
      const n = await this.#file.read(this.#buffer.subarray(this.#end));
      if (n === null || n === 0) {
        this.#eof = true;
        return this.#deliver(this.#end);
      }
      this.bytesRead += n;
      const fresh = this.#buffer.subarray(this.#end, this.#end + n);
      if (fresh.includes(0)) {
        this.stopped = "binary";
        return null;
      }
      const newline = fresh.lastIndexOf(10);
      this.#end += n;
      if (newline >= 0) return this.#deliver(this.#end - n + newline + 1);
    }
  }

  #deliver(end: number): LineRun | null {
    if (end === 0) return null;
    this.#start = end;
    return { bytes: this.#buffer.subarray(0, end), offset: this.#offset };
  }
}
