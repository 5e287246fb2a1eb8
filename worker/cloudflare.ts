/**
 * The gateway as a Cloudflare Worker (`wrangler deploy -c worker/wrangler.toml`): the same
 * three lines a Workers project writes with `@contree/sdk/gateway`.
 *
 * Bindings: `CONTREE_URL` (a var), `CONTREE_TOKEN` and `GATEWAY_KEYS` (secrets), optionally
 * `CONTREE_PROJECT` and `GATEWAY_CORS_ORIGINS`; read once per bindings object.
 *
 * @module
 */
import { createGateway, gatewayOptionsFromEnv } from "./mod.ts";

export default createGateway(gatewayOptionsFromEnv);
