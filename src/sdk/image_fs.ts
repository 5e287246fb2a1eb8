/**
 * Entries of an image's filesystem, as listed by `image.ls()`.
 *
 * @module
 */

import type { FileItem } from "../wire/types.ts";
import type { ContreeImage } from "./image.ts";

/** Joins a directory and a relative name with one `/`. */
function joinPath(dir: string, name: string): string {
  if (name === "") return dir;
  if (name.startsWith("/")) return name;
  return `${dir.replace(/\/+$/, "")}/${name}`;
}

/**
 * What every entry of a listing has: the server's `FileItem` fields (in
 * camelCase) plus where it was listed from.
 *
 * @example
 * ```ts
 * import type { ImageEntry } from "@contree/sdk";
 *
 * const line = (entry: ImageEntry) => `${entry.mode.toString(8)} ${entry.size} ${entry.fullPath}`;
 * ```
 */
export abstract class ImageEntry {
  /** The image the entry belongs to. */
  readonly image: ContreeImage<unknown, unknown>;
  /** The listed directory. */
  readonly basePath: string;
  /** The name relative to `basePath`. */
  readonly path: string;
  /** Size in bytes. */
  readonly size: number;
  /** Owner name (or uid). */
  readonly owner: string | number;
  /** Group name (or gid). */
  readonly group: string | number;
  /** Numeric uid. */
  readonly uid: number;
  /** Numeric gid. */
  readonly gid: number;
  /** Full `st_mode`, e.g. `0o100644`. */
  readonly mode: number;
  /** Modification time, unix seconds. */
  readonly mtime: number;
  /** Link count. */
  readonly nlink: number;
  /** Is a symlink (see `symlinkTo`). */
  readonly isSymlink: boolean;
  /** Is a socket. */
  readonly isSocket: boolean;
  /** Is a FIFO. */
  readonly isFifo: boolean;
  /** Is a regular file. */
  readonly isRegular: boolean;
  /** The symlink's target, `""` when not a symlink. */
  readonly symlinkTo: string;

  /** Creates the entry from the server's item. */
  constructor(image: ContreeImage<unknown, unknown>, basePath: string, item: FileItem) {
    this.image = image;
    this.basePath = basePath;
    this.path = item.path;
    this.size = item.size;
    this.owner = item.owner;
    this.group = item.group;
    this.uid = item.uid;
    this.gid = item.gid;
    this.mode = item.mode;
    this.mtime = item.mtime;
    this.nlink = item.nlink;
    this.isSymlink = item.is_symlink;
    this.isSocket = item.is_socket;
    this.isFifo = item.is_fifo;
    this.isRegular = item.is_regular;
    this.symlinkTo = item.symlink_to;
  }

  /** Whether this is a directory. */
  abstract get isDir(): boolean;

  /** `basePath` joined with `path`. */
  get fullPath(): string {
    return joinPath(this.basePath, this.path);
  }

  /** The last component of the path. */
  get name(): string {
    return this.fullPath.split("/").filter((part) => part !== "").at(-1) ?? "/";
  }
}

/**
 * A file (or anything that is not a directory) of an image.
 *
 * @example
 * ```ts
 * import { ImageFile, type ContreeImage } from "@contree/sdk";
 *
 * async function cat(image: ContreeImage) {
 *   for (const entry of await image.ls("/etc")) {
 *     if (entry instanceof ImageFile && entry.isRegular) console.log(entry.name, await entry.readText());
 *   }
 * }
 * ```
 */
export class ImageFile extends ImageEntry {
  /** Always `false`. */
  get isDir(): boolean {
    return false;
  }

  /** The file's bytes. */
  read(options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    return this.image.read(this.fullPath, options);
  }

  /** The file as UTF-8 text. */
  readText(options: { signal?: AbortSignal } = {}): Promise<string> {
    return this.image.readText(this.fullPath, options);
  }

  /** The file as a stream, read as it is consumed. */
  open(options: { signal?: AbortSignal } = {}): Promise<ReadableStream<Uint8Array>> {
    return this.image.open(this.fullPath, options);
  }
}

/**
 * A directory of an image.
 *
 * @example
 * ```ts
 * import { ImageDirectory, type ContreeImage } from "@contree/sdk";
 *
 * async function tree(image: ContreeImage, path = "/etc", depth = 0): Promise<void> {
 *   for (const entry of await image.ls(path)) {
 *     console.log(" ".repeat(depth) + entry.name);
 *     if (entry instanceof ImageDirectory && depth < 2) await tree(image, entry.fullPath, depth + 1);
 *   }
 * }
 * ```
 */
export class ImageDirectory extends ImageEntry {
  /** Always `true`. */
  get isDir(): boolean {
    return true;
  }

  /** Lists this directory, or `path` relative to it. */
  ls(path = "", options: { signal?: AbortSignal } = {}): Promise<(ImageFile | ImageDirectory)[]> {
    return this.image.ls(joinPath(this.fullPath, path), options);
  }
}
