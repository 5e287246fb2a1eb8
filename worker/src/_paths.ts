/**
 * Paths inside images and image references, as they arrive in the gateway's URLs.
 *
 * @module
 */
import type { Context } from "hono";
import { routePath } from "hono/route";
import * as v from "valibot";

const encoder = new TextEncoder();

/**
 * The longest path accepted, in bytes once decoded (Linux `PATH_MAX`).
 *
 * @example
 * ```ts
 * import { MAX_PATH_BYTES } from "./_paths.ts";
 *
 * console.log(MAX_PATH_BYTES); // 4096
 * ```
 */
export const MAX_PATH_BYTES = 4096;
/**
 * The longest path segment accepted, in bytes once decoded (Linux `NAME_MAX`).
 *
 * @example
 * ```ts
 * import { MAX_SEGMENT_BYTES } from "./_paths.ts";
 *
 * console.log(MAX_SEGMENT_BYTES); // 255
 * ```
 */
export const MAX_SEGMENT_BYTES = 255;

/**
 * A path inside an image, as the still-percent-encoded rest of a URL: decoded as strict UTF-8,
 * normalised (empty and `.` segments dropped) to an absolute path. `..` segments, control
 * characters and over-long paths or segments are rejected; so is bad percent-encoding.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { ImagePathSchema } from "./_paths.ts";
 *
 * v.parse(ImagePathSchema, "etc//./hosts"); // "/etc/hosts"
 * v.safeParse(ImagePathSchema, "etc/%2e%2e/x").success; // false
 * ```
 */
export const ImagePathSchema: v.GenericSchema<string, string> = v.pipe(
  v.string(),
  v.maxLength(MAX_PATH_BYTES * 3, "the path is too long"),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(dataset.value);
    } catch {
      addIssue({ message: "the path is not valid percent-encoded UTF-8" });
      return NEVER;
    }
    // deno-lint-ignore no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(decoded)) {
      addIssue({ message: "the path contains control characters" });
      return NEVER;
    }
    const segments = decoded.split("/").filter((segment) => segment !== "" && segment !== ".");
    if (segments.includes("..")) {
      addIssue({ message: "the path must not contain `..` segments" });
      return NEVER;
    }
    if (segments.some((segment) => encoder.encode(segment).byteLength > MAX_SEGMENT_BYTES)) {
      addIssue({ message: `a path segment is longer than ${MAX_SEGMENT_BYTES} bytes` });
      return NEVER;
    }
    const path = `/${segments.join("/")}`;
    if (encoder.encode(path).byteLength > MAX_PATH_BYTES) {
      addIssue({ message: `the path is longer than ${MAX_PATH_BYTES} bytes` });
      return NEVER;
    }
    return path;
  }),
);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TAG = /^[a-z0-9_-]+(?:[:/.][a-z0-9_-]+)*$/;

/**
 * An image tag: `a-z 0-9 _ -` with `: / .` separators, at most 256 characters.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { TagSchema } from "./_paths.ts";
 *
 * v.parse(TagSchema, "my/app:v1"); // "my/app:v1"
 * ```
 */
export const TagSchema: v.GenericSchema<string> = v.pipe(
  v.string(),
  v.minLength(1, "the tag is empty"),
  v.maxLength(256, "a tag has at most 256 characters"),
  v.regex(TAG, "a tag uses a-z 0-9 _ - separated by : / ."),
);

/**
 * An image named by UUID or by tag.
 *
 * @example
 * ```ts
 * import type { ImageRef } from "./_paths.ts";
 *
 * const ref: ImageRef = { tag: "busybox:latest" };
 * ```
 */
export type ImageRef = { uuid: string } | { tag: string };

/**
 * An image reference from a URL segment: a UUID (any case) or a tag (`/` percent-encoded as
 * `%2F` in URLs).
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { ImageRefSchema } from "./_paths.ts";
 *
 * v.parse(ImageRefSchema, "busybox:latest"); // { tag: "busybox:latest" }
 * ```
 */
export const ImageRefSchema: v.GenericSchema<string, ImageRef> = v.pipe(
  v.string(),
  v.maxLength(256, "a reference has at most 256 characters"),
  v.check((ref) => UUID.test(ref) || TAG.test(ref), "expected an image UUID or a tag"),
  v.transform((ref): ImageRef => UUID.test(ref) ? { uuid: ref.toLowerCase() } : { tag: ref }),
);

/**
 * The still-encoded rest of the URL path after a route pattern ending in `/*`, e.g. `etc/hosts`
 * for `/images/busybox:latest/files/etc/hosts` under `/images/:ref/files/*`. Percent-escapes of
 * `/` and `%` are left as they came (Hono's path decoding keeps them), so decoding happens once.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { wildcardRest } from "./_paths.ts";
 *
 * const app = new Hono();
 * app.get("/files/*", (c) => c.text(wildcardRest(c)));
 * ```
 */
export function wildcardRest(c: Context): string {
  const depth = routePath(c, -1).split("/").length - 1;
  return c.req.path.split("/").slice(depth).join("/");
}
