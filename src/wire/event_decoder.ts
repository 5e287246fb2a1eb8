/**
 * An incremental decoder from the bytes of an operation's event stream to typed
 * events: what the client reads event streams with, for bytes that arrive some
 * other way (a stream passed on by a proxy, a file of a recorded stream).
 *
 * @module
 */
import { SSEStreamError } from "./errors.ts";
import { type OperationEvent, parseOperationEvent } from "./events.ts";
import { FrameDecoder } from "./_sse_decoder.ts";

/**
 * Decodes event-stream bytes, chunk by chunk, into {@linkcode OperationEvent}s. An in-band
 * `sse_error` frame, or a frame over 4 MiB, ends the stream: `push` returns the events before
 * it, and from then on `failure` holds the `SSEStreamError` and every `push` throws it.
 *
 * @example
 * ```ts
 * import { OperationEventDecoder } from "@contree/sdk";
 *
 * const decoder = new OperationEventDecoder();
 * const bytes = new TextEncoder().encode(
 *   'id: 2\nevent: stdout\ndata: {"id":2,"ts":"2026-06-08T20:00:00Z","spid":1,"type":"stdout","data":{"value":"hi\\n","encoding":"ascii"}}\n\n',
 * );
 * for (const event of decoder.push(bytes)) console.log(event.type, decoder.lastEventId); // stdout 2
 * ```
 */
export class OperationEventDecoder {
  #frames: FrameDecoder;
  #events: OperationEvent[] = [];
  #failure: SSEStreamError | undefined;
  #lastEventId: number | undefined;

  /** Creates a decoder; `lastEventId` is the cursor the stream resumed from, if any. */
  constructor(lastEventId?: number) {
    this.#lastEventId = lastEventId;
    this.#frames = new FrameDecoder((event, data, id) => {
      if (event === "sse_error") {
        throw new SSEStreamError(`event stream failed: ${data}`, {
          lastEventId: this.#lastEventId,
        });
      }
      // One shape for every message, `id` present or not: the parser's reads stay monomorphic.
      const parsed = parseOperationEvent({ event: event || "message", data, id });
      if (parsed.id !== undefined) this.#lastEventId = parsed.id;
      this.#events.push(parsed);
    });
  }

  /** The id of the last event decoded (or the cursor given to the constructor). */
  get lastEventId(): number | undefined {
    return this.#lastEventId;
  }

  /** The failure that ended the stream, once there was one. */
  get failure(): SSEStreamError | undefined {
    return this.#failure;
  }

  /** Decodes one chunk; returns the events it completed. */
  push(chunk: Uint8Array): OperationEvent[] {
    if (this.#failure) throw this.#failure;
    try {
      this.#frames.push(chunk);
    } catch (error) {
      if (!(error instanceof SSEStreamError)) throw error;
      this.#failure = error.lastEventId === undefined && this.#lastEventId !== undefined
        ? new SSEStreamError(error.message, { lastEventId: this.#lastEventId })
        : error;
    }
    const events = this.#events;
    this.#events = [];
    return events;
  }
}
