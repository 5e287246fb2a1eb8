/** The spawn request (`InstanceSpawnRequest`): its schema, defaults and limits. */
import * as v from "valibot";
import { absolutePath, closableStream, issueMessage, uint } from "./_schemas.ts";

/** Defaults and caps the server applies to spawn requests. */
export interface SpawnLimits {
  /** Longest run in seconds (`whoami.limits.instance_max_timeout`); longer requests are capped. */
  maxTimeout: number;
  /** Largest `truncate_output_at` in bytes; larger requests are capped. */
  maxOutput: number;
}

/** `timeout` when the request has none, in seconds. */
export const DEFAULT_TIMEOUT = 60;
/** `truncate_output_at` when the request has none (the spec's default). */
export const DEFAULT_TRUNCATE_OUTPUT_AT = 1048576;
/** `hostname` when the request has none (what every client sends). */
export const DEFAULT_HOSTNAME = "linuxkit";

const mode = v.union([
  v.pipe(v.string(), v.regex(/^0?[0-7]{1,4}$/, 'must be an octal mode such as "0644"')),
  v.pipe(uint, v.maxValue(0o7777)),
], 'must be an octal string such as "0644" or an integer up to 4095');

const FileSpecSchema = v.object({
  uuid: v.string(),
  uid: v.nullish(uint, 0),
  gid: v.nullish(uint, 0),
  mode: v.nullish(mode, "0644"),
});

const HOSTNAME_RE =
  /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

const SpawnRequestSchema = v.object({
  command: v.pipe(v.string(), v.minLength(1, "must not be empty")),
  image: v.pipe(v.string(), v.minLength(1, "must not be empty")),
  args: v.nullish(v.array(v.string()), () => []),
  shell: v.nullish(v.boolean(), false),
  env: v.nullish(v.record(v.string(), v.string()), () => ({})),
  preserve_env: v.nullish(v.boolean(), false),
  cwd: v.nullish(
    v.union([v.literal(""), absolutePath], "must be an absolute path or empty"),
    "",
  ),
  uid: v.nullish(uint, 0),
  gid: v.nullish(uint, 0),
  hostname: v.nullish(
    v.pipe(v.string(), v.maxLength(253), v.regex(HOSTNAME_RE, "must be a valid host name")),
    DEFAULT_HOSTNAME,
  ),
  disposable: v.nullish(v.boolean(), false),
  stdin: v.nullish(closableStream(true), null),
  timeout: v.nullish(
    v.pipe(v.number(), v.minValue(1, "must be at least 1 second")),
    DEFAULT_TIMEOUT,
  ),
  truncate_output_at: v.nullish(uint, DEFAULT_TRUNCATE_OUTPUT_AT),
  resources_limits: v.nullish(
    v.object({ max_layer_bytes: v.nullish(uint) }),
    () => ({}),
  ),
  networking: v.nullish(
    v.object({ enabled: v.nullish(v.boolean(), false) }),
    () => ({ enabled: false }),
  ),
  files: v.nullish(
    v.record(
      v.pipe(
        absolutePath,
        v.check((p) => !p.split("/").includes(".."), "must not contain '..'"),
        v.check((p) => p.replace(/\/+$/, "") !== "", "must name a file"),
      ),
      FileSpecSchema,
    ),
    () => ({}),
  ),
});

/** A spawn request with every default applied (also the operation's `metadata`). */
export type SpawnRequest = v.InferOutput<typeof SpawnRequestSchema>;

/** The outcome of {@linkcode parseSpawnRequest}. */
export type SpawnParse = { ok: true; request: SpawnRequest } | { ok: false; error: string };

/**
 * Validates a decoded JSON body as a spawn request: unknown fields are ignored, absent and
 * `null` fields take their defaults, explicit falsy values are kept; `timeout` is rounded up
 * to whole seconds and capped like `truncate_output_at`. Errors name the field.
 *
 * @example
 * ```ts
 * const parsed = parseSpawnRequest({ command: "true", image: "tag:busybox:latest" }, limits);
 * if (!parsed.ok) console.log(parsed.error); // e.g. "uid: Invalid type: ..."
 * ```
 */
export function parseSpawnRequest(body: unknown, limits: SpawnLimits): SpawnParse {
  const result = v.safeParse(SpawnRequestSchema, body);
  if (!result.success) return { ok: false, error: issueMessage(result.issues) };
  const request = result.output;
  request.timeout = Math.min(Math.ceil(request.timeout), limits.maxTimeout);
  request.truncate_output_at = Math.min(request.truncate_output_at, limits.maxOutput);
  for (const spec of Object.values(request.files)) {
    if (typeof spec.mode === "number") spec.mode = spec.mode.toString(8).padStart(4, "0");
    else spec.mode = spec.mode.padStart(4, "0");
  }
  return { ok: true, request };
}
