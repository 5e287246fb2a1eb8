// Serves a fetch handler (a Hono app) on loopback with node:http, which Deno, Bun and Node
// all provide. Like the real API, answers are gzip-encoded when the request accepts gzip,
// one gzip sync flush per body chunk so that every chunk is decodable before EOF.
// Handlers steer the transport with two response headers, stripped before sending:
//   x-double-truncate-gzip: 1  -> end the gzip stream without its trailer;
//   and a body stream that errors makes the server drop the connection mid-body.
import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";

/** A running server. */
export interface Served {
  url: string;
  close(): Promise<void>;
}

type Handler = (request: Request) => Response | Promise<Response>;

function toRequest(req: http.IncomingMessage, origin: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const method = req.method ?? "GET";
  const body = method === "GET" || method === "HEAD" ? undefined : new ReadableStream<Uint8Array>({
    start(controller) {
      req.on("data", (chunk: Uint8Array) => controller.enqueue(new Uint8Array(chunk)));
      req.on("end", () => controller.close());
      req.on("error", (error) => controller.error(error));
    },
  });
  return new Request(new URL(req.url ?? "/", origin), {
    method,
    headers,
    body,
    // @ts-ignore: Node needs it for stream bodies; the others ignore it.
    duplex: "half",
  });
}

function write(res: http.ServerResponse, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    res.write(chunk, (error) => error ? reject(error) : resolve());
  });
}

function flush(gzip: zlib.Gzip): Promise<void> {
  return new Promise((resolve) => gzip.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
}

async function send(req: http.IncomingMessage, res: http.ServerResponse, response: Response) {
  const headers = new Headers(response.headers);
  const truncate = headers.get("x-double-truncate-gzip") === "1";
  headers.delete("x-double-truncate-gzip");
  const gzip = /\bgzip\b/.test(req.headers["accept-encoding"] ?? "") && response.body !== null &&
    req.method !== "HEAD";
  if (gzip) {
    headers.set("content-encoding", "gzip");
    headers.delete("content-length");
  }
  res.writeHead(response.status, Object.fromEntries(headers));
  if (req.method === "HEAD" || response.body === null) {
    await response.body?.cancel();
    res.end();
    return;
  }
  res.flushHeaders();
  const reader = response.body.getReader();
  // A client that goes away cancels the body, as a fetch server would.
  res.once("close", () => reader.cancel().catch(() => {}));
  const encoder = gzip ? zlib.createGzip() : undefined;
  encoder?.on("data", (part: Uint8Array) => res.write(part));
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (encoder) {
        encoder.write(value);
        await flush(encoder);
        if (res.writableNeedDrain) await new Promise((resolve) => res.once("drain", resolve));
      } else {
        await write(res, value);
      }
    }
  } catch {
    res.destroy();
    return;
  }
  if (encoder && !truncate) {
    await new Promise((resolve) => {
      encoder.once("end", resolve);
      encoder.end();
    });
  }
  res.end();
}

/** Serves `handler` on 127.0.0.1 at a free port. */
export function serve(handler: Handler): Promise<Served> {
  const sockets = new Set<import("node:net").Socket>();
  const server = http.createServer((req, res) => {
    const origin = `http://${req.headers.host ?? "127.0.0.1"}`;
    Promise.resolve()
      .then(() => handler(toRequest(req, origin)))
      .then((response) => send(req, res, response))
      .catch(() => res.destroy());
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
