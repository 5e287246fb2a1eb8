/**
 * The options of a run: what to execute, with what input, where the output
 * goes and what happens to the resulting image.
 *
 * @module
 */

import type { Content } from "../wire/hash.ts";
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
  /** A shell expression, run with `/bin/sh -c`; wins over `command`. */
  shell?: string;
}

/** The command part of a spawn request. */
export function commandOf(
  options: RunOptions,
): { command: string; args?: string[]; shell: boolean } {
  if (options.shell !== undefined) {
    if (options.args?.length) throw new TypeError("args cannot be combined with shell");
    return { command: options.shell, shell: true };
  }
  if (options.command === undefined || options.command === "") {
    throw new TypeError("either command or shell must be given");
  }
  return { command: options.command, args: options.args ?? [], shell: false };
}
