/**
 * {@linkcode ContreeImage}: an immutable image, or the result of a run.
 *
 * @module
 */

import type { ByteRange } from "../wire/byte_range.ts";
import type { GrepQuery, GrepResult, Image } from "../wire/types.ts";
import type { Contree } from "./contree.ts";
import { diffImages, type DiffOptions, type ImageDiffEntry } from "./diff.ts";
import { ContreeImageStateError, DisposableImageRunError } from "./errors.ts";
import type { RunFiles } from "./files.ts";
import { ImageDirectory, ImageFile } from "./image_fs.ts";
import { ContreeProcess, type PopenOptions } from "./process.ts";
import type { ContreeResult, RunOutput } from "./result.ts";
import { ContreeRun, type RunBinding } from "./run.ts";
import { type RunOptions, runOptions, type RunSettings } from "./run_options.ts";
import { type ProgressCallback, withProgress } from "./progress.ts";
import { ContreeSession, type SessionOptions } from "./session.ts";
import { ImageState } from "./state.ts";

/**
 * What identifies a {@linkcode ContreeImage}, plus the result it carries when
 * it came out of a run.
 *
 * @example
 * ```ts
 * import type { ContreeImageInit } from "@contree/sdk";
 *
 * const init: ContreeImageInit = { tag: "busybox:latest" };
 * ```
 */
export interface ContreeImageInit<O = string, E = string> {
  /** The image's UUID; absent for a tag-only reference or a disposable result. */
  uuid?: string;
  /** Its tag. */
  tag?: string;
  /** The run result, for the image a run produced. */
  result?: ContreeResult<O, E>;
}

/**
 * Options of the image calls that only read.
 *
 * @example
 * ```ts
 * import type { ReadOptions } from "@contree/sdk";
 *
 * const options: ReadOptions = { signal: AbortSignal.timeout(10_000) };
 * ```
 */
export interface ReadOptions {
  /** Aborts the call. */
  signal?: AbortSignal;
}

/**
 * Options of {@linkcode ContreeImage.open}.
 *
 * @example
 * ```ts
 * import type { OpenOptions } from "@contree/sdk";
 *
 * const lastKiB: OpenOptions = { range: { suffix: 1024 } };
 * ```
 */
export interface OpenOptions extends ReadOptions {
  /**
   * Only these bytes of the file (`{ start, end }` inclusive, `{ start }` to the end, or the
   * last `{ suffix }` bytes). A range past the end rejects with `RangeNotSatisfiableError`.
   */
  range?: ByteRange;
  /** Called as bytes arrive: bytes of the file so far (counted from the range's start) and its size. */
  onProgress?: ProgressCallback;
}

/**
 * An image: a UUID, a tag, or both (a tag-only image is resolved by the server
 * at each use). Images are immutable; `run()` prepares a {@linkcode ContreeRun}
 * whose awaited value is the result image, in state `SUCCEEDED`, carrying the
 * {@linkcode ContreeResult}. Files can be read without a sandbox (`ls`,
 * `read`, `open`, `archive`, `exists`, `grep`).
 *
 * @example Chain and branch
 * ```ts
 * import type { Contree } from "@contree/sdk";
 *
 * async function demo(contree: Contree) {
 *   const base = await contree.images.use("busybox:latest");
 *   const withFile = await base.run({ shell: "echo v1 > /greeting", disposable: false });
 *   const a = await withFile.run({ shell: "echo a >> /greeting", disposable: false });
 *   const b = await withFile.run({ shell: "echo b >> /greeting", disposable: false });
 *   console.log(await a.readText("/greeting"), await b.readText("/greeting")); // "v1\na\n" "v1\nb\n"
 * }
 * ```
 */
export class ContreeImage<O = string, E = string> {
  /** The client the image belongs to. */
  readonly contree: Contree;
  /** The image's UUID; `undefined` for a tag-only reference or a disposable result. */
  readonly uuid: string | undefined;
  /** Its tag, when known. */
  readonly tag: string | undefined;
  readonly #result: ContreeResult<O, E> | undefined;

  /** Wraps an image; `contree.images.use()` is the usual way to get one. */
  constructor(contree: Contree, init: ContreeImageInit<O, E>) {
    this.contree = contree;
    this.uuid = init.uuid;
    this.tag = init.tag;
    this.#result = init.result;
  }

  /** `SUCCEEDED` for the result of a run, else `PULLED`. */
  get state(): ImageState {
    return this.#result ? ImageState.SUCCEEDED : ImageState.PULLED;
  }

  /** The run result (a {@linkcode ContreeImageStateError} unless `SUCCEEDED`). */
  get result(): ContreeResult<O, E> {
    if (!this.#result) {
      throw new ContreeImageStateError("no run result on this image", this.uuid, this.state, [
        ImageState.SUCCEEDED,
      ]);
    }
    return this.#result;
  }

  /** Shortcut for `result.stdout`. */
  get stdout(): O {
    return this.result.stdout;
  }

  /** Shortcut for `result.stderr`. */
  get stderr(): E {
    return this.result.stderr;
  }

  /** Shortcut for `result.exitCode`. */
  get exitCode(): number {
    return this.result.exitCode;
  }

  /** Shortcut for `result.elapsed` (milliseconds). */
  get elapsed(): number {
    return this.result.elapsed;
  }

  /**
   * The image's reference on the wire: its UUID, else `tag:NAME`. A disposable
   * result has neither: {@linkcode DisposableImageRunError}.
   *
   * @example
   * ```ts
   * import type { Contree } from "@contree/sdk";
   *
   * async function ref(contree: Contree) {
   *   console.log((await contree.images.use("busybox:latest")).ref); // "tag:busybox:latest"
   * }
   * ```
   */
  get ref(): string {
    if (this.uuid) return this.uuid;
    if (this.tag) return `tag:${this.tag}`;
    throw new DisposableImageRunError();
  }

  /** The UUID, looking the tag up when only the tag is known. */
  async #uuid(signal: AbortSignal | undefined): Promise<string> {
    if (this.uuid) return this.uuid;
    const ref = this.ref;
    return await this.contree.api.findImageByTag(ref.slice(4), this.contree.requestOptions(signal));
  }

  #binding(): RunBinding {
    const ref = this.ref;
    return {
      contree: this.contree,
      sourceUuid: this.uuid,
      disposable: true,
      image: () => Promise.resolve(ref),
      resultImage: (init) => new ContreeImage(this.contree, init),
      begin() {},
      end: () => Promise.resolve(),
    };
  }

  /**
   * Prepares a run from this image; makes no request. Await the returned
   * {@linkcode ContreeRun} to execute it. Either `command` (+ `args`) or
   * `shell`, or an argv array as the first argument. Runs are disposable by
   * default: pass `disposable: false` to keep the result image and chain.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function demo(image: ContreeImage) {
   *   const listing = await image.run(["ls", "-1", "/"]);
   *   const bytes = await image.run({ shell: "head -c 16 /dev/urandom", stdout: "bytes" });
   *   console.log(listing.stdout.split("\n"), bytes.stdout.length); // [...], 16
   * }
   * ```
   */
  run<const T extends RunOptions>(
    options: T,
  ): ContreeRun<RunOutput<T, "stdout">, RunOutput<T, "stderr">>;
  /** Prepares a run of `argv[0]` with arguments `argv.slice(1)`. */
  run<const T extends RunSettings = Record<never, never>>(
    argv: readonly string[],
    options?: T,
  ): ContreeRun<RunOutput<T, "stdout">, RunOutput<T, "stderr">>;
  run(
    first: RunOptions | readonly string[],
    settings?: RunSettings,
  ): ContreeRun<unknown, unknown> {
    return new ContreeRun(this.#binding(), runOptions(first, settings));
  }

  /**
   * Starts a process from this image with live `stdout`/`stderr` streams,
   * like `subprocess.Popen`; see {@linkcode ContreeProcess}.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function demo(image: ContreeImage) {
   *   const proc = image.popen(["sh", "-c", "echo out; echo err >&2; exit 2"]);
   *   const { stdout, stderr } = await proc.communicate();
   *   console.log(stdout, stderr, proc.exitCode); // "out\n" "err\n" 2
   * }
   * ```
   */
  popen(command: string | readonly string[], options: PopenOptions = {}): ContreeProcess {
    return new ContreeProcess(this.contree, this.ref, command, options);
  }

  /**
   * Opens a {@linkcode ContreeSession} starting at this image.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function demo(image: ContreeImage) {
   *   const session = image.session();
   *   await session.run({ shell: "echo 1 > /n" });
   *   await session.run({ shell: "echo 2 >> /n" });
   *   console.log(await session.readText("/n")); // "1\n2\n"
   * }
   * ```
   */
  session(options: SessionOptions = {}): ContreeSession {
    return ContreeSession.create(
      this.contree,
      { uuid: this.uuid, tag: this.tag, ref: this.ref },
      options,
    );
  }

  /**
   * The same image with its UUID looked up (for a tag-only reference).
   *
   * @example
   * ```ts
   * import type { Contree } from "@contree/sdk";
   *
   * async function pin(contree: Contree) {
   *   const pinned = await (await contree.images.use("busybox:latest")).resolve();
   *   console.log(pinned.uuid);
   * }
   * ```
   */
  async resolve(options: ReadOptions = {}): Promise<ContreeImage<O, E>> {
    if (this.uuid) return this;
    const uuid = await this.#uuid(options.signal);
    return new ContreeImage<O, E>(this.contree, { uuid, tag: this.tag, result: this.#result });
  }

  /**
   * The server's record of the image: UUID, tag, creation time, and the
   * operation that produced it.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function created(image: ContreeImage) {
   *   return (await image.info()).created_at;
   * }
   * ```
   */
  async info(options: ReadOptions = {}): Promise<Image> {
    const uuid = await this.#uuid(options.signal);
    return await this.contree.api.inspectImage(uuid, this.contree.requestOptions(options.signal));
  }

  /**
   * The image this one was made from, read from the operation records (the
   * image's `operation_uuid`, whose input is `image_uuid`); `undefined` for
   * an imported image, or when the server does not record it.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function demo(base: ContreeImage) {
   *   const child = await base.run({ shell: "touch /x", disposable: false });
   *   console.log((await child.parent())?.uuid === (await base.resolve()).uuid); // true
   * }
   * ```
   */
  async parent(options: ReadOptions = {}): Promise<ContreeImage | undefined> {
    const opts = this.contree.requestOptions(options.signal);
    const info = await this.info(options);
    if (!info.operation_uuid) return undefined;
    const operation = await this.contree.api.getOperation(info.operation_uuid, {}, opts);
    if (!operation.image_uuid || operation.image_uuid === info.uuid) return undefined;
    return new ContreeImage(this.contree, { uuid: operation.image_uuid });
  }

  /**
   * The ancestors of this image, nearest first, up to the imported root.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function lineage(image: ContreeImage) {
   *   for await (const ancestor of image.ancestors()) console.log(ancestor.uuid);
   * }
   * ```
   */
  async *ancestors(options: ReadOptions = {}): AsyncGenerator<ContreeImage> {
    const seen = new Set<string>();
    for (
      let current = await this.parent(options);
      current;
      current = await current.parent(options)
    ) {
      if (seen.has(current.uuid!)) return;
      seen.add(current.uuid!);
      yield current;
    }
  }

  /**
   * Lists a directory of the image (default `/`).
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function names(image: ContreeImage) {
   *   return (await image.ls("/etc")).map((entry) => `${entry.name}${entry.isDir ? "/" : ""}`);
   * }
   * ```
   */
  async ls(path = "/", options: ReadOptions = {}): Promise<(ImageFile | ImageDirectory)[]> {
    const uuid = await this.#uuid(options.signal);
    const list = await this.contree.api.listDirectory(
      uuid,
      path,
      this.contree.requestOptions(options.signal),
    );
    const base = list.path || path;
    return list.files.map((item) =>
      item.is_dir ? new ImageDirectory(this, base, item) : new ImageFile(this, base, item)
    );
  }

  /**
   * Reads a file of the image into memory.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function size(image: ContreeImage) {
   *   return (await image.read("/bin/busybox")).length;
   * }
   * ```
   */
  async read(path: string, options: ReadOptions = {}): Promise<Uint8Array> {
    const uuid = await this.#uuid(options.signal);
    return await this.contree.api.download(uuid, path, this.contree.requestOptions(options.signal));
  }

  /**
   * Reads a file of the image as UTF-8 text.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function users(image: ContreeImage) {
   *   return (await image.readText("/etc/passwd")).split("\n").map((line) => line.split(":")[0]);
   * }
   * ```
   */
  async readText(path: string, options: ReadOptions = {}): Promise<string> {
    return new TextDecoder().decode(await this.read(path, options));
  }

  /**
   * Opens a file of the image (or a byte range of it) as a stream: bytes flow as
   * they are read, in constant memory.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function count(image: ContreeImage) {
   *   let bytes = 0;
   *   for await (const chunk of await image.open("/bin/busybox")) bytes += chunk.length;
   *   return bytes;
   * }
   * ```
   *
   * @example The end of a log
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function tail(image: ContreeImage) {
   *   return await new Response(await image.open("/var/log/build.log", { range: { suffix: 4096 } })).text();
   * }
   * ```
   */
  async open(path: string, options: OpenOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const uuid = await this.#uuid(options.signal);
    const opts = { ...this.contree.requestOptions(options.signal), range: options.range };
    const { body, size, range } = await this.contree.api.downloadStream(uuid, path, opts);
    if (!options.onProgress) return body;
    return withProgress(body, range?.total ?? size, options.onProgress, range?.start ?? 0);
  }

  /**
   * What changed from this image to `other` (see {@linkcode diffImages}):
   * added, removed and modified paths, with content, mode and owner changes.
   * Files of equal size are compared byte by byte.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function changed(base: ContreeImage) {
   *   const next = await base.run({ shell: "chmod 600 /etc/passwd", disposable: false });
   *   const [entry] = await base.diff(next, { path: "/etc/passwd" });
   *   console.log(entry.mode); // { before: 0o644, after: 0o600 }
   * }
   * ```
   */
  diff(
    other: ContreeImage<unknown, unknown>,
    options: DiffOptions = {},
  ): Promise<ImageDiffEntry[]> {
    return diffImages(this, other, options);
  }

  /**
   * A file or directory of the image as a tar stream (or a `.tar.gz` with
   * `compressed: true`).
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function etcTarGz(image: ContreeImage) {
   *   return new Uint8Array(await new Response(await image.archive("/etc", { compressed: true })).arrayBuffer());
   * }
   * ```
   */
  async archive(
    path: string,
    options: ReadOptions & { compressed?: boolean } = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const uuid = await this.#uuid(options.signal);
    return await this.contree.api.archive(
      uuid,
      path,
      { compressed: options.compressed },
      this.contree.requestOptions(options.signal),
    );
  }

  /**
   * Whether a file or directory exists at `path`.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function hasShell(image: ContreeImage) {
   *   return await image.exists("/bin/sh");
   * }
   * ```
   */
  async exists(path: string, options: ReadOptions = {}): Promise<boolean> {
    const uuid = await this.#uuid(options.signal);
    return await this.contree.api.archiveExists(
      uuid,
      path,
      this.contree.requestOptions(options.signal),
    );
  }

  /**
   * Searches the image's files (the server's ripgrep-like grep). Servers
   * without grep answer 501, raised as a `ServerError`.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function rootLines(image: ContreeImage) {
   *   const found = await image.grep("root", { path: "/etc", glob: "passwd" });
   *   return found.matches.map((match) => `${match.path}:${match.line_number}: ${match.line_text}`);
   * }
   * ```
   */
  async grep(
    pattern: string | string[],
    query: Omit<GrepQuery, "pattern"> & ReadOptions = {},
  ): Promise<GrepResult> {
    const { signal, ...rest } = query;
    const uuid = await this.#uuid(signal);
    return await this.contree.api.grep(
      uuid,
      { ...rest, pattern },
      this.contree.requestOptions(signal),
    );
  }

  /**
   * Tags the image (moving the tag from any other image) and returns it with
   * the tag set.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function release(image: ContreeImage) {
   *   return await image.tagAs("my-app:v1");
   * }
   * ```
   */
  async tagAs(tag: string, options: ReadOptions = {}): Promise<ContreeImage<O, E>> {
    const uuid = await this.#uuid(options.signal);
    await this.contree.api.updateImageTag(uuid, tag, this.contree.requestOptions(options.signal));
    return new ContreeImage<O, E>(this.contree, { uuid, tag, result: this.#result });
  }

  /**
   * Removes the image's tag and returns it without one.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function retire(image: ContreeImage) {
   *   const untagged = await image.untag();
   *   console.log(untagged.tag); // undefined
   * }
   * ```
   */
  async untag(options: ReadOptions = {}): Promise<ContreeImage<O, E>> {
    const uuid = await this.#uuid(options.signal);
    const opts = this.contree.requestOptions(options.signal);
    await this.contree.api.deleteImageTag(uuid, this.tag, opts);
    return new ContreeImage<O, E>(this.contree, { uuid, result: this.#result });
  }

  /**
   * A new image with files added: a non-disposable run of `true` with `files`.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function configure(image: ContreeImage) {
   *   const configured = await image.applyFiles({
   *     "/etc/app.conf": new TextEncoder().encode("debug = true\n"),
   *     "/usr/local/bin/app": { content: new Blob(["#!/bin/sh\necho app\n"]), mode: 0o755 },
   *   });
   *   return configured.uuid;
   * }
   * ```
   */
  async applyFiles(files: RunFiles, options: ReadOptions = {}): Promise<ContreeImage> {
    const applied = await this.run({
      command: "true",
      files,
      disposable: false,
      signal: options.signal,
    });
    return new ContreeImage(this.contree, { uuid: applied.uuid });
  }

  /** A short description, e.g. `ContreeImage(uuid=…, tag=…, state=PULLED)`. */
  toString(): string {
    return `ContreeImage(uuid=${this.uuid ?? "-"}, tag=${this.tag ?? "-"}, state=${this.state})`;
  }
}
