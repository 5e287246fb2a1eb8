/**
 * An incremental parser of `text/event-stream` bodies.
 *
 * It accepts LF, CRLF and CR line endings (also split across chunks), joins
 * multi-line `data:` with `\n`, skips comment lines (`: keepalive`), drops an
 * unfinished frame at end of stream, and fails with an `SSEStreamError` when a
 * frame grows past {@linkcode SSE_MAX_FRAME_BYTES}.
 *
 * @module
 */
import { FrameDecoder, type FrameHandler, MAX_FRAME_BYTES } from "./_sse_decoder.ts";

/**
 * The largest frame accepted, in bytes: 4 MiB.
 *
 * @example
 * ```ts
 * import { SSE_MAX_FRAME_BYTES } from "@contree/sdk";
 *
 * console.log(SSE_MAX_FRAME_BYTES); // 4194304
 * ```
 */
export const SSE_MAX_FRAME_BYTES: number = MAX_FRAME_BYTES;

/**
 * One dispatched frame.
 *
 * @example
 * ```ts
 * import type { SSEMessage } from "@contree/sdk";
 *
 * const message: SSEMessage = { event: "message", data: "hello", id: "1" };
 * ```
 */
export interface SSEMessage {
  /** The `event:` field, `"message"` when absent. */
  event: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** The frame's own `id:` field, when it had one. */
  id?: string;
  /** The `retry:` field in milliseconds, when it had a valid one. */
  retry?: number;
}

/** Builds SSEMessages out of decoded frames. */
function toMessages(emit: (message: SSEMessage) => void): FrameHandler {
  return (event, data, id, retry) => {
    const message: SSEMessage = { event: event || "message", data };
    if (id !== undefined) message.id = id;
    if (retry !== undefined) message.retry = retry;
    emit(message);
  };
}

/**
 * A `TransformStream` from the bytes of an event stream to its messages.
 *
 * @example Parse a body
 * ```ts
 * import { SSEParser } from "@contree/sdk";
 *
 * const body = new Response("id: 1\ndata: hello\n\n").body!;
 * for await (const message of body.pipeThrough(new SSEParser())) {
 *   console.log(message.id, message.data); // "1" "hello"
 * }
 * ```
 */
export class SSEParser extends TransformStream<Uint8Array, SSEMessage> {
  /** Creates a parser. */
  constructor() {
    let output: TransformStreamDefaultController<SSEMessage>;
    const decoder = new FrameDecoder(toMessages((message) => output.enqueue(message)));
    super({
      start: (controller) => {
        output = controller;
      },
      transform: (chunk) => decoder.push(chunk),
    });
  }
}

/**
 * Iterates over the messages of an event-stream body. Stopping the iteration
 * cancels the body.
 *
 * @example
 * ```ts
 * import { parseSSE } from "@contree/sdk";
 *
 * const body = new Response(": keepalive\n\nevent: ping\ndata: a\ndata: b\n\n").body!;
 * for await (const message of parseSSE(body)) {
 *   console.log(message.event, JSON.stringify(message.data)); // ping "a\nb"
 * }
 * ```
 */
export async function* parseSSE(stream: ReadableStream<Uint8Array>): AsyncGenerator<SSEMessage> {
  const ready: SSEMessage[] = [];
  const decoder = new FrameDecoder(toMessages((message) => ready.push(message)));
  const reader = stream.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      let failure: unknown;
      try {
        decoder.push(value);
      } catch (error) {
        failure = error;
      }
      for (const message of ready) yield message;
      ready.length = 0;
      if (failure !== undefined) throw failure;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
