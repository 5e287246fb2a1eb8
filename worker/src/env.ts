/**
 * Gateway options from environment variables (Deno, Bun) or Worker bindings (Cloudflare).
 *
 * @module
 */
import type { GatewayEnvVars } from "./env_vars.ts";
import type { GatewayOptions } from "./options.ts";
import { parseGatewayKeys } from "./keys.ts";

/**
 * Builds {@linkcode GatewayOptions} from variables; throws a `TypeError` naming the variable
 * that is missing or malformed (never its value).
 *
 * @example
 * ```ts
 * import { gatewayOptionsFromEnv } from "./env.ts";
 *
 * const options = gatewayOptionsFromEnv({
 *   CONTREE_URL: "http://127.0.0.1:8080",
 *   CONTREE_TOKEN: "upstream-token",
 *   GATEWAY_KEYS: "k_admin_0123456789abcdef,ro:k_viewer_0123456789abcdef",
 * });
 * ```
 */
export function gatewayOptionsFromEnv(env: GatewayEnvVars): GatewayOptions {
  const url = env.CONTREE_URL?.trim();
  if (!url) throw new TypeError("CONTREE_URL is not set");
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new TypeError("CONTREE_URL must be an http(s) URL");
  }
  const token = env.CONTREE_TOKEN?.trim();
  if (!token) throw new TypeError("CONTREE_TOKEN is not set");
  const keys = parseGatewayKeys(env.GATEWAY_KEYS ?? "");
  if (keys.length === 0) throw new TypeError("GATEWAY_KEYS has no key");
  const options: GatewayOptions = { upstream: { url, token }, keys };
  const project = env.CONTREE_PROJECT?.trim();
  if (project) options.upstream.project = project;
  const origins = env.GATEWAY_CORS_ORIGINS?.split(",").map((o) => o.trim()).filter(Boolean);
  if (origins && origins.length > 0) {
    options.cors = { origins: origins.includes("*") ? "*" : origins };
  }
  return options;
}
