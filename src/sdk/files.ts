/**
 * Content-addressed file uploads: the files manager and the `files` option of
 * a run.
 *
 * @module
 */

import type { ContreeClient } from "../wire/client.ts";
import type { RequestOptions } from "../wire/types.ts";
import { type Content, readContent } from "../wire/hash.ts";
import type { ContreeFile } from "../wire/types.ts";

/**
 * A file already uploaded to ConTree, usable in a run's `files`.
 *
 * @example
 * ```ts
 * import type { Contree } from "@contree/sdk";
 *
 * async function upload(contree: Contree) {
 *   const file = await contree.files.upload(new TextEncoder().encode("hello\n"));
 *   console.log(file.uuid, file.sha256, file.size);
 * }
 * ```
 */
export interface UploadedFile {
  /** The file's UUID. */
  uuid: string;
  /** Lowercase hex SHA-256 of its content. */
  sha256: string;
  /** Its size in bytes. */
  size: number;
}

/**
 * What can be placed at a path of a run: bytes, a `Blob`, a stream, or an
 * {@linkcode UploadedFile}.
 *
 * @example
 * ```ts
 * import type { FileContent } from "@contree/sdk";
 *
 * const script: FileContent = new Blob(["#!/bin/sh\necho hi\n"]);
 * ```
 */
export type FileContent = Content | UploadedFile;

/**
 * A file with its owner and permissions. `mode` is a number (`0o755`) or an
 * octal string (`"0755"`); it replaces the default `0o644`.
 *
 * @example
 * ```ts
 * import type { FileEntry } from "@contree/sdk";
 *
 * const tool: FileEntry = { content: new TextEncoder().encode("#!/bin/sh\necho hi\n"), mode: 0o755 };
 * ```
 */
export interface FileEntry {
  /** The content. */
  content: FileContent;
  /** Permission bits; default `0o644`. */
  mode?: number | string;
  /** Owner uid; default 0. */
  uid?: number;
  /** Owner gid; default 0. */
  gid?: number;
}

/**
 * The `files` option of a run: absolute destination path -> content or entry.
 *
 * @example
 * ```ts
 * import type { RunFiles } from "@contree/sdk";
 *
 * const files: RunFiles = {
 *   "/srv/data.txt": new TextEncoder().encode("1\n2\n3\n"),
 *   "/usr/local/bin/hello": { content: new Blob(["#!/bin/sh\necho hello\n"]), mode: 0o755 },
 * };
 * ```
 */
export type RunFiles = Record<string, FileContent | FileEntry>;

/**
 * Files uploaded to ConTree, deduplicated by SHA-256: content the server
 * already has is never sent twice. Reach it as `contree.files`.
 *
 * @example
 * ```ts
 * import type { Contree } from "@contree/sdk";
 *
 * async function reuse(contree: Contree) {
 *   const data = await contree.files.upload(new Blob(["payload"]));
 *   const image = await contree.images.use("busybox:latest");
 *   await image.run({ command: "cat", args: ["/data"], files: { "/data": data } });
 * }
 * ```
 */
export class FilesManager {
  readonly #api: ContreeClient;
  readonly #opts: () => RequestOptions;

  /** Used by `Contree`; `opts` gives the options of every request. */
  constructor(api: ContreeClient, opts: () => RequestOptions) {
    this.#api = api;
    this.#opts = opts;
  }

  /**
   * Uploads content unless the server already has it (looked up by SHA-256).
   * A string is uploaded as its UTF-8 bytes.
   *
   * @example
   * ```ts
   * import type { Contree } from "@contree/sdk";
   *
   * async function twice(contree: Contree) {
   *   const a = await contree.files.upload("same bytes");
   *   const b = await contree.files.upload("same bytes");
   *   console.log(a.uuid === b.uuid); // true
   * }
   * ```
   */
  async upload(content: Content | string, options: RequestOptions = {}): Promise<UploadedFile> {
    const bytes = await readContent(content);
    const file = await this.#api.ensureFile(bytes, { ...this.#opts(), ...options });
    return { uuid: file.uuid, sha256: file.sha256, size: file.size };
  }

  /**
   * Whether the server has a file with this SHA-256.
   *
   * @example
   * ```ts
   * import { sha256Hex, type Contree } from "@contree/sdk";
   *
   * async function known(contree: Contree, bytes: Uint8Array) {
   *   return await contree.files.exists(await sha256Hex(bytes));
   * }
   * ```
   */
  exists(sha256: string, options: RequestOptions = {}): Promise<boolean> {
    return this.#api.fileExists(sha256, { ...this.#opts(), ...options });
  }

  /**
   * Lists uploaded files, newest first as the server orders them; `limit`
   * defaults to 100.
   *
   * @example
   * ```ts
   * import type { Contree } from "@contree/sdk";
   *
   * async function recent(contree: Contree) {
   *   return await contree.files.list({ since: "1d", limit: 10 });
   * }
   * ```
   */
  async list(
    query: { since?: string | Date; until?: string | Date; limit?: number } = {},
    options: RequestOptions = {},
  ): Promise<ContreeFile[]> {
    const { limit = 100, ...filters } = query;
    const files: ContreeFile[] = [];
    const iterator = this.#api.iterFiles({ ...filters, limit }, { ...this.#opts(), ...options });
    for await (const file of iterator) files.push(file);
    return files;
  }
}
