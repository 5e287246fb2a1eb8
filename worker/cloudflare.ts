/**
 * The gateway as a Cloudflare Worker (`wrangler deploy -c worker/wrangler.toml`).
 *
 * Bindings: `CONTREE_URL` (a var), `CONTREE_TOKEN` and `GATEWAY_KEYS` (secrets), optionally
 * `CONTREE_PROJECT` and `GATEWAY_CORS_ORIGINS`. The app is built once per bindings object.
 *
 * Bodies of known length leave through a `FixedLengthStream`: workerd sends a script-made body
 * chunked whatever its `Content-Length` header says, and the pipe into that stream stays in
 * native code, so a download is not copied chunk by chunk through JavaScript. Its end tells
 * the access log when the response was delivered.
 *
 * @module
 */
import type { ExecutionContext, Hono } from "hono";
import {
  createGateway,
  type GatewayEnv,
  type GatewayEnvVars,
  gatewayOptionsFromEnv,
} from "./mod.ts";

/** workerd's stream of a declared length (a Workers API; no types installed for it here). */
declare class FixedLengthStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(length: number);
}

const apps = new WeakMap<object, Hono<GatewayEnv>>();

function gateway(env: GatewayEnvVars): Hono<GatewayEnv> | undefined {
  let app = apps.get(env);
  if (app) return app;
  try {
    app = createGateway(gatewayOptionsFromEnv(env));
  } catch (error) {
    console.error(`gateway: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  apps.set(env, app);
  return app;
}

/** Sends `response` with its declared length; `delivered` settles when its body is through. */
function sized(response: Response, ctx: ExecutionContext, settle: (ok: boolean) => void): Response {
  const length = response.headers.get("content-length");
  if (response.body === null || length === null || !/^\d{1,15}$/.test(length)) {
    settle(true);
    return response;
  }
  const { readable, writable } = new FixedLengthStream(Number(length));
  const piped = response.body.pipeTo(writable).then(() => true, () => false);
  piped.then(settle);
  ctx.waitUntil(piped);
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  return new Response(readable, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

/** The Worker's handlers. */
const worker: {
  fetch(request: Request, env: GatewayEnvVars, ctx: ExecutionContext): Response | Promise<Response>;
} = {
  async fetch(request, env, ctx) {
    const app = gateway(env);
    if (!app) {
      const problem = {
        type: "about:blank",
        title: "Service Unavailable",
        status: 503,
        detail: "misconfigured",
      };
      return Response.json(problem, {
        status: 503,
        headers: { "content-type": "application/problem+json" },
      });
    }
    let settle!: (ok: boolean) => void;
    const delivered = new Promise<boolean>((resolve) => settle = resolve);
    return sized(await app.fetch(request, { delivered }, ctx), ctx, settle);
  },
};

export default worker;
