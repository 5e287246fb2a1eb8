/**
 * The wire models of the ConTree API, field names as on the wire (snake_case).
 *
 * Responses are validated against these shapes: unknown fields are dropped,
 * optional fields that arrive as `null` read as absent, and a missing or
 * mistyped required field raises a `ResponseValidationError`. Optional request
 * fields are tri-state: omitted, `null` (sent as `null`) or a value.
 *
 * @module
 */

/**
 * Token introspection, from `GET /v1/whoami`.
 *
 * @example
 * ```ts
 * import type { WhoAmI } from "@contree/sdk";
 *
 * const canList = (me: WhoAmI) => me.permissions.list === true;
 * ```
 */
export interface WhoAmI {
  /** The token's id. */
  token_uuid: string;
  /** When the token expires (likely epoch seconds), or `null`. */
  token_expiration: number | null;
  /** Every known permission and whether the token has it. */
  permissions: Record<string, boolean>;
  /** Limits such as `instance_max_timeout` (seconds). */
  limits?: Record<string, number>;
  /** Operation counters. */
  operations_stat: Record<string, number>;
}

/**
 * An immutable filesystem image.
 *
 * @example
 * ```ts
 * import type { Image } from "@contree/sdk";
 *
 * const label = (image: Image) => image.tag ?? image.uuid;
 * ```
 */
export interface Image {
  /** The image's UUID. */
  uuid: string;
  /** Its tag, or `null` when untagged. */
  tag?: string | null;
  /** Creation time, ISO-8601. */
  created_at?: string;
  /** The operation that produced it, or `null`. */
  operation_uuid?: string | null;
}

/**
 * One page of `GET /v1/images`.
 *
 * @example
 * ```ts
 * import type { ImageListResponse } from "@contree/sdk";
 *
 * const uuids = (page: ImageListResponse) => page.images.map((image) => image.uuid);
 * ```
 */
export interface ImageListResponse {
  /** The images of the page (empty when the server omits the field). */
  images: Image[];
}

/**
 * The body of `POST /v1/images/import`.
 *
 * @example
 * ```ts
 * import type { ImageImportRequest } from "@contree/sdk";
 *
 * const body: ImageImportRequest = {
 *   registry: { url: "docker://docker.io/library/busybox:latest" },
 *   tag: "busybox:latest",
 * };
 * ```
 */
export interface ImageImportRequest {
  /** Where to pull from. */
  registry: {
    /** `docker://<registry>/<path>:<tag>`. */
    url: string;
    /** Registry credentials, when needed. */
    credentials?: { username?: string | null; password?: string | null } | null;
  };
  /** Tag to give the imported image. */
  tag?: string | null;
  /** Import time limit in seconds. */
  timeout?: number | null;
}

/**
 * The answer of `POST /v1/files`: a content-addressed upload.
 *
 * @example
 * ```ts
 * import type { FileResponse } from "@contree/sdk";
 *
 * const describe = (file: FileResponse) => `${file.uuid} (${file.size} bytes, ${file.sha256})`;
 * ```
 */
export interface FileResponse {
  /** The file's UUID, used in `files` of a spawn. */
  uuid: string;
  /** Lowercase hex SHA-256 of the content. */
  sha256: string;
  /** Size in bytes. */
  size: number;
}

/**
 * An uploaded file, from `GET /v1/files/{sha256}` and `GET /v1/files`.
 *
 * @example
 * ```ts
 * import type { ContreeFile } from "@contree/sdk";
 *
 * const age = (file: ContreeFile) => Date.now() - Date.parse(file.created_at);
 * ```
 */
export interface ContreeFile extends FileResponse {
  /** Upload time, ISO-8601. */
  created_at: string;
  /** Last update time, ISO-8601. */
  updated_at: string;
}

/**
 * One page of `GET /v1/files`.
 *
 * @example
 * ```ts
 * import type { FilesListResponse } from "@contree/sdk";
 *
 * const total = (page: FilesListResponse) => page.files.reduce((n, file) => n + file.size, 0);
 * ```
 */
export interface FilesListResponse {
  /** The files of the page. */
  files: ContreeFile[];
}

/**
 * A stream's captured bytes: text as-is (`ascii`) or base64. Decode it with
 * `decodeStream`.
 *
 * @example
 * ```ts
 * import type { StreamRepr } from "@contree/sdk";
 *
 * const out: StreamRepr = { value: "hi\n", encoding: "ascii" };
 * ```
 */
export interface StreamRepr {
  /** The bytes, as text or base64. */
  value: string;
  /** `ascii` or `base64`; anything but `base64` is read as text. */
  encoding: string;
  /** Whether the capture was cut at `truncate_output_at`. */
  truncated?: boolean;
}

/**
 * Input for a process's stdin; `close: true` closes it after `value`.
 *
 * @example
 * ```ts
 * import type { ClosableStreamRepr } from "@contree/sdk";
 *
 * const keepOpen: ClosableStreamRepr = { value: "", close: false };
 * ```
 */
export interface ClosableStreamRepr {
  /** The bytes, as text or base64. */
  value: string;
  /** `ascii` (the default) or `base64`. */
  encoding?: "ascii" | "base64" | null;
  /** Close stdin after writing `value`. */
  close?: boolean | null;
}

/**
 * A file injected into an instance before it starts.
 *
 * @example
 * ```ts
 * import type { FileSpec } from "@contree/sdk";
 *
 * const script: FileSpec = { uuid: "a9165a5d-5c86-4bd8-8ee4-ae46c19cf45d", mode: "0755" };
 * ```
 */
export interface FileSpec {
  /** The uploaded file's UUID. */
  uuid?: string | null;
  /** Owner uid. */
  uid?: number | null;
  /** Owner gid. */
  gid?: number | null;
  /** Octal string such as `"0644"`; numbers are sent as `"%04o"`. */
  mode?: string | number | null;
}

/**
 * Limits applied to an instance.
 *
 * @example
 * ```ts
 * import type { InstanceResourcesLimits } from "@contree/sdk";
 *
 * const limits: InstanceResourcesLimits = { max_layer_bytes: 1 << 30 };
 * ```
 */
export interface InstanceResourcesLimits {
  /** Largest result layer, in bytes. */
  max_layer_bytes?: number | null;
}

/**
 * Network access of an instance.
 *
 * @example
 * ```ts
 * import type { InstanceNetworking } from "@contree/sdk";
 *
 * const online: InstanceNetworking = { enabled: true };
 * ```
 */
export interface InstanceNetworking {
  /** Whether the instance can reach the network. */
  enabled?: boolean | null;
}

/**
 * The optional settings of a spawn, shared by the request, its echo and the
 * operation metadata.
 *
 * @example
 * ```ts
 * import type { InstanceSettings } from "@contree/sdk";
 *
 * const settings: InstanceSettings = { shell: true, timeout: 30, env: { KEY: "value" } };
 * ```
 */
export interface InstanceSettings {
  /** argv after `command` (with `shell: false`). */
  args?: string[] | null;
  /** Run `/bin/sh -c <command>`. */
  shell?: boolean | null;
  /** Extra environment. */
  env?: Record<string, string> | null;
  /** Keep this run's environment in the result image. */
  preserve_env?: boolean | null;
  /** Working directory; empty means the image's. */
  cwd?: string | null;
  /** User to run as. */
  uid?: number | null;
  /** Group to run as. */
  gid?: number | null;
  /** Hostname inside the instance. */
  hostname?: string | null;
  /** Drop filesystem changes: no result image. */
  disposable?: boolean | null;
  /** Data for the command's stdin. */
  stdin?: ClosableStreamRepr | null;
  /** Run time limit in seconds. */
  timeout?: number | null;
  /** Cap on captured stdout/stderr in bytes. */
  truncate_output_at?: number | null;
  /** Resource limits. */
  resources_limits?: InstanceResourcesLimits | null;
  /** Networking. */
  networking?: InstanceNetworking | null;
  /** Files to inject, keyed by absolute path in the instance. */
  files?: Record<string, FileSpec> | null;
}

/**
 * The body of `POST /v1/instances`.
 *
 * @example
 * ```ts
 * import type { InstanceSpawnRequest } from "@contree/sdk";
 *
 * const body: InstanceSpawnRequest = { image: "tag:busybox:latest", command: "echo hi", shell: true };
 * ```
 */
export interface InstanceSpawnRequest extends InstanceSettings {
  /** Executable, or a shell expression with `shell: true`. */
  command: string;
  /** Image UUID or `tag:NAME`. */
  image: string;
}

/**
 * The answer of a spawn: the operation's UUID plus an echo of the request.
 *
 * @example
 * ```ts
 * import type { InstanceSpawnResponse } from "@contree/sdk";
 *
 * const operationId = (answer: InstanceSpawnResponse) => answer.uuid;
 * ```
 */
export interface InstanceSpawnResponse extends InstanceSettings {
  /** The operation's UUID. */
  uuid: string;
  /** Echo of the command. */
  command?: string;
  /** Echo of the image. */
  image?: string;
}

/**
 * The body of `POST /v1/operations/{id}/subprocesses`.
 *
 * @example
 * ```ts
 * import type { ExecSpec } from "@contree/sdk";
 *
 * const spec: ExecSpec = { command: "cat", stdin: { value: "", close: false } };
 * ```
 */
export interface ExecSpec {
  /** Executable, or a shell expression with `shell: true`. */
  command: string;
  /** argv after `command`. */
  args?: string[] | null;
  /** Run `/bin/sh -c <command>`. */
  shell?: boolean | null;
  /** Extra environment. */
  env?: Record<string, string> | null;
  /** Working directory. */
  cwd?: string | null;
  /** User to run as. */
  uid?: number | null;
  /** Group to run as. */
  gid?: number | null;
  /** Data for stdin; `close: false` keeps it open. */
  stdin?: ClosableStreamRepr | null;
  /** Cap on captured output in bytes. */
  truncate_output_at?: number | null;
}

/**
 * How a process ended; `-1` means "none" (still running, or not signalled).
 *
 * @example
 * ```ts
 * import type { InstanceResultState } from "@contree/sdk";
 *
 * const failed = (state: InstanceResultState) => (state.exit_code ?? 0) !== 0 || state.timed_out === true;
 * ```
 */
export interface InstanceResultState {
  /** Exit code. */
  exit_code?: number;
  /** Process id. */
  pid?: number;
  /** Signal that ended the process. */
  signal?: number;
  /** Whether the run hit its time limit. */
  timed_out?: boolean;
  /** Whether it dumped core. */
  core_dump?: boolean;
  /** Whether it was stopped. */
  stopped?: boolean;
  /** Whether it was continued. */
  continued?: boolean;
}

/**
 * Resource accounting of a process.
 *
 * @example
 * ```ts
 * import type { InstanceResultResources } from "@contree/sdk";
 *
 * const seconds = (r: InstanceResultResources) => r.elapsed_time ?? 0;
 * ```
 */
export interface InstanceResultResources {
  /** Wall time, seconds. */
  elapsed_time?: number;
  /** Monotonic time, seconds. */
  monotonic_time?: number;
  /** User CPU, seconds. */
  user_cpu_time?: number;
  /** System CPU, seconds. */
  system_cpu_time?: number;
  /** Cost. */
  cost?: number;
  /** Peak resident set. */
  max_rss?: number;
  /** Block input operations. */
  block_input?: number;
  /** Block output operations. */
  block_output?: number;
  /** Page faults. */
  page_faults?: number;
  /** Page faults that needed I/O. */
  page_faults_io?: number;
  /** Shared memory. */
  shared_memory?: number;
  /** Unshared memory. */
  unshared_memory?: number;
  /** Swaps. */
  swaps?: number;
  /** Signals received. */
  signals?: number;
  /** Voluntary context switches. */
  voluntary_switches?: number;
  /** Involuntary context switches. */
  involuntary_switches?: number;
}

/**
 * The outcome of a process: state, resources and captured output.
 *
 * @example
 * ```ts
 * import { decodeStreamText, type InstanceResult } from "@contree/sdk";
 *
 * const stdout = (result: InstanceResult) => result.stdout ? decodeStreamText(result.stdout) : "";
 * ```
 */
export interface InstanceResult {
  /** Resource accounting. */
  resources?: InstanceResultResources;
  /** How it ended. */
  state?: InstanceResultState;
  /** Captured stdout. */
  stdout?: StreamRepr;
  /** Captured stderr. */
  stderr?: StreamRepr;
}

/**
 * Operation statuses: active ones first, then the terminal ones.
 *
 * @example
 * ```ts
 * import type { OperationStatus } from "@contree/sdk";
 *
 * const done = (status: OperationStatus) => ["SUCCESS", "FAILED", "CANCELLED"].includes(status);
 * ```
 */
export type OperationStatus =
  | "PENDING"
  | "ASSIGNED"
  | "EXECUTING"
  | "SUCCESS"
  | "FAILED"
  | "CANCELLED";

/**
 * The statuses an operation ends in.
 *
 * @example
 * ```ts
 * import type { TerminalStatus } from "@contree/sdk";
 *
 * const ok = (status: TerminalStatus) => status === "SUCCESS";
 * ```
 */
export type TerminalStatus = "SUCCESS" | "FAILED" | "CANCELLED";

/**
 * One entry of `GET /v1/operations` (a bare array on the wire).
 *
 * @example
 * ```ts
 * import type { OperationSummary } from "@contree/sdk";
 *
 * const running = (ops: OperationSummary[]) => ops.filter((op) => op.status === "EXECUTING");
 * ```
 */
export interface OperationSummary {
  /** The operation's UUID. */
  uuid: string;
  /** `instance` or `image_import`. */
  kind?: string;
  /** Where it is in its lifecycle. */
  status: OperationStatus;
  /** Failure reason, or `null`. */
  error?: string | null;
  /** Creation time, ISO-8601. */
  created_at?: string;
  /** Duration in seconds. */
  duration?: number;
  /** Size of the result image in bytes. */
  image_size?: number;
  /** CPU consumed. */
  consumed_cpu?: number;
  /** Memory consumed. */
  consumed_memory?: number;
  /** The input image. */
  image_uuid?: string | null;
  /** The result image, or `null`. */
  result_image_uuid?: string | null;
}

/**
 * The metadata of an `instance` operation: the spawn request plus its result.
 *
 * @example
 * ```ts
 * import type { OperationInstanceMetadata } from "@contree/sdk";
 *
 * const exitCode = (meta: OperationInstanceMetadata) => meta.result?.state?.exit_code;
 * ```
 */
export interface OperationInstanceMetadata extends InstanceSettings {
  /** The command. */
  command: string;
  /** The image it ran on. */
  image: string;
  /** The result, once finished. */
  result?: InstanceResult;
}

/**
 * The metadata of an `image_import` operation (the password comes back masked).
 *
 * @example
 * ```ts
 * import type { ImageImportMetadata } from "@contree/sdk";
 *
 * const source = (meta: ImageImportMetadata) => meta.registry?.url;
 * ```
 */
export interface ImageImportMetadata {
  /** Where it was pulled from. */
  registry?: {
    /** Registry URL. */
    url?: string;
    /** Credentials (masked). */
    credentials?: { username?: string; password?: string };
  };
  /** The requested tag. */
  tag?: string;
  /** Time limit in seconds. */
  timeout?: number;
}

/**
 * The result image of an operation.
 *
 * @example
 * ```ts
 * import type { OperationResult } from "@contree/sdk";
 *
 * const image = (result: OperationResult) => result.image ?? undefined;
 * ```
 */
export interface OperationResult {
  /** The result image's UUID, `null` for disposable or failed runs. */
  image?: string | null;
  /** Its tag. */
  tag?: string | null;
}

/**
 * `GET /v1/operations/{id}`: the summary plus metadata (by `kind`) and result.
 *
 * @example
 * ```ts
 * import type { OperationResponse } from "@contree/sdk";
 *
 * const resultImage = (op: OperationResponse) => op.result_image_uuid ?? op.result?.image ?? null;
 * ```
 */
export interface OperationResponse extends OperationSummary {
  /** Instance metadata when `kind` is `instance`, import metadata otherwise. */
  metadata?: OperationInstanceMetadata | ImageImportMetadata;
  /** The result image. */
  result?: OperationResult;
}

/**
 * One directory entry of an image.
 *
 * @example
 * ```ts
 * import { formatFileMode, type FileItem } from "@contree/sdk";
 *
 * const line = (item: FileItem) => `${formatFileMode(item.mode)} ${item.size} ${item.path}`;
 * ```
 */
export interface FileItem {
  /** Name relative to the listed directory. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** User name or uid. */
  owner: string | number;
  /** Group name or gid. */
  group: string | number;
  /** Numeric uid. */
  uid: number;
  /** Numeric gid. */
  gid: number;
  /** Full `st_mode`, e.g. `33188` (`0o100644`). */
  mode: number;
  /** Modification time, unix seconds. */
  mtime: number;
  /** Link count. */
  nlink: number;
  /** Is a directory. */
  is_dir: boolean;
  /** Is a regular file. */
  is_regular: boolean;
  /** Is a symlink. */
  is_symlink: boolean;
  /** Is a socket. */
  is_socket: boolean;
  /** Is a FIFO. */
  is_fifo: boolean;
  /** Symlink target, `""` if not a symlink. */
  symlink_to: string;
}

/**
 * A directory of an image, from `GET /v1/inspect/{uuid}/list`.
 *
 * @example
 * ```ts
 * import type { DirectoryList } from "@contree/sdk";
 *
 * const names = (list: DirectoryList) => list.files.map((item) => item.path);
 * ```
 */
export interface DirectoryList {
  /** The listed path. */
  path: string;
  /** Its entries. */
  files: FileItem[];
}

/**
 * Query of `GET /v1/inspect/{uuid}/grep`; the list-valued fields repeat.
 *
 * @example
 * ```ts
 * import type { GrepQuery } from "@contree/sdk";
 *
 * const query: GrepQuery = { pattern: ["root", "daemon"], path: "/etc", glob: "*.conf", max_count: 5 };
 * ```
 */
export interface GrepQuery {
  /** One or more patterns (required). */
  pattern: string | string[];
  /** Paths to search. */
  path?: string | string[];
  /** Globs to filter file names. */
  glob?: string | string[];
  /** Most matches per file. */
  max_count?: number;
  /** Most matches overall. */
  max_total?: number;
  /** Context lines before a match. */
  before?: number;
  /** Context lines after a match. */
  after?: number;
  /** Case mode, e.g. `sensitive`, `insensitive` or `smart`. */
  case?: string;
}

/**
 * A matched part of a line.
 *
 * @example
 * ```ts
 * import type { GrepSubmatch } from "@contree/sdk";
 *
 * const width = (sub: GrepSubmatch) => sub.end - sub.start;
 * ```
 */
export interface GrepSubmatch {
  /** The matched text. */
  text: string;
  /** Start offset in the line. */
  start: number;
  /** End offset in the line. */
  end: number;
}

/**
 * One matching line (field names mirror ripgrep's JSON output).
 *
 * @example
 * ```ts
 * import type { GrepMatch } from "@contree/sdk";
 *
 * const where = (match: GrepMatch) => `${match.path}:${match.line_number}`;
 * ```
 */
export interface GrepMatch {
  /** File path. */
  path: string;
  /** Line number, from 1 (required on the wire). */
  line_number: number;
  /** Byte offset of the line in the file. */
  absolute_offset: number;
  /** The line's text. */
  line_text: string;
  /** The line's bytes, as the server encodes them (shape not documented). */
  line_bytes: unknown;
  /** The matches within the line. */
  submatches: GrepSubmatch[];
  /** Entry type, e.g. `match` or `context`. */
  type: string;
}

/**
 * The answer of a grep.
 *
 * @example
 * ```ts
 * import type { GrepResult } from "@contree/sdk";
 *
 * const files = (result: GrepResult) => new Set(result.matches.map((match) => match.path));
 * ```
 */
export interface GrepResult {
  /** The searched path. */
  path: string;
  /** The patterns. */
  patterns: string[];
  /** The matches, `[]` when none. */
  matches: GrepMatch[];
  /** Whether `max_total` cut the result. */
  truncated: boolean;
}

/**
 * Per-call options, the last argument of every method.
 *
 * @example
 * ```ts
 * import { ContreeClient } from "@contree/sdk";
 *
 * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080" });
 * const controller = new AbortController();
 * const me = client.whoami({ signal: controller.signal, timeout: 5_000 });
 * ```
 */
export interface RequestOptions {
  /** Aborts the call, which then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Per-attempt timeout in milliseconds (idle timeout of streamed bodies), overriding the client's. */
  timeout?: number;
}
