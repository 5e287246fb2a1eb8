/**
 * The gateway under Bun: `bun worker/bun.ts`.
 *
 * Reads `CONTREE_URL`, `CONTREE_TOKEN`, `CONTREE_PROJECT`, `GATEWAY_KEYS`,
 * `GATEWAY_CORS_ORIGINS`, `HOST` (default `127.0.0.1`) and `PORT` (default 8787; 0 picks a free
 * port) from the environment, and prints `gateway listening on http://HOST:PORT`.
 *
 * It serves through Bun's `node:http` rather than `Bun.serve`, which drops the `Content-Length`
 * of streamed bodies and sends them chunked (oven-sh/bun#10507; still so in Bun 1.4.5, whether
 * the handler returns the upstream `fetch` response itself, a new `Response` of its body with
 * its headers, or a script-made stream): downloads need their length.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { once } from "node:events";
import process from "node:process";
import { createGateway, gatewayOptionsFromEnv } from "./mod.ts";

function gateway() {
  try {
    return createGateway(gatewayOptionsFromEnv(process.env));
  } catch (error) {
    console.error(`gateway: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  }
}

/** A request body as a web stream, pausing the socket while the app is not reading. */
function bodyOf(req: IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on("data", (chunk: Uint8Array) => {
        controller.enqueue(new Uint8Array(chunk));
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      });
      req.once("end", () => controller.close());
      req.once("error", (error) => controller.error(error));
    },
    pull() {
      req.resume();
    },
    cancel() {
      req.resume();
    },
  }, { highWaterMark: 4 });
}

/** The web `Request` of a Node request; its signal aborts when the client goes away early. */
function toRequest(req: IncomingMessage, res: ServerResponse): Request {
  const gone = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) gone.abort(new DOMException("the client went away", "AbortError"));
  });
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  const init: RequestInit & { duplex?: "half" } = {
    method: req.method,
    headers,
    signal: gone.signal,
  };
  if (req.method !== "GET" && req.method !== "HEAD") {
    init.body = bodyOf(req);
    init.duplex = "half";
  }
  return new Request(`http://${headers.get("host") ?? "localhost"}${req.url}`, init);
}

/**
 * Writes a web `Response` to a Node response, with backpressure; stops when the client leaves.
 * An answer given before the request body was read (a 413) closes the connection after it.
 */
async function send(response: Response, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const head = req.method === "HEAD";
  if (!req.complete) res.setHeader("connection", "close");
  res.writeHead(response.status, [...response.headers].flat());
  if (response.body === null || head) {
    await response.body?.cancel();
    res.end();
    return;
  }
  const reader = response.body.getReader();
  const stop = () =>
    reader.cancel(new DOMException("the client went away", "AbortError")).catch(() => {});
  res.once("close", stop);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await once(res, "drain");
    }
    res.end();
  } catch {
    res.destroy();
  } finally {
    res.off("close", stop);
  }
}

/** The most of an unread request body (say, after a 413) discarded before hanging up. */
const DRAIN_BYTES = 8 * 1024 * 1024;

/** Reads and drops what is left of a request body, so the client gets to read the answer. */
function drain(req: IncomingMessage): void {
  if (req.complete) return;
  let left = DRAIN_BYTES;
  req.on("data", (chunk: Uint8Array) => {
    left -= chunk.byteLength;
    if (left < 0) req.destroy();
  });
  req.resume();
}

const app = gateway();
const server = createServer(async (req, res) => {
  try {
    const delivered = new Promise<boolean>((resolve) => {
      res.once("finish", () => resolve(true));
      res.once("close", () => resolve(res.writableFinished));
    });
    await send(await app.fetch(toRequest(req, res), { delivered }), req, res);
  } catch {
    res.destroy();
  }
  drain(req);
});
server.listen(Number(process.env.PORT ?? 8787), process.env.HOST ?? "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : process.env.PORT;
  console.log(`gateway listening on http://${process.env.HOST ?? "127.0.0.1"}:${port}`);
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
