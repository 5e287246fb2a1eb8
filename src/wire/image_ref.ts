/**
 * Image references: a UUID, `tag:NAME`, or a bare tag `NAME`.
 *
 * @module
 */

/**
 * A parsed image reference.
 *
 * @example
 * ```ts
 * import type { ImageRef } from "@contree/sdk";
 *
 * const ref: ImageRef = { kind: "tag", tag: "busybox:latest" };
 * ```
 */
export type ImageRef = { kind: "uuid"; uuid: string } | { kind: "tag"; tag: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether a string is a UUID (8-4-4-4-12 hex digits, any case).
 *
 * @example
 * ```ts
 * import { isUuid } from "@contree/sdk";
 *
 * console.log(isUuid("87654321-9abc-baba-deda-0123456789ab")); // true
 * ```
 */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}

/**
 * Parses an image reference: a UUID, `tag:NAME`, or a bare tag. Throws a
 * `TypeError` for an empty reference or an empty tag.
 *
 * @example
 * ```ts
 * import { parseImageRef } from "@contree/sdk";
 *
 * console.log(parseImageRef("tag:ubuntu:latest")); // { kind: "tag", tag: "ubuntu:latest" }
 * console.log(parseImageRef("ubuntu:latest")); // { kind: "tag", tag: "ubuntu:latest" }
 * ```
 */
export function parseImageRef(ref: string): ImageRef {
  const text = ref.trim();
  if (isUuid(text)) return { kind: "uuid", uuid: text };
  const tag = text.startsWith("tag:") ? text.slice(4) : text;
  if (tag === "") throw new TypeError(`invalid image reference: ${JSON.stringify(ref)}`);
  return { kind: "tag", tag };
}

/**
 * The form the API takes in `image` fields: the UUID, or `tag:NAME`.
 *
 * @example
 * ```ts
 * import { imageRefToWire } from "@contree/sdk";
 *
 * console.log(imageRefToWire("busybox:latest")); // "tag:busybox:latest"
 * ```
 */
export function imageRefToWire(ref: string | ImageRef): string {
  const parsed = typeof ref === "string" ? parseImageRef(ref) : ref;
  return parsed.kind === "uuid" ? parsed.uuid : `tag:${parsed.tag}`;
}
