/** `/v1/inspect`: find an image by tag, read an image, list, download, archive and grep paths. */
import { type Context, Hono } from "hono";
import { grepImage, parseGrepQuery } from "../../grep/mod.ts";
import { ImageView } from "../../images/fs_view.ts";
import type { ImageRecord } from "../../store/mod.ts";
import type { ApiContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import { parseRange } from "../../../src/wire/mod.ts";
import { flag } from "../query.ts";
import { imageJson } from "../render.ts";

/**
 * Reads images without spawning. `GET /inspect/?tag=NAME` answers 302 with
 * `Location: <uuid>/` (relative to `/v1/inspect/`); the slash-less forms are served too.
 * Missing paths are 404, paths that cannot be used that way (a directory to download, a
 * file to list) are 422. `HEAD` checks answer without a body. `grep` searches files
 * without a sandbox (see `server/grep`); bad query parameters are 400.
 *
 * @example
 * ```ts
 * app.route("/v1", inspectRoutes(ctx));
 * ```
 */
export function inspectRoutes(ctx: ApiContext): Hono {
  const { images } = ctx.store;
  const image = (c: Context): ImageRecord => {
    const found = images.get(c.req.param("uuid")!);
    if (!found) throw new HttpError(404, "image not found");
    return found;
  };
  const view = (c: Context) => new ImageView(image(c).layers.map((id) => ctx.layers.path(id)));
  const path = (c: Context) => c.req.query("path") || "/";
  const byTag = (slash: boolean) => (c: Context) => {
    const tag = c.req.query("tag");
    if (!tag) throw new HttpError(400, "tag is required");
    const found = images.byTag(tag.startsWith("tag:") ? tag.slice(4) : tag);
    if (!found) throw new HttpError(404, `no image tagged ${tag}`);
    return c.body(null, 302, { Location: slash ? `${found.uuid}/` : `inspect/${found.uuid}/` });
  };
  const show = (c: Context) => c.json(imageJson(image(c)));
  return new Hono()
    .get("/inspect/", byTag(true))
    .get("/inspect", byTag(false))
    .get("/inspect/:uuid/", show)
    .get("/inspect/:uuid", show)
    .get("/inspect/:uuid/list", async (c) => {
      const v = view(c);
      if (flag(c, "text")) return c.text(await v.listText(path(c)));
      return c.json(await v.list(path(c)));
    })
    .get("/inspect/:uuid/download", async (c) => {
      const file = await view(c).open(path(c));
      const headers: Record<string, string> = {
        "Content-Type": "application/octet-stream",
        "Accept-Ranges": "bytes",
      };
      // One byte range is served as asked (an extension: ConTree clients never send one);
      // several ranges get the whole file.
      const range = parseRange(c.req.header("Range"), file.size);
      if (range.kind === "unsatisfiable") {
        throw new HttpError(416, "the range is malformed or starts past the end of the file", {
          "Content-Range": `bytes */${file.size}`,
        });
      }
      let status: 200 | 206 = 200;
      let length = file.size;
      if (range.kind === "partial") {
        status = 206;
        length = range.end - range.start + 1;
        headers["Content-Range"] = `bytes ${range.start}-${range.end}/${file.size}`;
      }
      headers["Content-Length"] = String(length);
      if (c.req.method === "HEAD") return c.body(null, status, headers);
      const body = await file.stream(range.kind === "partial" ? range : undefined);
      return c.body(body, status, headers);
    })
    .get("/inspect/:uuid/archive", async (c) => {
      // Resolved before answering: a missing path or a dangling symlink is a 404, never a
      // 200 with a cut body.
      const body = await view(c).archive(path(c));
      if (c.req.method === "HEAD") {
        await body.cancel();
        return c.body(null, 200);
      }
      return c.body(body, 200, { "Content-Type": "application/x-tar" });
    })
    .get("/inspect/:uuid/grep", async (c) => {
      const layers = image(c).layers.map((id) => ctx.layers.path(id));
      const request = parseGrepQuery(c.req.queries());
      return c.json(await grepImage(layers, request, { signal: c.req.raw.signal }));
    });
}
