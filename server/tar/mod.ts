/**
 * The one tar codec of the local backend: headers read from image layers and archives
 * (`server/registry`) and written for layer conversion and image archives (`server/images`).
 *
 * @example
 * ```ts
 * import { encodeHeader, END_OF_ARCHIVE, padding, TYPEFLAG } from "./server/tar/mod.ts";
 *
 * const body = new TextEncoder().encode("hi\n");
 * const tar = [
 *   encodeHeader({
 *     name: "greeting", type: TYPEFLAG.file, mode: 0o644, uid: 0, gid: 0,
 *     size: body.length, mtime: 0, linkname: "", devmajor: 0, devminor: 0,
 *   }),
 *   body,
 *   padding(body.length),
 *   END_OF_ARCHIVE,
 * ];
 * ```
 *
 * @module
 */
export * from "./header.ts";
