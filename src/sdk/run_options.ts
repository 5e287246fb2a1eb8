/**
 * The options of a run: what to execute, with what input, where the output
 * goes and what happens to the resulting image.
 *
 * @module
 */

import * as v from "valibot";
import { parseFileMode } from "../wire/file_mode.ts";
import type { Content } from "../wire/hash.ts";
import { RunOptionsError } from "./errors.ts";
import type { RunFiles } from "./files.ts";
import type { OutputTarget } from "./result.ts";

/**
 * Data for a command's stdin: text (sent as UTF-8), bytes, a `Blob` or a
 * stream. It is read completely and sent with the spawn request.
 *
 * @example
 * ```ts
 * import type { StdinSource } from "@contree/sdk";
 *
 * const input: StdinSource = "line 1\nline 2\n";
 * ```
 */
export type StdinSource = string | Content;

/**
 * Everything about a run except the command. Used by `run([...argv], options)`
 * and as the base of {@linkcode RunOptions}.
 *
 * @example
 * ```ts
 * import type { RunSettings } from "@contree/sdk";
 *
 * const settings: RunSettings = { env: { LANG: "C" }, cwd: "/tmp", timeout: 30, stdout: "bytes" };
 * ```
 */
export interface RunSettings {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory; default the image's. */
  cwd?: string;
  /** Hostname inside the instance; default the server's. */
  hostname?: string;
  /** User id to run as. */
  uid?: number;
  /** Group id to run as. */
  gid?: number;
  /** Data for stdin (read completely, sent with the request). */
  stdin?: StdinSource;
  /** Where stdout goes; default `"text"`. */
  stdout?: OutputTarget;
  /** Where stderr goes; default `"text"`. */
  stderr?: OutputTarget;
  /** Tag to give the result image (needs `disposable: false`). */
  tag?: string;
  /** Files to place in the instance before the command starts. */
  files?: RunFiles;
  /** Time limit in seconds (rounded up); default the client's `operationTimeout`. */
  timeout?: number;
  /**
   * Drop the filesystem changes and keep no result image. Default `true` for
   * images, `false` for runs in a session.
   */
  disposable?: boolean;
  /** Bytes of stdout and of stderr the server keeps; default the client's setting. */
  truncateOutputAt?: number;
  /** Save this run's `env` into the result image for later runs. */
  preserveEnv?: boolean;
  /**
   * Let the instance reach the network (`networking.enabled` on the wire); default
   * `false`: only its own loopback. The local backend then gives it the outside world and
   * nothing on its host.
   */
  network?: boolean;
  /** Aborting cancels the remote operation; the run rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * The options of `run()`: either `command` (an executable) with `args`, or
 * `shell` (a `/bin/sh -c` expression), plus the {@linkcode RunSettings}.
 *
 * @example
 * ```ts
 * import type { RunOptions } from "@contree/sdk";
 *
 * const viaShell: RunOptions = { shell: "echo $GREETING", env: { GREETING: "hi" } };
 * const direct: RunOptions = { command: "ls", args: ["-la", "/"] };
 * ```
 */
export interface RunOptions extends RunSettings {
  /** The executable to run (with `args`). */
  command?: string;
  /** Arguments of `command`. */
  args?: string[];
  /** A shell expression, run with `/bin/sh -c` (instead of `command`). */
  shell?: string;
}

const Id = v.pipe(v.number(), v.integer(), v.minValue(0));
const Bytes = [v.instance(Uint8Array), v.instance(Blob), v.instance(ReadableStream)] as const;
const Absolute = v.pipe(v.string(), v.startsWith("/", "must be an absolute path"));
const Uploaded = v.looseObject({ uuid: v.string(), sha256: v.string() });
const FileContentSchema = v.union(
  [...Bytes, Uploaded],
  "must be a Uint8Array, a Blob, a ReadableStream or an uploaded file",
);
const FileEntrySchema = v.object({
  content: FileContentSchema,
  mode: v.optional(
    v.pipe(
      v.union([v.number(), v.string()], "must be a number or an octal string"),
      v.check((mode) => {
        try {
          parseFileMode(mode);
          return true;
        } catch {
          return false;
        }
      }, 'must be a permission mode such as 0o644 or "0755"'),
    ),
  ),
  uid: v.optional(Id),
  gid: v.optional(Id),
});
const Target = v.union(
  [v.picklist(["text", "bytes", "discard"]), v.instance(WritableStream)],
  'must be "text", "bytes", "discard" or a WritableStream',
);

/** The shape of {@linkcode RunOptions}, field by field (the combinations are checked after). */
const RunOptionsSchema = v.object({
  command: v.optional(v.pipe(v.string(), v.nonEmpty("must not be empty"))),
  args: v.optional(v.array(v.string())),
  shell: v.optional(v.pipe(v.string(), v.nonEmpty("must not be empty"))),
  env: v.optional(
    v.record(
      v.pipe(v.string(), v.nonEmpty("must not be empty"), v.excludes("=", "must not contain =")),
      v.string(),
    ),
  ),
  cwd: v.optional(
    v.pipe(
      v.string(),
      v.check(
        (cwd) => cwd === "" || cwd.startsWith("/"),
        "must be an absolute path (or empty for the image's working directory)",
      ),
    ),
  ),
  hostname: v.optional(v.string()),
  uid: v.optional(Id),
  gid: v.optional(Id),
  stdin: v.optional(
    v.union([v.string(), ...Bytes], "must be a string, a Uint8Array, a Blob or a ReadableStream"),
  ),
  stdout: v.optional(Target),
  stderr: v.optional(Target),
  tag: v.optional(v.pipe(v.string(), v.nonEmpty("must not be empty"))),
  files: v.optional(v.record(Absolute, v.union([FileContentSchema, FileEntrySchema]))),
  timeout: v.optional(
    v.pipe(v.number(), v.finite(), v.gtValue(0, "must be a positive number of seconds")),
  ),
  disposable: v.optional(v.boolean()),
  truncateOutputAt: v.optional(Id),
  preserveEnv: v.optional(v.boolean()),
  network: v.optional(v.boolean()),
  signal: v.optional(v.instance(AbortSignal)),
});

/** An issue's path as a field name: `cwd`, `env.A`, `files["/etc/x"]`, `args[0]`. */
function fieldOf(issue: v.BaseIssue<unknown>): string {
  let field = "";
  for (const item of issue.path ?? []) {
    const key = item.key;
    if (typeof key === "number") field += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_$][\w$]*$/.test(key)) {
      field += field ? `.${key}` : key;
    } else field += `[${JSON.stringify(key)}]`;
  }
  return field;
}

/** The issue to report: the deepest one of a union, whose message is the most precise. */
function innermost(issue: v.BaseIssue<unknown>): v.BaseIssue<unknown> {
  const nested = issue.issues?.filter((inner) => (inner.path?.length ?? 0) > 0);
  return nested?.length ? innermost(nested[0]) : issue;
}

/**
 * Checks run options before anything is sent: the types of every field, and
 * that exactly one of `command` and `shell` is given (`args` only with
 * `command`), that `tag` keeps an image. Throws {@linkcode RunOptionsError}.
 * `disposable` is the default when the options leave it unset.
 */
export function validateRunOptions(options: unknown, disposable: boolean): RunOptions {
  if (typeof options !== "object" || options === null) {
    throw new RunOptionsError("", "run options must be an object");
  }
  const parsed = v.safeParse(RunOptionsSchema, options);
  if (!parsed.success) {
    const issue = innermost(parsed.issues[0]);
    throw new RunOptionsError(fieldOf(issue), issue.message);
  }
  const run = options as RunOptions;
  if (run.shell !== undefined && run.command !== undefined) {
    throw new RunOptionsError("shell", "give either shell or command, not both");
  }
  if (run.shell === undefined && run.command === undefined) {
    throw new RunOptionsError("command", "either command or shell must be given");
  }
  if (run.shell !== undefined && run.args?.length) {
    throw new RunOptionsError("args", "args go with command, not with shell");
  }
  if (run.tag !== undefined && (run.disposable ?? disposable)) {
    throw new RunOptionsError(
      "tag",
      "a tag needs disposable: false (a disposable run keeps no image)",
    );
  }
  return run;
}

/** The command part of a spawn request, from validated options. */
export function commandOf(
  options: RunOptions,
): { command: string; args?: string[]; shell: boolean } {
  if (options.shell !== undefined) return { command: options.shell, shell: true };
  return { command: options.command!, args: options.args ?? [], shell: false };
}

/** Run options from the two forms of `run()`: options, or an argv array and settings. */
export function runOptions(
  first: RunOptions | readonly string[],
  settings: RunSettings | undefined,
): RunOptions {
  if (!Array.isArray(first)) return first as RunOptions;
  const argv = first as readonly string[];
  if (argv.length === 0) throw new RunOptionsError("command", "argv must not be empty");
  return { ...settings, command: argv[0], args: argv.slice(1) };
}
