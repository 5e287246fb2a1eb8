/** `GET /v1/images`, `PATCH|DELETE /v1/images/{uuid}/tag`, `POST /v1/images/import`. */
import { Hono } from "hono";
import * as v from "valibot";
import { ImageImportRequestSchema } from "../../registry/mod.ts";
import { tagProblem } from "../../store/mod.ts";
import { readJson } from "../body.ts";
import type { ApiContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import { flag, page, timeWindow } from "../query.ts";
import { imageJson } from "../render.ts";

const TagBody = v.object({ tag: v.string() });

/**
 * Image listing, tagging, and registry import (201 with the `image_import` operation).
 *
 * @example
 * ```ts
 * app.route("/v1", imageRoutes(ctx));
 * ```
 */
export function imageRoutes(ctx: ApiContext): Hono {
  const { images } = ctx.store;
  return new Hono()
    .get("/images", (c) => {
      const tag = c.req.query("tag");
      const uuid = c.req.query("uuid");
      const list = images.list({
        ...page(c),
        ...timeWindow(c),
        tagged: flag(c, "tagged"),
        tagPrefix: tag || undefined,
        uuid: uuid || undefined,
      });
      return c.json({ images: list.map(imageJson) });
    })
    .patch("/images/:uuid/tag", async (c) => {
      const parsed = v.safeParse(TagBody, await readJson(c, ctx.maxBodyBytes));
      if (!parsed.success) throw new HttpError(400, "tag: a string is required");
      const problem = tagProblem(parsed.output.tag);
      if (problem) throw new HttpError(400, `tag: ${problem}`);
      const image = images.setTag(c.req.param("uuid"), parsed.output.tag);
      if (!image) throw new HttpError(404, "image not found");
      return c.json(imageJson(image));
    })
    .delete("/images/:uuid/tag", (c) => {
      const image = images.removeTag(c.req.param("uuid"), c.req.query("tag") || undefined);
      if (!image) throw new HttpError(404, "image not found");
      return c.body(null, 204);
    })
    .post("/images/import", async (c) => {
      const parsed = v.safeParse(ImageImportRequestSchema, await readJson(c, ctx.maxBodyBytes));
      if (!parsed.success) {
        const issue = parsed.issues[0];
        throw new HttpError(400, `${v.getDotPath(issue) ?? "body"}: ${issue.message}`);
      }
      const problem = parsed.output.tag === undefined ? null : tagProblem(parsed.output.tag);
      if (problem) throw new HttpError(400, `tag: ${problem}`);
      const op = ctx.engine.importImage(parsed.output);
      return c.json({ uuid: op.uuid }, 201, { Location: `/v1/operations/${op.uuid}` });
    });
}
