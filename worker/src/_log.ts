/**
 * One structured access-log line per request, written when the response body has been sent
 * (or abandoned), so that `bytes` and `durationMs` cover the whole exchange.
 *
 * How the end is seen: a server adapter that knows when a response was delivered passes that
 * as the `delivered` binding (Deno's `info.completed`, Node's `finish`), and bodies of known
 * length then flow untouched, at full speed; otherwise (Workers) the body is counted as it
 * passes through a small stream.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { GatewayEnv } from "./_auth.ts";
import type { AccessLogEntry } from "./options.ts";

/** The class names behind a server-side failure: the error and, for upstream ones, its cause. */
function errorName(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const cause = error.cause instanceof Error ? `: ${error.cause.name}` : "";
  return `${error.name}${cause}`;
}

/**
 * The default access log: one JSON line per request on `console.log`.
 *
 * @example
 * ```ts
 * import { defaultLog } from "./_log.ts";
 *
 * defaultLog({ ts: new Date().toISOString(), requestId: "r1", method: "GET", route: "/healthz", status: 200, bytes: 15, durationMs: 0.4 });
 * ```
 */
export function defaultLog(entry: AccessLogEntry): void {
  console.log(JSON.stringify(entry));
}

/** workerd's stream of a declared length (a Workers API); `undefined` in other runtimes. */
const FixedLength = (globalThis as {
  FixedLengthStream?: new (length: number) => TransformStream<Uint8Array, Uint8Array>;
}).FixedLengthStream;

/**
 * The access-log middleware: calls the writer that `writer` picks for the request once per
 * request. Streaming bodies are counted as
 * they pass; the entry is written when they end, fail or are cancelled by the client.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { requestId } from "hono/request-id";
 * import { accessLog } from "./_log.ts";
 * import type { GatewayEnv } from "./_auth.ts";
import type { AccessLogEntry } from "./options.ts";
 *
 * const app = new Hono<GatewayEnv>();
 * app.use(requestId(), accessLog(() => (entry) => console.log(JSON.stringify(entry))));
 * ```
 */
export function accessLog(
  writer: (c: Context<GatewayEnv>) => (entry: AccessLogEntry) => void,
): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const started = performance.now();
    const ts = new Date().toISOString();
    await next();
    const write = writer(c);
    const response = c.res;
    const entry = (bytes: number | null, aborted: boolean): AccessLogEntry => {
      const line: AccessLogEntry = {
        ts,
        requestId: c.get("requestId") ?? "",
        method: c.req.method,
        route: routePath(c, -1),
        status: response.status,
        bytes,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      };
      if (aborted) line.aborted = true;
      if (response.status >= 500) {
        const name = errorName(c.error);
        if (name) line.error = name;
      }
      return line;
    };
    // Handlers that build their own Response skip Hono's prepared headers: set the id here
    // (in place; every response the gateway makes has mutable headers).
    response.headers.set("x-request-id", c.get("requestId") ?? "");
    const body = response.body;
    if (body === null || c.req.method === "HEAD") {
      write(entry(0, false));
      return;
    }
    const length = response.headers.get("content-length");
    const known = length !== null && /^\d{1,15}$/.test(length) ? Number(length) : undefined;
    const delivered = c.env?.delivered;
    if (known !== undefined && delivered) {
      delivered.then((ok) => write(ok ? entry(known, false) : entry(null, true)));
      return;
    }
    if (known !== undefined && FixedLength) {
      // Workers: workerd sends a script-made body chunked whatever its Content-Length says; a
      // pipe into a stream of the declared length keeps the length, stays in native code (no
      // chunk passes through JavaScript), and its end tells when the body was delivered.
      const { readable, writable } = new FixedLength(known);
      const piped = body.pipeTo(writable).then(
        () => write(entry(known, false)),
        () => write(entry(null, true)),
      );
      try {
        c.executionCtx.waitUntil(piped);
      } catch {
        // no execution context: the promise runs on anyway
      }
      c.res = new Response(readable, response);
      return;
    }
    let bytes = 0;
    let done = false;
    const finish = (aborted: boolean) => {
      if (done) return;
      done = true;
      write(entry(bytes, aborted));
    };
    const reader = body.getReader();
    const source: UnderlyingDefaultSource<Uint8Array> & { expectedLength?: number } = {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            finish(false);
            return;
          }
          bytes += value.byteLength;
          controller.enqueue(value);
        } catch (error) {
          finish(true);
          controller.error(error);
        }
      },
      cancel(reason) {
        finish(true);
        return reader.cancel(reason);
      },
    };
    // Workers send a script-made stream chunked unless told its length (a workerd extension to
    // the underlying source; other runtimes ignore the field and use the Content-Length header).
    if (known !== undefined) source.expectedLength = known;
    const counted = new ReadableStream<Uint8Array>(source, { highWaterMark: 0 });
    c.res = new Response(counted, response);
  };
}
