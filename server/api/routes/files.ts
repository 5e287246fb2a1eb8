/** `POST|GET /v1/files`, `GET|HEAD /v1/files/{sha256}` and the `?sha256=`/`?uuid=` forms. */
import { type Context, Hono } from "hono";
import type { FileRecord } from "../../store/mod.ts";
import { bodyStream } from "../body.ts";
import type { ApiContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import { page, timeWindow } from "../query.ts";
import { fileJson } from "../render.ts";

/**
 * Content-addressed uploads: the body (fixed length or chunked, up to the body cap) is
 * hashed while it is stored; the same content always gets the same file UUID.
 *
 * @example
 * ```ts
 * app.route("/v1", fileRoutes(ctx));
 * ```
 */
export function fileRoutes(ctx: ApiContext): Hono {
  const { files, blobs } = ctx.store;
  const found = (c: Context, file: FileRecord | undefined, body: (f: FileRecord) => unknown) => {
    if (!file) throw new HttpError(404, "file not found");
    return c.req.method === "HEAD" ? c.body(null, 200) : c.json(body(file));
  };
  return new Hono()
    .post("/files", async (c) => {
      const blob = await blobs.put(bodyStream(c, ctx.maxBodyBytes), ctx.maxBodyBytes);
      const file = files.record(blob.sha256, blob.size);
      return c.json({ uuid: file.uuid, sha256: file.sha256, size: file.size }, 201);
    })
    .get("/files", (c) => {
      const sha256 = c.req.query("sha256");
      const uuid = c.req.query("uuid");
      if (sha256 !== undefined || uuid !== undefined) {
        const file = sha256 !== undefined ? files.bySha256(sha256) : files.byUuid(uuid!);
        return found(c, file, fileJson);
      }
      return c.json({ files: files.list({ ...page(c), ...timeWindow(c) }).map(fileJson) });
    })
    .get("/files/:sha256", (c) => found(c, files.bySha256(c.req.param("sha256")), fileJson));
}
