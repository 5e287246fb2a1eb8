/**
 * The ConTree gateway: a Hono app exposing ConTree sandboxes over HTTP (browse and download
 * images, run commands), with API keys, validation, streaming downloads and runs, and an
 * access log. The app is free of runtime details; `deno.ts`, `bun.ts` and `cloudflare.ts` serve
 * it under Deno, Bun and Cloudflare Workers.
 *
 * @example
 * ```ts
 * import { createGateway, parseGatewayKeys } from "./mod.ts";
 *
 * const app = createGateway({
 *   upstream: { url: "http://127.0.0.1:8080", token: "upstream-token" },
 *   keys: parseGatewayKeys("k_admin_0123456789abcdef,ro:k_viewer_0123456789abcdef"),
 * });
 * const res = await app.request("/healthz");
 * console.log(await res.json()); // { status: "ok" }
 * ```
 *
 * @module
 */
export { createGateway, type GatewayConfig, MAX_BODY_BYTES } from "./src/app.ts";
export type { GatewayBindings, GatewayEnv, GatewayVariables } from "./src/_auth.ts";
export { gatewayOptionsFromEnv } from "./src/env.ts";
export type { GatewayEnvVars } from "./src/env_vars.ts";
export {
  type GatewayKey,
  generateGatewayKey,
  type KeyScope,
  parseGatewayKeys,
} from "./src/keys.ts";
export { openApiDocument } from "./src/openapi.ts";
export type {
  AccessLogEntry,
  CorsOptions,
  GatewayOptions,
  UpstreamOptions,
} from "./src/options.ts";
export type { FieldIssue, ProblemBody } from "./src/_problem.ts";
export type { ImageJson } from "./src/routes/images.ts";
export type { RunResultJson } from "./src/routes/run.ts";
