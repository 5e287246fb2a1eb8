/** A process's stdin fed by API writes. */

/**
 * Bytes written through the API, queued for a process's stdin: `readable` goes to the
 * sandbox, which pipes it into the process. A write resolves once the process's pipe took
 * it, and rejects when the process exited or closed its stdin, or the run ended.
 */
export class StdinChannel {
  /** What the sandbox pipes into the process. */
  readonly readable: ReadableStream<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #closed = false;

  /** Starts with `initial`, closed after it when `close`. */
  constructor(initial: Uint8Array, close: boolean) {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    this.readable = readable;
    this.#writer = writable.getWriter();
    this.write(initial, close).catch(() => {
      // Nobody waits for the initial bytes; a later write reports the failure.
    });
  }

  /** Whether it was closed (no more writes are taken). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Queues `bytes`, then EOF when `close`. */
  write(bytes: Uint8Array, close: boolean): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("stdin is closed"));
    this.#closed = close;
    const done: Promise<void>[] = [];
    if (bytes.byteLength > 0) done.push(this.#writer.write(bytes));
    if (close) done.push(this.#writer.close());
    return Promise.all(done).then(() => {});
  }

  /** Closes it for good: pending writes reject, the process gets EOF. */
  end(): void {
    this.#closed = true;
    this.#writer.abort().catch(() => {});
  }
}
