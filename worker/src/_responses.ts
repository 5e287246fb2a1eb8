/**
 * The valibot schemas of the gateway's JSON answers, from which its OpenAPI document is made.
 * Each is typed by the interface the handlers build, so a handler, its interface and the
 * document cannot drift apart.
 *
 * @module
 */
import * as v from "valibot";
import type { ProblemBody } from "./_problem.ts";
import type { ImageJson } from "./routes/images.ts";
import type { RunResultJson } from "./routes/run.ts";

const Uuid = v.pipe(v.string(), v.uuid());
const Time = v.pipe(v.string(), v.isoTimestamp());
const Count = v.pipe(v.number(), v.integer(), v.minValue(0));

/**
 * `GET /healthz`.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { HealthJsonSchema } from "./_responses.ts";
 *
 * v.parse(HealthJsonSchema, { status: "ok" });
 * ```
 */
export const HealthJsonSchema: v.GenericSchema<{ status: "ok" }> = v.object({
  status: v.literal("ok"),
});

/**
 * An image.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { ImageJsonSchema } from "./_responses.ts";
 *
 * v.parse(ImageJsonSchema, { uuid: "0b8e5f8e-2b7c-4f55-9d57-8d0c2a3a8b51", tag: null, createdAt: null });
 * ```
 */
export const ImageJsonSchema: v.GenericSchema<ImageJson> = v.object({
  uuid: Uuid,
  tag: v.nullable(v.string()),
  createdAt: v.pipe(v.nullable(Time), v.description("When it was made; null when unknown.")),
});

/**
 * `GET /images`: one page.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { ImageListJsonSchema } from "./_responses.ts";
 *
 * v.parse(ImageListJsonSchema, { images: [], nextCursor: null });
 * ```
 */
export const ImageListJsonSchema: v.GenericSchema<
  { images: ImageJson[]; nextCursor: string | null }
> = v.object({
  images: v.array(ImageJsonSchema),
  nextCursor: v.pipe(
    v.nullable(v.string()),
    v.description("The `cursor` of the next page; null on the last one."),
  ),
});

/**
 * One entry of a directory listing.
 *
 * @example
 * ```ts
 * import type { EntryJson } from "./_responses.ts";
 *
 * const isDir = (entry: EntryJson) => entry.type === "directory";
 * ```
 */
export interface EntryJson {
  /** The entry's name. */
  name: string;
  /** Its kind. */
  type: "file" | "directory" | "symlink" | "socket" | "fifo" | "other";
  /** Its size in bytes. */
  size: number;
  /** Its permission bits, in octal (`0755`). */
  mode: string;
  /** Owner. */
  uid: number;
  /** Group. */
  gid: number;
  /** Last modification, ISO-8601. */
  mtime: string;
  /** A symlink's target. */
  target?: string;
}

/**
 * `GET /images/:ref/ls/*`.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { DirectoryJsonSchema } from "./_responses.ts";
 *
 * v.parse(DirectoryJsonSchema, { image: "0b8e5f8e-2b7c-4f55-9d57-8d0c2a3a8b51", path: "/", entries: [] });
 * ```
 */
export const DirectoryJsonSchema: v.GenericSchema<
  { image: string; path: string; entries: EntryJson[] }
> = v.object({
  image: Uuid,
  path: v.string(),
  entries: v.array(v.object({
    name: v.string(),
    type: v.picklist(["file", "directory", "symlink", "socket", "fifo", "other"]),
    size: Count,
    mode: v.pipe(v.string(), v.regex(/^[0-7]{4}$/), v.description("Permission bits, octal.")),
    uid: Count,
    gid: Count,
    mtime: Time,
    target: v.optional(v.pipe(v.string(), v.description("A symlink's target."))),
  })),
});

/**
 * The outcome of a run (`POST /images/:ref/run`, and the `result` event of its event stream).
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { RunResultJsonSchema } from "./_responses.ts";
 *
 * const ok = v.is(RunResultJsonSchema, {}); // false
 * ```
 */
export const RunResultJsonSchema: v.GenericSchema<RunResultJson> = v.object({
  operation: Uuid,
  exitCode: v.pipe(
    v.nullable(v.pipe(v.number(), v.integer())),
    v.description("null when the run timed out."),
  ),
  signal: v.nullable(v.pipe(v.number(), v.integer())),
  timedOut: v.pipe(v.boolean(), v.description("The run's `timeout` cut it short.")),
  elapsedMs: v.nullable(v.number()),
  stdout: v.optional(v.pipe(
    v.string(),
    v.description("UTF-8, invalid bytes replaced; absent from the event stream's `result`."),
  )),
  stderr: v.optional(v.string()),
  truncated: v.pipe(
    v.object({ stdout: v.boolean(), stderr: v.boolean() }),
    v.description("Streams cut at the server's output cap."),
  ),
  image: v.pipe(
    v.nullable(v.object({ uuid: Uuid, tag: v.nullable(v.string()) })),
    v.description("The result image; null for disposable (the default) or timed-out runs."),
  ),
});

/**
 * Every error (`application/problem+json`, RFC 9457).
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { ProblemJsonSchema } from "./_responses.ts";
 *
 * v.parse(ProblemJsonSchema, { type: "about:blank", title: "Not Found", status: 404, detail: "no such image" });
 * ```
 */
export const ProblemJsonSchema: v.GenericSchema<ProblemBody> = v.object({
  type: v.string(),
  title: v.string(),
  status: v.pipe(v.number(), v.integer(), v.minValue(400), v.maxValue(599)),
  detail: v.string(),
  field: v.optional(v.pipe(v.string(), v.description("The first invalid field."))),
  issues: v.optional(v.array(v.object({ field: v.string(), message: v.string() }))),
  requestId: v.optional(v.string()),
});
