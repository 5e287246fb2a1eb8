/** The spawn request (`InstanceSpawnRequest`): its schema, defaults and limits. */
import * as v from "valibot";

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

const uint = v.pipe(v.number(), v.integer(), v.minValue(0));
const absolutePath = v.pipe(
  v.string(),
  v.check((p) => p.startsWith("/"), "must be an absolute path"),
  v.check((p) => !p.includes("\0"), "must not contain NUL"),
);
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

const StdinSchema = v.object({
  value: v.string(),
  encoding: v.nullish(v.string(), "ascii"),
  close: v.nullish(v.boolean(), true),
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
  stdin: v.nullish(StdinSchema, null),
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

function issuePath(issue: v.BaseIssue<unknown>): string {
  let path = "";
  for (const item of issue.path ?? []) {
    const key = (item as { key: unknown }).key;
    if (typeof key === "number") path += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      path += path ? `.${key}` : key;
    } else path += `[${JSON.stringify(key)}]`;
  }
  return path || "body";
}

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
  if (!result.success) {
    const issue = result.issues[0];
    const message = issue.received === "undefined" ? "required" : issue.message;
    return { ok: false, error: `${issuePath(issue)}: ${message}` };
  }
  const request = result.output;
  request.timeout = Math.min(Math.ceil(request.timeout), limits.maxTimeout);
  request.truncate_output_at = Math.min(request.truncate_output_at, limits.maxOutput);
  for (const spec of Object.values(request.files)) {
    if (typeof spec.mode === "number") spec.mode = spec.mode.toString(8).padStart(4, "0");
    else spec.mode = spec.mode.padStart(4, "0");
  }
  return { ok: true, request };
}
