/**
 * Image routes: list, inspect, list a directory, and tag or untag.
 *
 * @module
 */
import { Hono } from "hono";
import type { FileItem, Image } from "../../../mod.ts";
import { type GatewayEnv, requireWrite } from "../_auth.ts";
import { ImagePathSchema } from "../_paths.ts";
import { encodeCursor, ListQuery, RefParams, TagBody } from "../_schemas.ts";
import { resolveRef, upstream } from "../_upstream.ts";
import { parseOr400, requireJson, valid } from "../_validate.ts";
import { wildcardRest } from "../_paths.ts";

/**
 * An image as the gateway shows it.
 *
 * @example
 * ```ts
 * import type { ImageJson } from "./images.ts";
 *
 * const label = (image: ImageJson) => image.tag ?? image.uuid;
 * ```
 */
export interface ImageJson {
  /** The image UUID. */
  uuid: string;
  /** Its tag, or `null`. */
  tag: string | null;
  /** When it was made, ISO-8601, or `null` when unknown. */
  createdAt: string | null;
}

/**
 * The gateway's JSON for a wire image.
 *
 * @example
 * ```ts
 * import { imageJson } from "./images.ts";
 *
 * imageJson({ uuid: "0b8e5f8e-2b7c-4f55-9d57-8d0c2a3a8b51", tag: "busybox:latest" });
 * // { uuid: "0b8e…", tag: "busybox:latest", createdAt: null }
 * ```
 */
export function imageJson(image: Image): ImageJson {
  return { uuid: image.uuid, tag: image.tag ?? null, createdAt: image.created_at ?? null };
}

function entryType(item: FileItem): string {
  if (item.is_dir) return "directory";
  if (item.is_symlink) return "symlink";
  if (item.is_regular) return "file";
  if (item.is_socket) return "socket";
  if (item.is_fifo) return "fifo";
  return "other";
}

function entryJson(item: FileItem) {
  return {
    name: item.path,
    type: entryType(item),
    size: item.size,
    mode: (item.mode & 0o7777).toString(8).padStart(4, "0"),
    uid: item.uid,
    gid: item.gid,
    mtime: new Date(item.mtime * 1000).toISOString(),
    ...(item.is_symlink ? { target: item.symlink_to } : {}),
  };
}

/**
 * `GET /images`, `GET /images/:ref`, `GET /images/:ref/ls/*`, `PUT` and `DELETE
 * /images/:ref/tag`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { imageRoutes } from "./images.ts";
 *
 * const app = new Hono().route("/", imageRoutes());
 * ```
 */
export function imageRoutes(): Hono<GatewayEnv> {
  return new Hono<GatewayEnv>()
    .get("/images", valid("query", ListQuery), async (c) => {
      const client = c.get("client");
      const { tagged, prefix, limit, cursor } = c.req.valid("query");
      const offset = cursor ?? 0;
      const page = await upstream(() =>
        client.listImages({ limit, offset, tagged, tag: prefix || undefined })
      );
      const images = page.images.map(imageJson);
      const nextCursor = images.length === limit ? encodeCursor(offset + limit) : null;
      return c.json({ images, nextCursor });
    })
    .get("/images/:ref", valid("param", RefParams), async (c) => {
      const client = c.get("client");
      const uuid = await resolveRef(client, c.req.valid("param").ref);
      const image = await upstream(() => client.inspectImage(uuid), "no such image");
      return c.json(imageJson(image));
    })
    .get("/images/:ref/ls/*", valid("param", RefParams), async (c) => {
      const client = c.get("client");
      const path = parseOr400("path", ImagePathSchema, wildcardRest(c));
      const uuid = await resolveRef(client, c.req.valid("param").ref);
      const list = await upstream(
        () => client.listDirectory(uuid, path),
        "no such image or directory",
      );
      return c.json({ image: uuid, path, entries: list.files.map(entryJson) });
    })
    .put(
      "/images/:ref/tag",
      requireWrite(),
      valid("param", RefParams),
      requireJson(),
      valid("json", TagBody),
      async (c) => {
        const client = c.get("client");
        const uuid = await resolveRef(client, c.req.valid("param").ref);
        const image = await upstream(
          () => client.updateImageTag(uuid, c.req.valid("json").tag),
          "no such image",
        );
        return c.json(imageJson(image));
      },
    )
    .delete("/images/:ref/tag", requireWrite(), valid("param", RefParams), async (c) => {
      const client = c.get("client");
      const { ref } = c.req.valid("param");
      const uuid = await resolveRef(client, ref);
      await upstream(
        () => client.deleteImageTag(uuid, "tag" in ref ? ref.tag : undefined),
        "no such image or tag",
      );
      return c.body(null, 204);
    });
}
