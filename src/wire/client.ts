/**
 * The typed ConTree wire client: one method per REST endpoint, built on Web
 * APIs only (fetch, Streams, AbortSignal, crypto.subtle, CompressionStream).
 *
 * @module
 */
import type * as v from "valibot";
import { VERSION } from "../version.ts";
import {
  ContreeError,
  ContreeNetworkError,
  RangeNotSatisfiableError,
  ResponseValidationError,
} from "./errors.ts";
import {
  type ByteRange,
  rangeHeader,
  readContentRange,
  resolveRange,
  sliceStream,
} from "./byte_range.ts";
import type { OperationEvent } from "./events.ts";
import { type Content, readContent, sha256Hex } from "./hash.ts";
import { parseImageRef } from "./image_ref.ts";
import { formatFileMode } from "./file_mode.ts";
import type { RetryOptions } from "./retry.ts";
import { type RetryPolicy, retryPolicy } from "./_retry.ts";
import type {
  ClosableStreamRepr,
  ContreeFile,
  DirectoryList,
  ExecSpec,
  FileResponse,
  FilesListResponse,
  GrepQuery,
  GrepResult,
  Image,
  ImageImportRequest,
  ImageListResponse,
  InstanceResult,
  InstanceSpawnRequest,
  InstanceSpawnResponse,
  OperationResponse,
  OperationStatus,
  OperationSummary,
  RequestOptions,
  WhoAmI,
} from "./types.ts";
import {
  ContreeFileSchema,
  DirectoryListSchema,
  FileResponseSchema,
  FilesListResponseSchema,
  GrepResultSchema,
  ImageListResponseSchema,
  ImageSchema,
  InstanceResultSchema,
  InstanceSpawnResponseSchema,
  OperationSummaryListSchema,
  parseOperation,
  SpidSchema,
  UuidSchema,
  WhoAmISchema,
} from "./_schemas.ts";
import { Http, pathParam, type Query, type RequestSpec } from "./_http.ts";
import { parseJson, validate } from "./_validate.ts";
import { paginate } from "./_paginate.ts";
import { followEvents, readEventBatches } from "./_event_stream.ts";

/**
 * The public API's default base URL.
 *
 * @example
 * ```ts
 * import { ContreeClient, DEFAULT_BASE_URL } from "@contree/sdk";
 *
 * const client = new ContreeClient({ baseUrl: DEFAULT_BASE_URL, token: "…", project: "…" });
 * ```
 */
export const DEFAULT_BASE_URL = "https://api.tokenfactory.nebius.com/sandboxes";

/**
 * Options of {@linkcode ContreeClient}.
 *
 * @example
 * ```ts
 * import type { ContreeClientOptions } from "@contree/sdk";
 *
 * const options: ContreeClientOptions = { baseUrl: "http://127.0.0.1:8080", token: "t", timeout: 60_000 };
 * ```
 */
export interface ContreeClientOptions {
  /** Scheme, host and optional path prefix; `/v1` is appended. */
  baseUrl: string;
  /** Bearer token; no `Authorization` header is sent without one. */
  token?: string;
  /** Project id, sent as the `Project` header (IAM tokens). */
  project?: string;
  /** The fetch to use; default the global one. */
  fetch?: typeof fetch;
  /** The `User-Agent` header; default `contree-sdk-ts/<version>`. */
  userAgent?: string;
  /**
   * Per-attempt timeout in milliseconds; default 300 000. Streamed downloads, archives and
   * stream uploads: until the headers, then for each stretch in which no byte moves (event
   * streams may idle between keepalives).
   */
  timeout?: number;
  /**
   * Whether streamed bodies fail with a {@linkcode ContreeTimeoutError} after `timeout` without
   * a byte (default `true`). With `false` a download or archive is the runtime's own response
   * body, untouched: a proxy that passes it on (the gateway) keeps the runtime's native pipe, and
   * leaves waiting to its own client. The headers still wait at most `timeout`.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", streamIdleTimeout: false });
   * ```
   */
  streamIdleTimeout?: boolean;
  /** The retry policy, or `false` for none. */
  retry?: RetryOptions | false;
  /**
   * Whether file downloads ({@linkcode ContreeClient.download},
   * {@linkcode ContreeClient.downloadStream}) and archives ({@linkcode ContreeClient.archive})
   * ask for gzip like every other request; default `true`. With `false` they send
   * `Accept-Encoding: identity`: file contents are mostly binary or compressed already, so
   * gzip only costs CPU on both ends; Node's fetch decodes long gzip bodies slowly
   * (nodejs/undici#2014); and a proxy passing the bytes on needs their exact `Content-Length`
   * (which also gives `downloadStream` its `size`).
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", compressedDownloads: false });
   * const { size } = await client.downloadStream("87654321-9abc-baba-deda-0123456789ab", "/big.bin");
   * ```
   */
  compressedDownloads?: boolean;
}

/** A time filter: an ISO-8601 string, a relative interval such as `1h`, or a Date. */
type Time = string | Date;

/**
 * Query of {@linkcode ContreeClient.listImages}.
 *
 * @example
 * ```ts
 * import type { ListImagesQuery } from "@contree/sdk";
 *
 * const query: ListImagesQuery = { tagged: true, tag: "busybox", limit: 50, since: "1w" };
 * ```
 */
export interface ListImagesQuery {
  /** Page size, 1 to 1000. */
  limit?: number;
  /** Items to skip. */
  offset?: number;
  /** Only tagged images. */
  tagged?: boolean;
  /** Tag prefix. */
  tag?: string;
  /** One image UUID. */
  uuid?: string;
  /** Created at or after: ISO-8601, a relative interval (`1h`) or a Date. */
  since?: string | Date;
  /** Created at or before. */
  until?: string | Date;
}

/**
 * Paging of the iterators: items per request and overall limit.
 *
 * @example
 * ```ts
 * import type { PageOptions } from "@contree/sdk";
 *
 * const paging: PageOptions = { pageSize: 100, limit: 250 };
 * ```
 */
export interface PageOptions {
  /** Items per request, 1 to 1000; default 1000. */
  pageSize?: number;
  /** Stop after this many items. */
  limit?: number;
}

/**
 * Query of {@linkcode ContreeClient.iterImages}.
 *
 * @example
 * ```ts
 * import type { IterImagesQuery } from "@contree/sdk";
 *
 * const query: IterImagesQuery = { pageSize: 100, limit: 250, tagged: true };
 * ```
 */
export interface IterImagesQuery extends PageOptions, Omit<ListImagesQuery, "limit" | "offset"> {}

/**
 * Query of {@linkcode ContreeClient.listFiles}.
 *
 * @example
 * ```ts
 * import type { ListFilesQuery } from "@contree/sdk";
 *
 * const query: ListFilesQuery = { limit: 100, since: "1d" };
 * ```
 */
export interface ListFilesQuery {
  /** Page size, 1 to 1000. */
  limit?: number;
  /** Items to skip. */
  offset?: number;
  /** Uploaded at or after. */
  since?: string | Date;
  /** Uploaded at or before. */
  until?: string | Date;
}

/**
 * Query of {@linkcode ContreeClient.iterFiles}.
 *
 * @example
 * ```ts
 * import type { IterFilesQuery } from "@contree/sdk";
 *
 * const query: IterFilesQuery = { pageSize: 500 };
 * ```
 */
export interface IterFilesQuery extends PageOptions, Omit<ListFilesQuery, "limit" | "offset"> {}

/**
 * Query of {@linkcode ContreeClient.listOperations}.
 *
 * @example
 * ```ts
 * import type { ListOperationsQuery } from "@contree/sdk";
 *
 * const query: ListOperationsQuery = { status: "EXECUTING", kind: "instance" };
 * ```
 */
export interface ListOperationsQuery {
  /** Page size, 1 to 1000. */
  limit?: number;
  /** Items to skip. */
  offset?: number;
  /** Only this status. */
  status?: OperationStatus;
  /** Only this kind: `instance` or `image_import`. */
  kind?: string;
  /** Created at or after. */
  since?: string | Date;
  /** Created at or before. */
  until?: string | Date;
}

/**
 * Query of {@linkcode ContreeClient.iterOperations}.
 *
 * @example
 * ```ts
 * import type { IterOperationsQuery } from "@contree/sdk";
 *
 * const query: IterOperationsQuery = { status: "FAILED", limit: 20 };
 * ```
 */
export interface IterOperationsQuery
  extends PageOptions, Omit<ListOperationsQuery, "limit" | "offset"> {}

/**
 * Query of {@linkcode ContreeClient.operationEvents}.
 *
 * @example
 * ```ts
 * import type { OperationEventsQuery } from "@contree/sdk";
 *
 * const query: OperationEventsQuery = { follow: true, spid: 1, lastEventId: 41 };
 * ```
 */
export interface OperationEventsQuery {
  /** Keep the connection open while the operation runs. */
  follow?: boolean;
  /** Only the events of this process. */
  spid?: number;
  /** Passed through as the `since` query parameter. */
  since?: number;
  /** Resume after this event id (`Last-Event-Id`). */
  lastEventId?: number;
}

/**
 * Query of {@linkcode ContreeClient.followOperationEvents}.
 *
 * @example
 * ```ts
 * import type { FollowOperationEventsQuery } from "@contree/sdk";
 *
 * const query: FollowOperationEventsQuery = { spid: 1 };
 * ```
 */
export interface FollowOperationEventsQuery {
  /** Only the events of this process. */
  spid?: number;
  /** Resume after this event id. */
  lastEventId?: number;
}

/**
 * A streamed file of an image.
 *
 * @example
 * ```ts
 * import type { DownloadStream } from "@contree/sdk";
 *
 * const report = (download: DownloadStream) => `${download.size ?? "unknown"} bytes`;
 * ```
 */
export interface DownloadStream {
  /** The file's bytes (with a `range`: those of the range). */
  body: ReadableStream<Uint8Array>;
  /** The size of `body` from `Content-Length`, when sent uncompressed. */
  size: number | undefined;
  /**
   * With the `range` option: where `body` sits in the file (inclusive bounds) and the file's
   * size, when known.
   */
  range?: { start: number; end: number; total: number | undefined };
}

/**
 * Options of {@linkcode ContreeClient.downloadStream}.
 *
 * @example
 * ```ts
 * import type { DownloadOptions } from "@contree/sdk";
 *
 * const lastKiB: DownloadOptions = { range: { suffix: 1024 }, timeout: 10_000 };
 * ```
 */
export interface DownloadOptions extends RequestOptions {
  /**
   * Only these bytes of the file, sent uncompressed. A server that honours `Range` sends just
   * them; from one that sends the whole file, the client cuts them out.
   */
  range?: ByteRange;
  /**
   * `false` hands over the runtime's own body, unwatched: a stall then waits for the caller,
   * who watches progress itself, and the body can be piped natively (Bun's file write takes
   * a fetch body without a JavaScript step per chunk). The default follows the
   * client's `streamIdleTimeout`.
   */
  streamIdleTimeout?: boolean;
}

function time(value: Time | undefined): string | undefined {
  return value instanceof Date ? value.toISOString() : value;
}

const UPLOAD_HEADERS = { accept: "application/json" };
/** Overrides the client's `accept-encoding: gzip` on file GETs (`compressedDownloads: false`). */
const UNCOMPRESSED = { "accept-encoding": "identity" };

/** Reads the last non-empty path segment of a URL or path. */
function lastSegment(location: string): string {
  const path = location.split(/[?#]/, 1)[0];
  const segments = path.split("/").filter((s) => s !== "");
  return decodeURIComponent(segments.at(-1) ?? "");
}

/**
 * The ConTree REST client. Methods map one-to-one to the API's endpoints;
 * request and response fields keep their wire (snake_case) names. Every call
 * takes an optional last {@linkcode RequestOptions} with an `AbortSignal` and
 * a timeout.
 *
 * @example Run a command and print its output
 * ```ts
 * import { ContreeClient, decodeStreamText } from "@contree/sdk";
 *
 * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
 * const { uuid } = await client.spawnInstance({ image: "tag:busybox:latest", command: "echo hi", shell: true });
 * for await (const event of client.followOperationEvents(uuid)) {
 *   if (event.type === "stdout") console.log(decodeStreamText(event.data));
 * }
 * ```
 */
export class ContreeClient {
  readonly #http: Http;
  readonly #policy: RetryPolicy;
  readonly #fileHeaders: Record<string, string> | undefined;

  /** Creates a client; throws a `TypeError` when `baseUrl` is not an http(s) URL. */
  constructor(options: ContreeClientOptions) {
    const url = new URL(options.baseUrl);
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
      throw new TypeError(`baseUrl must be an http(s) URL: ${options.baseUrl}`);
    }
    const headers: Record<string, string> = {
      // Explicit, because workerd's fetch does not advertise gzip on its own; every
      // runtime still decodes the answer transparently.
      "accept-encoding": "gzip",
      "user-agent": options.userAgent ?? `contree-sdk-ts/${VERSION}`,
    };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.project) headers.project = options.project;
    this.#fileHeaders = options.compressedDownloads === false ? UNCOMPRESSED : undefined;
    const userFetch = options.fetch;
    this.#policy = retryPolicy(options.retry || undefined);
    this.#http = new Http({
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
      headers,
      fetch: userFetch
        ? (input, init) => userFetch(input, init)
        : (input, init) => fetch(input, init),
      timeout: options.timeout ?? 300_000,
      idle: options.streamIdleTimeout ?? true,
      retry: options.retry === false ? undefined : this.#policy,
    });
  }

  #json<T>(
    spec: RequestSpec,
    schema: v.GenericSchema<unknown, T>,
    opts: RequestOptions | undefined,
  ): Promise<T> {
    const where = `${spec.method} ${spec.path}`;
    return this.#http.send(
      spec,
      opts,
      async (res) => validate(schema, parseJson(await res.text(), where), where),
    );
  }

  #empty(spec: RequestSpec, opts: RequestOptions | undefined): Promise<void> {
    return this.#http.send(spec, opts, async (res) => {
      await res.body?.cancel();
    });
  }

  #exists(path: string, query: Query | undefined, opts: RequestOptions | undefined) {
    return this.#http.send(
      { method: "HEAD", path, query, pass: [404] },
      opts,
      async (res) => {
        await res.body?.cancel();
        return res.ok;
      },
    );
  }

  /**
   * `GET /v1/whoami`: the token's permissions and limits.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const me = await client.whoami();
   * console.log(me.permissions.spawn);
   * ```
   */
  whoami(opts?: RequestOptions): Promise<WhoAmI> {
    return this.#json({ method: "GET", path: "/whoami" }, WhoAmISchema, opts);
  }

  /**
   * `GET /v1/images`: one page of images.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const { images } = await client.listImages({ tagged: true, limit: 10 });
   * ```
   */
  listImages(q: ListImagesQuery = {}, opts?: RequestOptions): Promise<ImageListResponse> {
    const query = { ...q, since: time(q.since), until: time(q.until) };
    return this.#json({ method: "GET", path: "/images", query }, ImageListResponseSchema, opts);
  }

  /**
   * Iterates over images page by page, stopping at a short page or `limit`.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * for await (const image of client.iterImages({ tagged: true, limit: 100 })) console.log(image.tag);
   * ```
   */
  iterImages(q: IterImagesQuery = {}, opts?: RequestOptions): AsyncIterable<Image> {
    const { pageSize, limit, ...filters } = q;
    return paginate(
      async (limit, offset) => (await this.listImages({ ...filters, limit, offset }, opts)).images,
      pageSize,
      limit,
    );
  }

  /**
   * `PATCH /v1/images/{uuid}/tag`: tags an image (moving the tag from any other).
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * await client.updateImageTag("87654321-9abc-baba-deda-0123456789ab", "my/app:v1");
   * ```
   */
  updateImageTag(uuid: string, tag: string, opts?: RequestOptions): Promise<Image> {
    return this.#json(
      { method: "PATCH", path: `/images/${pathParam(uuid)}/tag`, json: { tag } },
      ImageSchema,
      opts,
    );
  }

  /**
   * `DELETE /v1/images/{uuid}/tag`: removes a tag (or, without `tag`, the image's tag).
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * await client.deleteImageTag("87654321-9abc-baba-deda-0123456789ab", "my/app:v1");
   * ```
   */
  deleteImageTag(uuid: string, tag?: string, opts?: RequestOptions): Promise<void> {
    return this.#empty(
      { method: "DELETE", path: `/images/${pathParam(uuid)}/tag`, query: { tag } },
      opts,
    );
  }

  /**
   * `POST /v1/images/import`: starts an import; answers the operation's UUID.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const { uuid } = await client.importImage({ registry: { url: "docker://docker.io/library/busybox:latest" } });
   * ```
   */
  importImage(body: ImageImportRequest, opts?: RequestOptions): Promise<{ uuid: string }> {
    return this.#json({ method: "POST", path: "/images/import", json: body }, UuidSchema, opts);
  }

  /**
   * `POST /v1/files`: uploads content. A `ReadableStream` is sent chunked and,
   * unlike a `Uint8Array` or `Blob`, never retried; its timeout counts from the
   * last chunk taken, so a long upload fails only when its bytes stop moving.
   * Send small content as a buffer: under Deno a small chunked upload took about
   * 40 ms on loopback, the same bytes as a buffer 2 ms.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const file = await client.uploadFile(new TextEncoder().encode("hello"));
   * console.log(file.uuid, file.sha256);
   * ```
   */
  uploadFile(body: Content, opts?: RequestOptions): Promise<FileResponse> {
    return this.#json(
      { method: "POST", path: "/files", body, headers: UPLOAD_HEADERS },
      FileResponseSchema,
      opts,
    );
  }

  /**
   * `GET /v1/files`: one page of uploaded files.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const { files } = await client.listFiles({ limit: 20 });
   * ```
   */
  listFiles(q: ListFilesQuery = {}, opts?: RequestOptions): Promise<FilesListResponse> {
    const query = { ...q, since: time(q.since), until: time(q.until) };
    return this.#json({ method: "GET", path: "/files", query }, FilesListResponseSchema, opts);
  }

  /**
   * Iterates over uploaded files page by page.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * for await (const file of client.iterFiles({ since: "1d" })) console.log(file.sha256);
   * ```
   */
  iterFiles(q: IterFilesQuery = {}, opts?: RequestOptions): AsyncIterable<ContreeFile> {
    const { pageSize, limit, ...filters } = q;
    return paginate(
      async (limit, offset) => (await this.listFiles({ ...filters, limit, offset }, opts)).files,
      pageSize,
      limit,
    );
  }

  /**
   * `GET /v1/files/{sha256}`: an uploaded file by content hash (404 when unknown).
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const file = await client.getFile("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
   * ```
   */
  getFile(sha256: string, opts?: RequestOptions): Promise<ContreeFile> {
    return this.#json(
      { method: "GET", path: `/files/${pathParam(sha256)}` },
      ContreeFileSchema,
      opts,
    );
  }

  /**
   * `HEAD /v1/files/{sha256}`: whether content with this hash was uploaded.
   *
   * @example
   * ```ts
   * import { ContreeClient, sha256Hex } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * console.log(await client.fileExists(await sha256Hex("hello")));
   * ```
   */
  fileExists(sha256: string, opts?: RequestOptions): Promise<boolean> {
    return this.#exists(`/files/${pathParam(sha256)}`, undefined, opts);
  }

  /**
   * Uploads content unless the server already has it: hashes it with
   * `crypto.subtle`, probes `GET /v1/files/{sha256}`, and uploads on 404. The
   * content is read into memory.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const { uuid } = await client.ensureFile(new Blob(["#!/bin/sh\necho hi\n"]));
   * ```
   */
  async ensureFile(content: Content, opts?: RequestOptions): Promise<FileResponse> {
    const bytes = await readContent(content);
    const sha256 = await sha256Hex(bytes);
    const found = await this.#http.send(
      { method: "GET", path: `/files/${pathParam(sha256)}`, pass: [404] },
      opts,
      async (res) => {
        const where = `GET /files/${sha256}`;
        if (res.status === 404) {
          await res.body?.cancel();
          return undefined;
        }
        return validate(ContreeFileSchema, parseJson(await res.text(), where), where);
      },
    );
    if (found) return { uuid: found.uuid, sha256: found.sha256, size: found.size };
    return this.uploadFile(bytes, opts);
  }

  /**
   * `POST /v1/instances`: runs a command in a new instance. Numeric
   * `files[*].mode` values are sent as octal strings.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const op = await client.spawnInstance({ image: "tag:busybox:latest", command: "echo hi", shell: true });
   * console.log(op.uuid);
   * ```
   */
  spawnInstance(body: InstanceSpawnRequest, opts?: RequestOptions): Promise<InstanceSpawnResponse> {
    const files = body.files &&
      Object.fromEntries(
        Object.entries(body.files).map(([path, spec]) => [
          path,
          typeof spec.mode === "number" ? { ...spec, mode: formatFileMode(spec.mode) } : spec,
        ]),
      );
    return this.#json(
      { method: "POST", path: "/instances", json: files ? { ...body, files } : body },
      InstanceSpawnResponseSchema,
      opts,
    );
  }

  /**
   * `GET /v1/operations`: one page of operations.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const running = await client.listOperations({ status: "EXECUTING" });
   * ```
   */
  listOperations(q: ListOperationsQuery = {}, opts?: RequestOptions): Promise<OperationSummary[]> {
    const query = { ...q, since: time(q.since), until: time(q.until) };
    return this.#json(
      { method: "GET", path: "/operations", query },
      OperationSummaryListSchema,
      opts,
    );
  }

  /**
   * Iterates over operations page by page.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * for await (const op of client.iterOperations({ kind: "instance", limit: 50 })) console.log(op.status);
   * ```
   */
  iterOperations(
    q: IterOperationsQuery = {},
    opts?: RequestOptions,
  ): AsyncIterable<OperationSummary> {
    const { pageSize, limit, ...filters } = q;
    return paginate(
      (limit, offset) => this.listOperations({ ...filters, limit, offset }, opts),
      pageSize,
      limit,
    );
  }

  /**
   * `GET /v1/operations/{uuid}`: an operation with its metadata and result.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const op = await client.getOperation("87654321-9abc-baba-deda-0123456789ab");
   * console.log(op.status, op.result?.image);
   * ```
   */
  getOperation(
    uuid: string,
    q: { inflight?: boolean } = {},
    opts?: RequestOptions,
  ): Promise<OperationResponse> {
    const path = `/operations/${pathParam(uuid)}`;
    const where = `GET ${path}`;
    return this.#http.send(
      { method: "GET", path, query: { inflight: q.inflight } },
      opts,
      async (res) => parseOperation(parseJson(await res.text(), where), where),
    );
  }

  /**
   * `DELETE /v1/operations/{uuid}`: cancels an operation (409 when already finished).
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * await client.cancelOperation("87654321-9abc-baba-deda-0123456789ab");
   * ```
   */
  cancelOperation(uuid: string, opts?: RequestOptions): Promise<void> {
    return this.#empty({ method: "DELETE", path: `/operations/${pathParam(uuid)}` }, opts);
  }

  #events(
    uuid: string,
    q: OperationEventsQuery,
    retry: boolean,
    opts: RequestOptions | undefined,
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (q.lastEventId !== undefined) headers["last-event-id"] = String(q.lastEventId);
    return this.#http.stream({
      method: "GET",
      path: `/operations/${pathParam(uuid)}/events`,
      query: { follow: q.follow, spid: q.spid, since: q.since },
      headers,
      retry,
      idle: false,
    }, opts);
  }

  /**
   * `GET /v1/operations/{uuid}/events` over one connection: yields the events
   * it carries; an in-band `sse_error` raises an `SSEStreamError` carrying the
   * last event id. Breaking out of the loop, or aborting the signal, closes the
   * connection. The stream may idle: the timeout covers the headers only.
   *
   * @example Replay the retained log
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * for await (const event of client.operationEvents("87654321-9abc-baba-deda-0123456789ab")) {
   *   console.log(event.id, event.type);
   * }
   * ```
   */
  async *operationEvents(
    uuid: string,
    q: OperationEventsQuery = {},
    opts?: RequestOptions,
  ): AsyncIterable<OperationEvent> {
    const res = await this.#events(uuid, q, true, opts);
    for await (const batch of readEventBatches(res.body!, opts?.signal, q.lastEventId)) {
      yield* batch;
    }
  }

  /**
   * Follows an operation's events until an event of type `completion` (of any
   * shape: an unreadable one is passed on as `unknown`), reconnecting with
   * `Last-Event-Id` after EOF, `sse_error`, network errors or a truncated body,
   * so that the events are exact: none lost, none repeated. Once the operation
   * is terminal, reconnects replay its log without `follow`, resuming the same
   * way. 410/425/429/5xx are retried honouring `Retry-After`. A connection that
   * delivered new events does not use up an attempt; consecutive ones that did
   * not are bounded by the retry policy's `maxAttempts` and `deadline` (also
   * when `retry` is `false`), refused connections by a short budget, and then
   * the iterator throws an `SSEStreamError` with the `lastEventId` to resume
   * from and the failure as `cause`: it never makes up a completion over output
   * it could not read. Only when the endpoint has no stream at all
   * (400/404/405/406 on the first connection) is the operation polled, and then
   * the output it holds (stdout, stderr) is yielded before a synthesised
   * `completion`.
   *
   * @example
   * ```ts
   * import { ContreeClient, decodeStreamText } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * for await (const event of client.followOperationEvents("87654321-9abc-baba-deda-0123456789ab")) {
   *   if (event.type === "stdout") console.log(decodeStreamText(event.data));
   *   if (event.type === "completion") console.log(event.data.status);
   * }
   * ```
   */
  followOperationEvents(
    uuid: string,
    q: FollowOperationEventsQuery = {},
    opts?: RequestOptions,
  ): AsyncIterable<OperationEvent> {
    const signal = opts?.signal;
    return followEvents(
      {
        connect: async (follow, lastEventId) =>
          (await this.#events(uuid, { follow, spid: q.spid, lastEventId }, false, opts)).body!,
        operation: () => this.getOperation(uuid, {}, { signal }),
        signal,
        uuid,
      },
      this.#policy,
      q.lastEventId,
    );
  }

  /**
   * `POST /v1/operations/{uuid}/subprocesses`: starts a process in a running
   * instance (status `ASSIGNED` or `EXECUTING`).
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const { spid } = await client.createSubprocess("87654321-9abc-baba-deda-0123456789ab", { command: "ls" });
   * ```
   */
  createSubprocess(
    opUuid: string,
    spec: ExecSpec,
    opts?: RequestOptions,
  ): Promise<{ spid: number }> {
    return this.#json(
      { method: "POST", path: `/operations/${pathParam(opUuid)}/subprocesses`, json: spec },
      SpidSchema,
      opts,
    );
  }

  #subprocessPath(opUuid: string, spid: number): string {
    return `/operations/${pathParam(opUuid)}/subprocesses/${pathParam(spid)}`;
  }

  /**
   * `GET /v1/operations/{uuid}/subprocesses/{spid}`: the process's result so far
   * (`exit_code` and `signal` are -1 while it runs).
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const result = await client.getSubprocess("87654321-9abc-baba-deda-0123456789ab", 2);
   * console.log(result.state?.exit_code);
   * ```
   */
  getSubprocess(opUuid: string, spid: number, opts?: RequestOptions): Promise<InstanceResult> {
    return this.#json(
      { method: "GET", path: this.#subprocessPath(opUuid, spid) },
      InstanceResultSchema,
      opts,
    );
  }

  /**
   * `DELETE /v1/operations/{uuid}/subprocesses/{spid}`: signals a process (e.g. `TERM`).
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * await client.killSubprocess("87654321-9abc-baba-deda-0123456789ab", 2, "KILL");
   * ```
   */
  killSubprocess(
    opUuid: string,
    spid: number,
    signal?: string,
    opts?: RequestOptions,
  ): Promise<void> {
    return this.#empty(
      { method: "DELETE", path: this.#subprocessPath(opUuid, spid), query: { signal } },
      opts,
    );
  }

  /**
   * `POST /v1/operations/{uuid}/subprocesses/{spid}/stdin`: writes to a
   * process's stdin; `close: true` closes it.
   *
   * @example
   * ```ts
   * import { ContreeClient, encodeStream } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * await client.writeSubprocessStdin("87654321-9abc-baba-deda-0123456789ab", 2, {
   *   ...encodeStream("hello\n"),
   *   close: true,
   * });
   * ```
   */
  writeSubprocessStdin(
    opUuid: string,
    spid: number,
    input: ClosableStreamRepr,
    opts?: RequestOptions,
  ): Promise<void> {
    return this.#empty(
      { method: "POST", path: `${this.#subprocessPath(opUuid, spid)}/stdin`, json: input },
      opts,
    );
  }

  /**
   * `GET /v1/inspect/?tag=NAME`: the UUID of the image with this tag, read from
   * the 302's `Location` (the redirect is not followed).
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const uuid = await client.findImageByTag("busybox:latest");
   * ```
   */
  async findImageByTag(tag: string, opts?: RequestOptions): Promise<string> {
    const spec: RequestSpec = {
      method: "GET",
      path: "/inspect/",
      query: { tag },
      manualRedirect: true,
    };
    const fromLocation = await this.#http.send(spec, opts, async (res) => {
      await res.body?.cancel();
      // Browsers hide a redirect's Location from scripts (an "opaqueredirect" response).
      if (res.type === "opaqueredirect") return null;
      const location = res.status >= 300 && res.status < 400 ? res.headers.get("location") : null;
      return location === null ? "" : lastSegment(location);
    });
    // There, follow the redirect instead and read the image's URL, as the JS client does.
    const uuid = fromLocation ?? await this.#http.send(
      { ...spec, manualRedirect: false },
      opts,
      async (res) => {
        await res.body?.cancel();
        return lastSegment(new URL(res.url).pathname);
      },
    );
    if (uuid === "") {
      throw new ResponseValidationError(
        "Location",
        "expected a redirect to the image",
        `GET /inspect/?tag=${tag}`,
      );
    }
    return uuid;
  }

  #inspect(uuid: string, rest: string): string {
    return `/inspect/${pathParam(uuid)}/${rest}`;
  }

  /** The GET of a file or an archive, with the encoding `compressedDownloads` asks for. */
  #file(uuid: string, rest: "download" | "archive", path: string): RequestSpec {
    return {
      method: "GET",
      path: this.#inspect(uuid, rest),
      query: { path },
      headers: this.#fileHeaders,
    };
  }

  /**
   * `GET /v1/inspect/{uuid}/`: an image's record.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const image = await client.inspectImage("87654321-9abc-baba-deda-0123456789ab");
   * ```
   */
  inspectImage(uuid: string, opts?: RequestOptions): Promise<Image> {
    return this.#json({ method: "GET", path: this.#inspect(uuid, "") }, ImageSchema, opts);
  }

  /**
   * `GET /v1/inspect/{uuid}/list?path=`: a directory of an image.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const list = await client.listDirectory("87654321-9abc-baba-deda-0123456789ab", "/etc");
   * for (const item of list.files) console.log(item.path, item.size);
   * ```
   */
  listDirectory(uuid: string, path: string, opts?: RequestOptions): Promise<DirectoryList> {
    return this.#json(
      { method: "GET", path: this.#inspect(uuid, "list"), query: { path } },
      DirectoryListSchema,
      opts,
    );
  }

  /**
   * `GET /v1/inspect/{uuid}/list?path=&text=1`: the server's `ls -l`-like listing.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * console.log(await client.listDirectoryText("87654321-9abc-baba-deda-0123456789ab", "/"));
   * ```
   */
  listDirectoryText(uuid: string, path: string, opts?: RequestOptions): Promise<string> {
    return this.#http.send(
      { method: "GET", path: this.#inspect(uuid, "list"), query: { path, text: true } },
      opts,
      (res) => res.text(),
    );
  }

  /**
   * `GET /v1/inspect/{uuid}/download?path=`: a file of an image, in memory.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const hosts = await client.download("87654321-9abc-baba-deda-0123456789ab", "/etc/hosts");
   * console.log(new TextDecoder().decode(hosts));
   * ```
   */
  download(uuid: string, path: string, opts?: RequestOptions): Promise<Uint8Array> {
    return this.#http.send(
      this.#file(uuid, "download", path),
      opts,
      async (res) => new Uint8Array(await res.arrayBuffer()),
    );
  }

  /**
   * `GET /v1/inspect/{uuid}/download?path=` as a stream. The timeout covers
   * the wait for the headers, then each wait for the next bytes (a
   * `ContreeTimeoutError` errors the body when none come); aborting the signal
   * cancels the transfer.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const { body, size } = await client.downloadStream("87654321-9abc-baba-deda-0123456789ab", "/big.bin");
   * let received = 0;
   * for await (const chunk of body) received += chunk.length;
   * console.log(received, size);
   * ```
   */
  async downloadStream(
    uuid: string,
    path: string,
    opts?: DownloadOptions,
  ): Promise<DownloadStream> {
    const spec = this.#file(uuid, "download", path);
    if (opts?.streamIdleTimeout === false) spec.idle = false;
    const range = opts?.range;
    if (range) {
      // A range counts the file's own bytes, so it is asked of the uncompressed file.
      spec.headers = { ...spec.headers, ...UNCOMPRESSED, range: rangeHeader(range) };
      spec.pass = [416];
    }
    const res = await this.#http.stream(spec, opts);
    const length = res.headers.get("content-length");
    const encoded = (res.headers.get("content-encoding") ?? "identity") !== "identity";
    const body = res.body ?? new Response(new Uint8Array()).body!;
    const size = length !== null && !encoded ? Number(length) : undefined;
    if (!range) return { body, size };
    const where = readContentRange(res.headers.get("content-range"));
    const unsatisfiable = (total: number | undefined) =>
      new RangeNotSatisfiableError({
        status: 416,
        message: `the range ${rangeHeader(range)} starts past the end of ${path}`,
        body: "",
        method: "GET",
        url: this.#http.url(spec.path, spec.query),
        size: total,
      });
    if (res.status === 416) {
      await body.cancel();
      throw unsatisfiable(where?.total);
    }
    if (res.status === 206 && where && "start" in where) return { body, size, range: where };
    // The server sent the whole file: cut the range out of it.
    if (size === undefined) {
      await body.cancel();
      throw new ContreeError(`cannot take a range of ${path}: the server sent no length`);
    }
    const bounds = resolveRange(range, size);
    if (!bounds) {
      await body.cancel();
      throw unsatisfiable(size);
    }
    const part = bounds.end - bounds.start + 1;
    return {
      body: part === size ? body : body.pipeThrough(sliceStream(bounds.start, part)),
      size: part,
      range: { ...bounds, total: size },
    };
  }

  /**
   * `HEAD /v1/inspect/{uuid}/download?path=`: whether the file exists.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * console.log(await client.imageFileExists("87654321-9abc-baba-deda-0123456789ab", "/etc/hosts"));
   * ```
   */
  imageFileExists(uuid: string, path: string, opts?: RequestOptions): Promise<boolean> {
    return this.#exists(this.#inspect(uuid, "download"), { path }, opts);
  }

  /**
   * `GET /v1/inspect/{uuid}/archive?path=`: a directory as a tar stream, or as
   * gzip bytes (a `.tar.gz`) with `compressed: true`. The timeout covers the
   * wait for the headers, then each wait for the next bytes; aborting the
   * signal cancels the transfer.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const tarGz = await client.archive("87654321-9abc-baba-deda-0123456789ab", "/etc", { compressed: true });
   * const bytes = new Uint8Array(await new Response(tarGz).arrayBuffer());
   * ```
   */
  async archive(
    uuid: string,
    path: string,
    options: { compressed?: boolean } = {},
    opts?: RequestOptions,
  ): Promise<ReadableStream<Uint8Array>> {
    const res = await this.#http.stream(
      this.#file(uuid, "archive", path),
      opts,
    );
    const body = res.body ?? new Response(new Uint8Array()).body!;
    return options.compressed ? gzipUnlessGzipped(body, opts?.signal) : body;
  }

  /**
   * `HEAD /v1/inspect/{uuid}/archive?path=`: whether the path can be archived.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * console.log(await client.archiveExists("87654321-9abc-baba-deda-0123456789ab", "/etc"));
   * ```
   */
  archiveExists(uuid: string, path: string, opts?: RequestOptions): Promise<boolean> {
    return this.#exists(this.#inspect(uuid, "archive"), { path }, opts);
  }

  /**
   * `GET /v1/inspect/{uuid}/grep`: searches an image's files.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const result = await client.grep("87654321-9abc-baba-deda-0123456789ab", { pattern: "root", path: "/etc" });
   * for (const match of result.matches) console.log(match.path, match.line_number, match.line_text);
   * ```
   */
  grep(uuid: string, q: GrepQuery, opts?: RequestOptions): Promise<GrepResult> {
    return this.#json(
      { method: "GET", path: this.#inspect(uuid, "grep"), query: { ...q } },
      GrepResultSchema,
      opts,
    );
  }

  /**
   * Resolves an image reference to a UUID: a UUID is returned as-is, and
   * `tag:NAME` or a bare `NAME` is looked up with {@linkcode ContreeClient.findImageByTag}.
   *
   * @example
   * ```ts
   * import { ContreeClient } from "@contree/sdk";
   *
   * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
   * const uuid = await client.resolveImage("tag:busybox:latest");
   * ```
   */
  async resolveImage(ref: string, opts?: RequestOptions): Promise<string> {
    const parsed = parseImageRef(ref);
    return parsed.kind === "uuid" ? parsed.uuid : await this.findImageByTag(parsed.tag, opts);
  }
}

/**
 * Gzips a body unless it already starts with the gzip magic bytes (a fetch
 * that left the encoding on); the runtimes' fetch decodes gzip, so this
 * usually re-compresses.
 */
async function gzipUnlessGzipped(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal | undefined,
): Promise<ReadableStream<Uint8Array>> {
  const reader = body.getReader();
  const head: Uint8Array[] = [];
  let size = 0;
  let done = false;
  try {
    while (size < 2 && !done) {
      const chunk = await reader.read();
      if (chunk.done) done = true;
      else size += head[head.push(chunk.value) - 1].length;
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw new ContreeNetworkError(`archive broke: ${(error as Error).message}`, { cause: error });
  }
  const lead = head.flatMap((chunk) => Array.from(chunk.subarray(0, 2)));
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = head.shift();
      if (chunk !== undefined) return controller.enqueue(chunk);
      const next = done ? { done: true as const, value: undefined } : await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  const gzipped = lead[0] === 0x1f && lead[1] === 0x8b;
  // The DOM typings declare CompressionStream's writable side as BufferSource.
  const gzip = new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>;
  return gzipped ? stream : stream.pipeThrough(gzip);
}
