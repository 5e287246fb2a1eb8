// A reference for bench/gateway_download.ts, not a way to deploy: the gateway behind
// `Bun.serve`, which passes a streamed body on natively but drops its `Content-Length`
// (oven-sh/bun#10507, Bun 1.4.5), so downloads lose their size. It shows what Bun's own
// native pass-through reaches on this machine, beside worker/bun.ts.
//   bun bench/_bun_serve_gateway.ts   (same environment as worker/bun.ts)
import process from "node:process";
import { createGateway, gatewayOptionsFromEnv } from "../worker/mod.ts";

/** The part of Bun's API used here (this repository has no Bun type package). */
declare const Bun: {
  serve(options: {
    hostname: string;
    port: number;
    fetch: (request: Request) => Response | Promise<Response>;
  }): { hostname: string; port: number };
};

const app = createGateway(gatewayOptionsFromEnv(process.env));
const server = Bun.serve({
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 8787),
  // Delivered as soon as handed over: the access log's timing is approximate here.
  fetch: (request: Request) => app.fetch(request, { delivered: Promise.resolve(true) }),
});
console.log(`gateway listening on http://${server.hostname}:${server.port}`);
