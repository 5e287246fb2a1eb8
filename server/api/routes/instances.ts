/** `POST /v1/instances`. */
import { Hono } from "hono";
import { parseSpawnRequest } from "../../ops/mod.ts";
import { readJson } from "../body.ts";
import type { ApiContext } from "../context.ts";
import { HttpError } from "../http_error.ts";

/**
 * Spawns a run: validates the body (400 naming the field), resolves the image and files
 * (404), then answers 201 with `Location: /v1/operations/<uuid>` and the accepted request.
 * A full queue is a 429 with nothing stored, so clients may replay the POST.
 *
 * @example
 * ```ts
 * app.route("/v1", instanceRoutes(ctx));
 * ```
 */
export function instanceRoutes(ctx: ApiContext): Hono {
  return new Hono().post("/instances", async (c) => {
    const parsed = parseSpawnRequest(await readJson(c, ctx.maxBodyBytes), ctx.limits);
    if (!parsed.ok) throw new HttpError(400, parsed.error);
    const op = ctx.engine.spawn(parsed.request);
    return c.json({ uuid: op.uuid, ...op.metadata }, 201, {
      Location: `/v1/operations/${op.uuid}`,
    });
  });
}
