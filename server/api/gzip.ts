/** Response compression, negotiated per request. */
import type { MiddlewareHandler } from "hono";
import { gzipSync } from "node:zlib";
import { gzipStream } from "./_gzip_stream.ts";

const STREAMED_TYPES = ["text/event-stream", "application/x-tar", "application/octet-stream"];

/**
 * Whether an `Accept-Encoding` header accepts gzip (`gzip` or `*`, not with `q=0`).
 *
 * @example
 * ```ts
 * acceptsGzip("gzip, deflate"); // true
 * acceptsGzip("identity"); // false
 * ```
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(",").some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(";");
    if (coding.trim() !== "gzip" && coding.trim() !== "*") return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/**
 * Gzips responses only when the request's `Accept-Encoding` allows it (the contree CLI
 * sends `identity`). Buffered bodies are compressed whole with a fresh `Content-Length`;
 * streams (SSE, tar archives, downloads) are compressed incrementally with a sync flush
 * per chunk, then the gzip trailer. `HEAD` replies are left alone.
 *
 * @example
 * ```ts
 * app.use("*", gzip());
 * ```
 */
export function gzip(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const res = c.res;
    res.headers.append("Vary", "Accept-Encoding");
    if (
      c.req.method === "HEAD" || !res.body || res.headers.has("Content-Encoding") ||
      // A part is sent as stored: its Content-Range counts the file's own bytes.
      res.status === 206 ||
      !acceptsGzip(c.req.header("Accept-Encoding"))
    ) return;
    const headers = new Headers(res.headers);
    headers.set("Content-Encoding", "gzip");
    const type = headers.get("Content-Type") ?? "";
    let body: BodyInit;
    if (STREAMED_TYPES.some((t) => type.startsWith(t))) {
      headers.delete("Content-Length");
      body = res.body.pipeThrough(gzipStream());
    } else {
      const compressed = gzipSync(new Uint8Array(await res.arrayBuffer()));
      headers.set("Content-Length", String(compressed.byteLength));
      body = new Uint8Array(compressed);
    }
    c.res = undefined;
    c.res = new Response(body, { status: res.status, statusText: res.statusText, headers });
  };
}
