/**
 * A request-body cap whose 413 the client gets to read. A server that answers before reading
 * the body and then closes the connection with unread bytes in its receive buffer makes the
 * kernel send a reset, which can destroy the answer before the client reads it. So the body is
 * read to its end (and dropped) before the 413 goes out, up to a bound past which the gateway
 * stops reading.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { GatewayEnv } from "./_auth.ts";
import { Problem } from "./_problem.ts";

/** The most of an oversized body read and dropped before answering 413, in bytes. */
const DRAIN_BYTES = 64 * 1024 * 1024;

/** Reads and drops `body` up to `limit` bytes; cancels what is left past it. */
async function drain(body: ReadableStream<Uint8Array>, limit: number): Promise<void> {
  const reader = body.getReader();
  let read = 0;
  try {
    while (read <= limit) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // the client went away: nothing left to answer
  }
}

/**
 * Caps request bodies at `max` bytes: a declared `Content-Length` over it, or a streamed body
 * that grows past it, is answered 413 (field `body`) once the body has been read.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { bodyLimit } from "./_body_limit.ts";
 * import type { GatewayEnv } from "./_auth.ts";
 *
 * const app = new Hono<GatewayEnv>();
 * app.post("/echo", bodyLimit(1024), async (c) => c.text(await c.req.text()));
 * ```
 */
export function bodyLimit(max: number): MiddlewareHandler<GatewayEnv> {
  const tooLarge = () =>
    new Problem(413, `the body is larger than ${max} bytes`, {
      issues: [{ field: "body", message: "too large" }],
    });
  return async (c, next) => {
    const body = c.req.raw.body;
    if (body === null) return await next();
    const declared = c.req.header("content-length");
    if (declared !== undefined && Number(declared) > max) {
      await drain(body, DRAIN_BYTES);
      throw tooLarge();
    }
    // A streamed body is counted as the handler reads it; past the cap the rest is read and
    // dropped, the handler sees the stream fail, and the answer becomes the 413.
    let size = 0;
    let over = false;
    const capped = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          size += chunk.byteLength;
          if (size > max) over = true;
          else controller.enqueue(chunk);
          if (size > DRAIN_BYTES) controller.terminate();
        },
        flush(controller) {
          if (over) controller.error(tooLarge());
        },
      }),
    );
    c.req.raw = new Request(c.req.raw, { body: capped, duplex: "half" } as RequestInit);
    await next();
    if (over) throw tooLarge();
  };
}
