/**
 * File downloads (streamed, single ranges, conditional) and tar archives.
 *
 * @module
 */
import { Hono } from "hono";
import { getMimeType } from "hono/utils/mime";
import { RangeNotSatisfiableError, readRangeHeader } from "../../../mod.ts";
import type { GatewayEnv } from "../_auth.ts";
import { fileEtag, ifRangeHolds, noneMatch } from "../_etag.ts";
import { ImagePathSchema, wildcardRest } from "../_paths.ts";
import { Problem } from "../_problem.ts";
import { ArchiveQuery, FileQuery, RefParams } from "../_schemas.ts";
import { resolveRef, upstream } from "../_upstream.ts";
import { parseOr400, valid } from "../_validate.ts";

/** Images never change: a UUID URL may be cached forever; a tag may move. */
const IMMUTABLE = "public, max-age=31536000, immutable";

/**
 * `Content-Disposition` for a file name: an ASCII fallback and the RFC 8187 UTF-8 form.
 *
 * @example
 * ```ts
 * import { attachment } from "./files.ts";
 *
 * attachment("résumé.pdf"); // `attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`
 * ```
 */
export function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const utf8 = encodeURIComponent(name).replace(
    /['()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16)}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}

/** 416, with the file's size when known (`Content-Range: bytes *` + `/SIZE`). */
function unsatisfiable(size: number | undefined): Problem {
  return new Problem(416, "the range is malformed or starts past the end of the file", {
    headers: { "content-range": `bytes */${size ?? "*"}` },
  });
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * `GET`/`HEAD /images/:ref/files/*` and `GET`/`HEAD /images/:ref/archive/*`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { fileRoutes } from "./files.ts";
 *
 * const app = new Hono().route("/", fileRoutes());
 * ```
 */
export function fileRoutes(): Hono<GatewayEnv> {
  return new Hono<GatewayEnv>()
    .get(
      "/images/:ref/files/*",
      valid("param", RefParams),
      valid("query", FileQuery),
      async (c) => {
        const client = c.get("client");
        const path = parseOr400("path", ImagePathSchema, wildcardRest(c));
        if (path === "/") throw new Problem(422, "the image root is a directory, not a file");
        const { ref } = c.req.valid("param");
        const uuid = await resolveRef(client, ref);
        const etag = fileEtag(uuid, path);
        const headers = new Headers({
          etag,
          "cache-control": "uuid" in ref ? IMMUTABLE : "no-cache",
          "x-content-type-options": "nosniff",
          "content-security-policy": "sandbox",
        });
        if (noneMatch(c.req.header("if-none-match"), etag)) {
          const exists = await upstream(() => client.imageFileExists(uuid, path), "no such file");
          if (!exists) throw new Problem(404, "no such image or file");
          return new Response(null, { status: 304, headers });
        }
        // One range is asked of upstream (which serves it, or the client cuts it out of the
        // whole file); a malformed one is answered 416 once the size is known.
        const asked = ifRangeHolds(c.req.header("if-range"), etag)
          ? readRangeHeader(c.req.header("range"))
          : "whole";
        const { body, size, range } = await upstream(
          () =>
            client.downloadStream(uuid, path, typeof asked === "object" ? { range: asked } : {})
              .catch((error) => {
                if (!(error instanceof RangeNotSatisfiableError)) throw error;
                throw unsatisfiable(error.size);
              }),
          "no such image or file",
        );
        headers.set("content-type", getMimeType(path) ?? "application/octet-stream");
        if (c.req.valid("query").download) {
          headers.set(
            "content-disposition",
            attachment(basename(path)),
          );
        }
        if (asked === "invalid") {
          await body.cancel();
          throw unsatisfiable(size);
        }
        headers.set("accept-ranges", size === undefined ? "none" : "bytes");
        if (size !== undefined) headers.set("content-length", String(size));
        let status = 200;
        if (range) {
          status = 206;
          headers.set("content-range", `bytes ${range.start}-${range.end}/${range.total ?? "*"}`);
        }
        if (c.req.method === "HEAD") {
          await body.cancel();
          return new Response(null, { status, headers });
        }
        return new Response(body, { status, headers });
      },
    )
    .get(
      "/images/:ref/archive/*",
      valid("param", RefParams),
      valid("query", ArchiveQuery),
      async (c) => {
        const client = c.get("client");
        const path = parseOr400("path", ImagePathSchema, wildcardRest(c));
        const { ref } = c.req.valid("param");
        const { gzip } = c.req.valid("query");
        const uuid = await resolveRef(client, ref);
        const name = `${basename(path) || "image"}.${gzip ? "tar.gz" : "tar"}`;
        const headers = new Headers({
          "content-type": gzip ? "application/gzip" : "application/x-tar",
          "content-disposition": attachment(name),
          "cache-control": "uuid" in ref ? IMMUTABLE : "no-cache",
          "x-content-type-options": "nosniff",
        });
        if (c.req.method === "HEAD") {
          const exists = await upstream(() => client.archiveExists(uuid, path), "no such path");
          if (!exists) throw new Problem(404, "no such image or path");
          return new Response(null, { status: 200, headers });
        }
        const tar = await upstream(
          () => client.archive(uuid, path, { compressed: gzip }),
          "no such image or path",
        );
        return new Response(tar, { status: 200, headers });
      },
    );
}
