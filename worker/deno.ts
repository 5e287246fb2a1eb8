/**
 * The gateway under Deno: `deno run -A worker/deno.ts`.
 *
 * Reads `CONTREE_URL`, `CONTREE_TOKEN`, `CONTREE_PROJECT`, `GATEWAY_KEYS`,
 * `GATEWAY_CORS_ORIGINS`, `HOST` (default `127.0.0.1`) and `PORT` (default 8787; 0 picks a free
 * port) from the environment, and prints `gateway listening on http://HOST:PORT`.
 *
 * @module
 */
import { createGateway, gatewayOptionsFromEnv } from "./mod.ts";

function gateway() {
  try {
    return createGateway(gatewayOptionsFromEnv(Deno.env.toObject()));
  } catch (error) {
    console.error(`gateway: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(2);
  }
}

const app = gateway();
const server = Deno.serve({
  hostname: Deno.env.get("HOST") ?? "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? 8787),
  onListen: ({ hostname, port }) => console.log(`gateway listening on http://${hostname}:${port}`),
}, (request, info) => {
  // The app reads `request.signal` as "the client went away". Deno's own signal also fires
  // after every successful response (legacy behaviour), so hand the app one that aborts only
  // when the connection closed before the response was delivered; `delivered` tells the
  // access log when the response ended.
  const gone = new AbortController();
  const delivered = info.completed.then(() => true, () => {
    gone.abort(new DOMException("the client went away", "AbortError"));
    return false;
  });
  const init: RequestInit & { duplex?: "half" } = {
    method: request.method,
    headers: request.headers,
    body: request.body,
    signal: gone.signal,
  };
  if (request.body) init.duplex = "half";
  return app.fetch(new Request(request.url, init), { delivered });
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => server.shutdown().then(() => Deno.exit(0)));
}
