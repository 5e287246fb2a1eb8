/** `GET /v1/whoami`. */
import { Hono } from "hono";
import { createHash } from "node:crypto";
import type { ApiContext } from "../context.ts";

const PERMISSIONS = ["spawn", "spawn_disposable", "list", "import", "cancel", "set_image_tag"];

/**
 * Token introspection: a UUID derived from the token, no expiry, every permission, the run
 * time cap.
 *
 * @example
 * ```ts
 * app.route("/v1", whoamiRoutes(ctx));
 * ```
 */
export function whoamiRoutes(ctx: ApiContext): Hono {
  const hex = createHash("sha256").update(ctx.token).digest("hex");
  const tokenUuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${
    hex.slice(17, 20)
  }-${hex.slice(20, 32)}`;
  return new Hono().get("/whoami", (c) =>
    c.json({
      token_uuid: tokenUuid,
      token_expiration: null,
      permissions: Object.fromEntries(PERMISSIONS.map((p) => [p, true])),
      limits: { instance_max_timeout: ctx.limits.maxTimeout },
      operations_stat: {},
    }));
}
