/**
 * The names of the gateway's settings, as environment variables or Worker bindings.
 *
 * @module
 */

/**
 * The variables the gateway reads:
 * - `CONTREE_URL` (required): the ConTree API base URL;
 * - `CONTREE_TOKEN` (required): the upstream token, never shown to clients;
 * - `CONTREE_PROJECT` (optional): the upstream project, for IAM tokens;
 * - `GATEWAY_KEYS` (required): comma-separated API keys, `ro:KEY` for read-only ones;
 * - `GATEWAY_CORS_ORIGINS` (optional): comma-separated allowed origins, or `*`.
 *
 * @example
 * ```ts
 * import type { GatewayEnvVars } from "./env_vars.ts";
 *
 * const vars: GatewayEnvVars = {
 *   CONTREE_URL: "http://127.0.0.1:8080",
 *   CONTREE_TOKEN: "upstream-token",
 *   GATEWAY_KEYS: "k_admin_0123456789abcdef,ro:k_viewer_0123456789abcdef",
 * };
 * ```
 */
export interface GatewayEnvVars {
  /** The ConTree API base URL. */
  CONTREE_URL?: string;
  /** The upstream bearer token. */
  CONTREE_TOKEN?: string;
  /** The upstream project. */
  CONTREE_PROJECT?: string;
  /** The gateway's API keys. */
  GATEWAY_KEYS?: string;
  /** CORS origins. */
  GATEWAY_CORS_ORIGINS?: string;
}
