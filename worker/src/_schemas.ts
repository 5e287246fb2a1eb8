/**
 * The valibot schemas of the gateway's params, queries and bodies.
 *
 * @module
 */
import * as v from "valibot";
import { type ImageRef, ImageRefSchema, TagSchema } from "./_paths.ts";

/** A query flag: present empty, `1` or `true` is on; `0` or `false` is off. */
const Flag = v.pipe(
  v.picklist(["", "0", "1", "true", "false"], "expected 1, 0, true or false"),
  v.transform((flag) => flag === "" || flag === "1" || flag === "true"),
);

/**
 * `:ref` in every image route.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { RefParams } from "./_schemas.ts";
 *
 * v.parse(RefParams, { ref: "busybox:latest" }); // { ref: { tag: "busybox:latest" } }
 * ```
 */
export const RefParams: v.GenericSchema<{ ref: string }, { ref: ImageRef }> = v.object({
  ref: ImageRefSchema,
});

/**
 * Opaque list cursors: base64url of `o<offset>`.
 *
 * @example
 * ```ts
 * import { encodeCursor } from "./_schemas.ts";
 *
 * encodeCursor(100); // "bzEwMA"
 * ```
 */
export function encodeCursor(offset: number): string {
  return btoa(`o${offset}`).replaceAll("=", "").replaceAll("+", "-").replaceAll("/", "_");
}

const Cursor = v.pipe(
  v.string(),
  v.maxLength(32, "not a cursor from this gateway"),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    try {
      const text = atob(dataset.value.replaceAll("-", "+").replaceAll("_", "/"));
      const match = /^o(\d{1,9})$/.exec(text);
      if (match) return Number(match[1]);
    } catch {
      // not base64: reported below
    }
    addIssue({ message: "not a cursor from this gateway" });
    return NEVER;
  }),
);

/**
 * The query of `GET /images`.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { ListQuery } from "./_schemas.ts";
 *
 * v.parse(ListQuery, { tagged: "1" }); // { tagged: true, limit: 100 }
 * ```
 */
export const ListQuery = v.object({
  tagged: v.optional(Flag, "0"),
  prefix: v.optional(v.pipe(
    v.string(),
    v.maxLength(256, "a prefix has at most 256 characters"),
    v.regex(/^[a-z0-9_:/.-]*$/, "a prefix uses a-z 0-9 _ - : / ."),
  )),
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,4}$/, "expected an integer from 1 to 1000"),
      v.transform(Number),
      v.minValue(1, "expected an integer from 1 to 1000"),
      v.maxValue(1000, "expected an integer from 1 to 1000"),
    ),
    "100",
  ),
  cursor: v.optional(Cursor),
});

/**
 * The query of file downloads.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { FileQuery } from "./_schemas.ts";
 *
 * v.parse(FileQuery, { download: "1" }); // { download: true }
 * ```
 */
export const FileQuery = v.object({ download: v.optional(Flag, "0") });

/**
 * The query of archives.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { ArchiveQuery } from "./_schemas.ts";
 *
 * v.parse(ArchiveQuery, {}); // { gzip: false }
 * ```
 */
export const ArchiveQuery = v.object({ gzip: v.optional(Flag, "0") });

/**
 * The body of `PUT /images/:ref/tag`.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { TagBody } from "./_schemas.ts";
 *
 * v.parse(TagBody, { tag: "my/app:v1" });
 * ```
 */
export const TagBody = v.strictObject({ tag: TagSchema });

const EnvName = v.pipe(
  v.string(),
  v.maxLength(256),
  v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name is [A-Za-z_][A-Za-z0-9_]*"),
);
const NoNul = (max: number) =>
  v.pipe(v.string(), v.maxLength(max, `at most ${max} characters`), v.excludes("\0", "no NUL"));

/**
 * The body of `POST /images/:ref/run`.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { RunBody } from "./_schemas.ts";
 *
 * v.parse(RunBody, { shell: "echo $GREETING", env: { GREETING: "hi" }, timeout: 30 });
 * ```
 */
export const RunBody = v.pipe(
  v.strictObject({
    command: v.optional(v.pipe(NoNul(4096), v.minLength(1, "the command is empty"))),
    args: v.optional(v.pipe(v.array(NoNul(65536)), v.maxLength(1024, "at most 1024 arguments"))),
    shell: v.optional(v.pipe(NoNul(65536), v.minLength(1, "the shell expression is empty"))),
    env: v.optional(v.pipe(
      v.record(EnvName, NoNul(65536)),
      v.check((env) => Object.keys(env).length <= 256, "at most 256 variables"),
    )),
    cwd: v.optional(v.pipe(
      NoNul(4096),
      v.regex(/^\//, "cwd must be absolute"),
      v.check((cwd) => !cwd.split("/").includes(".."), "cwd must not contain `..`"),
    )),
    stdin: v.optional(v.pipe(v.string(), v.maxLength(262144, "stdin has at most 256 KiB"))),
    timeout: v.optional(v.pipe(
      v.number(),
      v.integer("timeout is whole seconds"),
      v.minValue(1, "timeout is 1 to 3600 seconds"),
      v.maxValue(3600, "timeout is 1 to 3600 seconds"),
    )),
    disposable: v.optional(v.pipe(
      v.boolean(),
      v.description("Keep no result image (default true, as in the SDK); `false` keeps it."),
    )),
    tag: v.optional(v.pipe(
      TagSchema,
      v.description("Tag the result image (needs `disposable: false`; moves the tag)."),
    )),
    network: v.optional(v.pipe(
      v.boolean(),
      v.description("Let the instance reach the network (default false: its own loopback only)."),
    )),
  }),
  v.forward(
    v.partialCheck(
      [["command"], ["shell"]],
      (body) => (body.command === undefined) !== (body.shell === undefined),
      "give exactly one of command and shell",
    ),
    ["command"],
  ),
  v.forward(
    v.partialCheck(
      [["args"], ["command"]],
      (body) => body.args === undefined || body.command !== undefined,
      "args go with command, not with shell",
    ),
    ["args"],
  ),
  v.forward(
    v.partialCheck(
      [["disposable"], ["tag"]],
      (body) => body.tag === undefined || body.disposable === false,
      "a tag needs disposable: false (runs are disposable by default and leave no image)",
    ),
    ["tag"],
  ),
);

/**
 * A validated run request.
 *
 * @example
 * ```ts
 * import type { RunRequest } from "./_schemas.ts";
 *
 * const request: RunRequest = { command: "ls", args: ["-l", "/"] };
 * ```
 */
export type RunRequest = v.InferOutput<typeof RunBody>;
