/** `/v1/inspect`: find an image by tag, read an image, list, download, archive and grep paths. */
import { type Context, Hono } from "hono";
import { grepImage, GrepQueryError, parseGrepQuery } from "../../grep/mod.ts";
import { PathNotFoundError, PathNotUsableError } from "../../images/errors.ts";
import { ImageView } from "../../images/fs_view.ts";
import type { ImageRecord } from "../../store/mod.ts";
import type { ApiContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import { parseRange } from "../../../src/wire/_range.ts";
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
      return await fsErrors(async () => {
        if (flag(c, "text")) return c.text(await v.listText(path(c)));
        return c.json(await v.list(path(c)));
      });
    })
    .get("/inspect/:uuid/download", async (c) => {
      const v = view(c);
      return await fsErrors(async () => {
        const file = await v.open(path(c));
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
      });
    })
    .get("/inspect/:uuid/archive", async (c) => {
      const v = view(c);
      return await fsErrors(async () => {
        if (await v.stat(path(c)) === null) throw new PathNotFoundError(path(c));
        if (c.req.method === "HEAD") return c.body(null, 200);
        return c.body(v.archive(path(c)), 200, { "Content-Type": "application/x-tar" });
      });
    })
    .get("/inspect/:uuid/grep", async (c) => {
      const layers = image(c).layers.map((id) => ctx.layers.path(id));
      return await fsErrors(async () => {
        try {
          const request = parseGrepQuery(c.req.queries());
          return c.json(await grepImage(layers, request, { signal: c.req.raw.signal }));
        } catch (error) {
          if (error instanceof GrepQueryError) throw new HttpError(400, error.message);
          throw error;
        }
      });
    });
}

async function fsErrors(fn: () => Promise<Response>): Promise<Response> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof PathNotFoundError) throw new HttpError(404, error.message);
    if (error instanceof PathNotUsableError) throw new HttpError(422, error.message);
    throw error;
  }
}
