/**
 * The images manager: find, import and list images.
 *
 * @module
 */

import { NotFoundError } from "../wire/errors.ts";
import type { CompletionEvent } from "../wire/events.ts";
import { isUuid, parseImageRef } from "../wire/image_ref.ts";
import type { Image, ImageImportRequest } from "../wire/types.ts";
import type { Contree } from "./contree.ts";
import { registerImageMaker } from "./_image_maker.ts";
import { trackWork } from "./_work.ts";
import { OperationCancelledError, OperationFailedError, OperationTimedOutError } from "./errors.ts";
import { cancelQuietly, GRACE_SECONDS } from "./_execution.ts";
import { ContreeImage } from "./image.ts";
import { parseOciReference } from "./oci.ts";
import { importProgressReader, type ProgressCallback } from "./progress.ts";
import { decodeStreamText } from "../wire/stream_repr.ts";

/**
 * Options of `images.oci()` and `images.importFrom()`.
 *
 * @example
 * ```ts
 * import type { ImportOptions } from "@contree/sdk";
 *
 * const options: ImportOptions = { tag: "tools:1", username: "me", password: "secret", timeout: 600 };
 * ```
 */
export interface ImportOptions {
  /** Tag for the image; default derived from the reference (`ubuntu:22.04`, `ghcr.io/o/app:1`). */
  tag?: string;
  /** Registry user name (with `password`). */
  username?: string;
  /** Registry password (with `username`). */
  password?: string;
  /** Import time limit in seconds; default the client's `operationTimeout`. */
  timeout?: number;
  /** Aborting cancels the import operation. */
  signal?: AbortSignal;
  /** Called as the server reports the import (see `importProgressReader`). */
  onProgress?: ProgressCallback;
}

/**
 * Filters of `images.list()`.
 *
 * @example
 * ```ts
 * import type { ListImagesOptions } from "@contree/sdk";
 *
 * const lastWeek: ListImagesOptions = { tagged: true, since: new Date(Date.now() - 7 * 86_400_000) };
 * ```
 */
export interface ListImagesOptions {
  /** Only tagged images. */
  tagged?: boolean;
  /** Created at or after: a Date, ISO-8601, or a relative interval such as `1h`. */
  since?: string | Date;
  /** Created at or before. */
  until?: string | Date;
  /** Most images to return; default 100, `Infinity` for all. */
  limit?: number;
  /** Aborts the listing. */
  signal?: AbortSignal;
}

function imageOf(contree: Contree, image: Image): ContreeImage {
  return new ContreeImage(contree, { uuid: image.uuid, tag: image.tag ?? undefined });
}

/**
 * Finds, imports and lists images. Reach it as `contree.images`; iterate it
 * with `for await` for every image.
 *
 * @example
 * ```ts
 * import type { Contree } from "@contree/sdk";
 *
 * async function demo(contree: Contree) {
 *   const busybox = await contree.images.use("busybox:latest"); // no request
 *   const pinned = await contree.images.use("busybox:latest", { strict: true }); // resolved now
 *   const ubuntu = await contree.images.oci("ubuntu:22.04"); // use, else import
 *   for await (const image of contree.images) console.log(image.uuid, image.tag);
 * }
 * ```
 */
export class ImagesManager implements AsyncIterable<ContreeImage> {
  readonly #contree: Contree;

  /** Used by `Contree`. */
  constructor(contree: Contree) {
    this.#contree = contree;
    registerImageMaker(contree, (init) => new ContreeImage(contree, init));
  }

  /**
   * A handle to an image by reference (a UUID, `tag:NAME`, or a bare tag),
   * made at once without a request: what `use()` gives without `strict`. A
   * tag is resolved by the server at each use; an unknown image fails there.
   *
   * @example
   * ```ts
   * import type { Contree } from "@contree/sdk";
   *
   * async function hello(contree: Contree) {
   *   const busybox = contree.images.ref("busybox:latest"); // no request
   *   console.log((await busybox.run({ shell: "echo hi" })).stdout); // "hi\n"
   * }
   * ```
   */
  ref(ref: string): ContreeImage {
    const parsed = parseImageRef(ref);
    return new ContreeImage(
      this.#contree,
      parsed.kind === "uuid" ? { uuid: parsed.uuid } : { tag: parsed.tag },
    );
  }

  /**
   * An image by reference: a UUID, `tag:NAME`, or a bare tag. Without
   * `strict` no request is made (a tag is then resolved by the server at each
   * use); with `strict: true` the image is looked up now (`NotFoundError` if
   * it does not exist) and gets both its UUID and its tag.
   *
   * @example
   * ```ts
   * import type { Contree } from "@contree/sdk";
   *
   * async function pick(contree: Contree) {
   *   const lazy = await contree.images.use("tag:busybox:latest");
   *   const checked = await contree.images.use("busybox:latest", { strict: true });
   *   console.log(lazy.uuid, checked.uuid); // undefined "…"
   * }
   * ```
   */
  async use(
    ref: string,
    options: { strict?: boolean; signal?: AbortSignal } = {},
  ): Promise<ContreeImage> {
    if (!options.strict) return this.ref(ref);
    const parsed = parseImageRef(ref);
    if (parsed.kind === "uuid") return await this.get(parsed.uuid, options);
    const opts = this.#contree.requestOptions(options.signal);
    const uuid = await this.#contree.api.findImageByTag(parsed.tag, opts);
    return new ContreeImage(this.#contree, { uuid, tag: parsed.tag });
  }

  /**
   * An image by UUID, looked up now (`NotFoundError` if unknown).
   *
   * @example
   * ```ts
   * import type { Contree } from "@contree/sdk";
   *
   * async function tagOf(contree: Contree, uuid: string) {
   *   return (await contree.images.get(uuid)).tag;
   * }
   * ```
   */
  async get(uuid: string, options: { signal?: AbortSignal } = {}): Promise<ContreeImage> {
    const opts = this.#contree.requestOptions(options.signal);
    return imageOf(this.#contree, await this.#contree.api.inspectImage(uuid, opts));
  }

  /**
   * An OCI image: the image already tagged for it if there is one, else an
   * import (see {@linkcode ImagesManager.importFrom}). A UUID is looked up
   * like `use(uuid, { strict: true })`.
   *
   * @example
   * ```ts
   * import type { Contree } from "@contree/sdk";
   *
   * async function python(contree: Contree) {
   *   return await contree.images.oci("docker://docker.io/library/python:3.12-slim");
   * }
   * ```
   */
  async oci(ref: string, options: ImportOptions = {}): Promise<ContreeImage> {
    if (isUuid(ref.trim())) return await this.use(ref, { strict: true, signal: options.signal });
    const tag = options.tag ?? parseOciReference(ref).tag;
    if (tag !== undefined) {
      try {
        return await this.use(tag, { strict: true, signal: options.signal });
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
    return await this.importFrom(ref, options);
  }

  /**
   * Imports an image from a registry, always (`POST /v1/images/import`), and
   * waits for the import operation. Aborting, or running past the time limit,
   * cancels it.
   *
   * @example
   * ```ts
   * import type { Contree } from "@contree/sdk";
   *
   * async function fresh(contree: Contree) {
   *   return await contree.images.importFrom("alpine:3.20", { tag: "alpine:3.20", timeout: 300 });
   * }
   * ```
   */
  async importFrom(ref: string, options: ImportOptions = {}): Promise<ContreeImage> {
    if (isUuid(ref.trim())) throw new TypeError("an image UUID cannot be imported; use get()");
    if ((options.username === undefined) !== (options.password === undefined)) {
      throw new TypeError("username and password go together");
    }
    const parsed = parseOciReference(ref);
    const tag = options.tag ?? parsed.tag;
    const timeout = Math.ceil(options.timeout ?? this.#contree.operationTimeout);
    const body: ImageImportRequest = { registry: { url: parsed.url }, tag, timeout };
    if (options.username !== undefined) {
      body.registry.credentials = { username: options.username, password: options.password };
    }
    const work = this.#import(body, timeout, options.signal, options.onProgress);
    trackWork(this.#contree, work);
    const imageUuid = await work;
    return new ContreeImage(this.#contree, { uuid: imageUuid, tag });
  }

  async #import(
    body: ImageImportRequest,
    timeout: number,
    signal: AbortSignal | undefined,
    onProgress?: ProgressCallback,
  ): Promise<string> {
    const api = this.#contree.api;
    const linked = this.#contree.requestOptions(signal).signal!;
    linked.throwIfAborted();
    // Not abortable once sent: only the operation's UUID lets us cancel it.
    const { uuid } = await api.importImage(body);
    const deadline = new AbortController();
    const timer = setTimeout(
      () =>
        deadline.abort(
          new OperationTimedOutError(uuid, timeout, new Uint8Array(), new Uint8Array()),
        ),
      (timeout + GRACE_SECONDS) * 1000,
    );
    const stop = AbortSignal.any([linked, deadline.signal]);
    let completion: CompletionEvent["data"] | undefined;
    const feed = onProgress && importProgressReader(onProgress);
    try {
      stop.throwIfAborted();
      for await (const event of api.followOperationEvents(uuid, {}, { signal: stop })) {
        if (event.type === "completion") completion = event.data;
        else if (event.type === "stdout" && feed) feed(decodeStreamText(event.data));
      }
    } catch (error) {
      await cancelQuietly(this.#contree, uuid);
      throw stop.aborted ? stop.reason : error;
    } finally {
      clearTimeout(timer);
    }
    if (completion?.status === "CANCELLED") throw new OperationCancelledError(uuid);
    if (completion?.status !== "SUCCESS") {
      throw new OperationFailedError(uuid, completion?.error ?? undefined);
    }
    if (!completion.result_image_uuid) {
      throw new OperationFailedError(uuid, "the import produced no image");
    }
    return completion.result_image_uuid;
  }

  /**
   * Lists images, newest first as the server orders them; `limit` defaults to
   * 100 (`Infinity` for all).
   *
   * @example
   * ```ts
   * import type { Contree } from "@contree/sdk";
   *
   * async function tags(contree: Contree) {
   *   return (await contree.images.list({ tagged: true })).map((image) => image.tag);
   * }
   * ```
   */
  async list(options: ListImagesOptions = {}): Promise<ContreeImage[]> {
    const images: ContreeImage[] = [];
    for await (const image of this.#iterate(options.limit ?? 100, options)) images.push(image);
    return images;
  }

  async *#iterate(limit: number, options: ListImagesOptions): AsyncGenerator<ContreeImage> {
    const { tagged, since, until, signal } = options;
    const query = { tagged, since, until, limit, pageSize: this.#contree.listBatchSize };
    const opts = this.#contree.requestOptions(signal);
    for await (const image of this.#contree.api.iterImages(query, opts)) {
      yield imageOf(this.#contree, image);
    }
  }

  /** Iterates over every image, page by page. */
  [Symbol.asyncIterator](): AsyncIterator<ContreeImage> {
    return this.#iterate(Infinity, {});
  }
}
