/**
 * The entry point of the SDK: a {@linkcode Contree} client with its images
 * and files managers.
 *
 * @module
 */

import { ContreeClient, type ContreeClientOptions } from "../wire/client.ts";
import type { RequestOptions } from "../wire/types.ts";
import type { WhoAmI } from "../wire/types.ts";
import { FilesManager } from "./files.ts";
import { ImagesManager } from "./images.ts";
import { settledWork, startTracking } from "./_work.ts";

/**
 * SDK-level settings, shared by everything a {@linkcode Contree} creates.
 *
 * @example
 * ```ts
 * import type { ContreeSettings } from "@contree/sdk";
 *
 * const settings: ContreeSettings = { operationTimeout: 300, truncateOutputAt: 65536 };
 * ```
 */
export interface ContreeSettings {
  /** Time limit of runs and imports without their own `timeout`, in seconds; default 1000. */
  operationTimeout?: number;
  /** Default `truncateOutputAt` of runs, in bytes; default 1 MiB (the API's default). */
  truncateOutputAt?: number;
  /** Page size used when listing images; default 100. */
  listBatchSize?: number;
}

/**
 * Options of {@linkcode Contree}: the wire client's connection options
 * (`baseUrl`, `token`, `project`, `fetch`, `timeout` in ms, `retry`,
 * `compressedDownloads`, here defaulting to `false`) plus the
 * {@linkcode ContreeSettings}.
 *
 * @example
 * ```ts
 * import type { ContreeOptions } from "@contree/sdk";
 *
 * const options: ContreeOptions = { baseUrl: "http://127.0.0.1:8080", token: "t", operationTimeout: 120 };
 * ```
 */
export interface ContreeOptions extends ContreeClientOptions, ContreeSettings {}

/**
 * The ConTree SDK client. It wraps a {@linkcode ContreeClient} (made from the
 * options, or passed in) and gives the {@linkcode ImagesManager} and
 * {@linkcode FilesManager}. A client it makes asks for file downloads and
 * archives uncompressed unless `compressedDownloads: true` (the rest keeps
 * gzip): file contents rarely compress, so gzip only costs CPU on both ends
 * (the local backend streams random bytes 30x faster without it), and Node's
 * fetch decodes long gzip bodies very slowly (nodejs/undici#2014). `close()` (or
 * `await using`) aborts whatever it still has in flight, cancelling the
 * remote operations.
 *
 * @example Run a command
 * ```ts
 * import { Contree } from "@contree/sdk";
 *
 * await using contree = new Contree({ baseUrl: "http://127.0.0.1:8080", token: "t" });
 * const busybox = await contree.images.use("busybox:latest");
 * const result = await busybox.run({ shell: "echo hello" });
 * console.log(result.stdout); // "hello\n"
 * ```
 *
 * @example Wrap an existing wire client
 * ```ts
 * import { Contree, ContreeClient } from "@contree/sdk";
 *
 * const api = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
 * const contree = new Contree(api, { operationTimeout: 60 });
 * ```
 */
export class Contree implements AsyncDisposable {
  /** The wire client every request goes through. */
  readonly api: ContreeClient;
  /** Images: use, import, list, get. */
  readonly images: ImagesManager;
  /** Uploaded files. */
  readonly files: FilesManager;
  /** Time limit of runs and imports without their own, in seconds. */
  readonly operationTimeout: number;
  /** Default `truncateOutputAt` of runs, in bytes. */
  readonly truncateOutputAt: number;
  /** Page size used when listing images. */
  readonly listBatchSize: number;
  readonly #closing = new AbortController();

  /** Creates the client from connection options, or around an existing wire client. */
  constructor(options: ContreeOptions | ContreeClient, settings: ContreeSettings = {}) {
    const all: ContreeSettings = options instanceof ContreeClient
      ? settings
      : { ...options, ...settings };
    this.api = options instanceof ContreeClient ? options : new ContreeClient({
      ...options,
      compressedDownloads: options.compressedDownloads ?? false,
    });
    this.operationTimeout = all.operationTimeout ?? 1000;
    this.truncateOutputAt = all.truncateOutputAt ?? 1048576;
    this.listBatchSize = all.listBatchSize ?? 100;
    startTracking(this);
    this.images = new ImagesManager(this);
    this.files = new FilesManager(this.api, () => this.requestOptions());
  }

  /**
   * Aborted once the client is closed. Every request the SDK makes listens to
   * it, except a spawn or an import already sent: their answer is what lets
   * the SDK cancel the operation they started.
   *
   * @example
   * ```ts
   * import { Contree } from "@contree/sdk";
   *
   * const contree = new Contree({ baseUrl: "http://127.0.0.1:8080" });
   * contree.signal.addEventListener("abort", () => console.log("closed"));
   * ```
   */
  get signal(): AbortSignal {
    return this.#closing.signal;
  }

  /**
   * Request options that follow the client's lifetime and, when given, `signal`.
   *
   * @example
   * ```ts
   * import { Contree } from "@contree/sdk";
   *
   * const contree = new Contree({ baseUrl: "http://127.0.0.1:8080" });
   * const me = await contree.api.whoami(contree.requestOptions(AbortSignal.timeout(5_000)));
   * ```
   */
  requestOptions(signal?: AbortSignal): RequestOptions {
    return {
      signal: signal ? AbortSignal.any([this.#closing.signal, signal]) : this.#closing.signal,
    };
  }

  /**
   * The token's identity, permissions and limits (`GET /v1/whoami`).
   *
   * @example
   * ```ts
   * import { Contree } from "@contree/sdk";
   *
   * const contree = new Contree({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const me = await contree.whoami();
   * console.log(me.limits?.instance_max_timeout);
   * ```
   */
  whoami(options: { signal?: AbortSignal } = {}): Promise<WhoAmI> {
    return this.api.whoami(this.requestOptions(options.signal));
  }

  /**
   * Closes the client: aborts its requests in flight, waits until the runs and
   * imports it aborted have cancelled their remote operations, and makes later
   * calls reject with an `AbortError`.
   *
   * @example
   * ```ts
   * import { Contree } from "@contree/sdk";
   *
   * const contree = new Contree({ baseUrl: "http://127.0.0.1:8080" });
   * await contree.close();
   * ```
   */
  async close(): Promise<void> {
    if (!this.#closing.signal.aborted) {
      this.#closing.abort(new DOMException("the Contree client was closed", "AbortError"));
    }
    await settledWork(this);
  }

  /** Same as {@linkcode Contree.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
