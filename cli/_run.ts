// `contree run`: spawn a command in the session's image (or --use IMAGE), stream its output
// live, forward piped stdin, and exit with the command's exit code.
import { readFile } from "node:fs/promises";
import process from "node:process";
import {
  type ClosableStreamRepr,
  type Contree,
  decodeStream,
  encodeStream,
  type InstanceSpawnRequest,
} from "../mod.ts";
import type { Context } from "./_context.ts";
import { expandMappings, type UploadedFile, uploadFiles } from "./_files.ts";
import { UsageError } from "./_session.ts";
import { writeErr, writeOut } from "./_term.ts";

/** Options of `run`. */
export interface RunCommandOptions {
  timeout?: number;
  cwd?: string;
  env: string[];
  hostname: string;
  disposable?: boolean;
  shell?: boolean;
  file: string[];
  fileExcludes: string[];
  truncate: number;
  detach?: boolean;
  preserveEnv?: boolean;
  use?: string;
  interpreter?: boolean;
}

/** The exit code after a broken pipe (128 + SIGPIPE), as the official CLI uses. */
export const BROKEN_PIPE = 141;

/**
 * A command's end as an exit status, as a shell reports it: its code, 128 + the signal that
 * killed it, or 124 when its time ran out (as `timeout` gives).
 */
export function exitStatus(exit: { code: number; signal: number; timed_out: boolean }): number {
  if (exit.timed_out) return 124;
  if (exit.signal > 0) return 128 + exit.signal;
  return exit.code >= 0 ? exit.code : 1;
}

/** The exit code after Ctrl-C (128 + SIGINT), as a shell gives it. */
export const INTERRUPTED = 130;

/** Ctrl-C stopped a command: its operation was cancelled. */
export class InterruptedError extends Error {
  override name = "InterruptedError";
}

/** How a followed operation ended: its main process's exit, when reported, and its completion. */
export interface OperationEnd {
  exit?: { code: number; signal: number; timed_out: boolean };
  completion?: { status: string; result_image_uuid?: string | null; error?: string | null };
}

/**
 * Follows operation `uuid` to its end, handing its main process's output to `output`.
 * Meanwhile Ctrl-C cancels the operation, as in the official CLI (the API signals spawned
 * subprocesses only, not the main command), and the follow then throws an InterruptedError
 * (its message led by `title`, when given).
 */
export async function followOperation(
  contree: Contree,
  uuid: string,
  output: (stream: "stdout" | "stderr", bytes: Uint8Array) => void | Promise<void>,
  title?: string,
): Promise<OperationEnd> {
  const end: OperationEnd = {};
  let interrupted = false;
  const cancel = () => {
    interrupted = true;
    contree.api.cancelOperation(uuid).catch(() => {});
  };
  process.on("SIGINT", cancel);
  try {
    for await (const event of contree.api.followOperationEvents(uuid)) {
      if (event.type === "stdout" || event.type === "stderr") {
        if ((event.spid ?? 1) === 1) await output(event.type, decodeStream(event.data));
      } else if (event.type === "exit" && (event.spid ?? 1) === 1) end.exit = event.data;
      else if (event.type === "completion") end.completion = event.data;
    }
  } finally {
    process.off("SIGINT", cancel);
  }
  if (interrupted) {
    throw new InterruptedError(
      `${title ? `${title} ` : ""}interrupted: operation ${uuid} cancelled`,
    );
  }
  return end;
}

/** Whether `error` is a write to a closed pipe. */
export function isBrokenPipe(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === "EPIPE" || code === "ERR_STREAM_DESTROYED" ||
    /broken pipe/i.test(String((error as Error)?.message));
}

/** Joins words for `sh -c`, quoting each unless it is plainly safe. */
export function shellJoin(words: string[]): string {
  return words.map((w) => /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'"'"'`)}'`)
    .join(" ");
}

/** Parses `KEY=VALUE` items. */
export function parseEnv(items: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of items) {
    const at = item.indexOf("=");
    if (at <= 0) throw new UsageError(`bad environment variable '${item}' (KEY=VALUE)`);
    env[item.slice(0, at)] = item.slice(at + 1);
  }
  return env;
}

/** Resolves a reference (UUID, `tag:NAME` or a bare tag) to an image UUID. */
export async function resolveImage(contree: Contree, ref: string): Promise<string> {
  return await contree.api.resolveImage(ref.trim());
}

/**
 * Reads piped stdin: what arrives within 50 ms goes with the spawn; more is forwarded to
 * the running process afterwards. Nothing for a terminal.
 */
class StdinPipe {
  readonly #chunks: Uint8Array[] = [];
  #ended = false;
  #waiters: (() => void)[] = [];

  static open(): StdinPipe | undefined {
    if (process.stdin.isTTY) return undefined;
    return new StdinPipe();
  }

  private constructor() {
    process.stdin.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#wake();
    });
    process.stdin.on("end", () => {
      this.#ended = true;
      this.#wake();
    });
    process.stdin.on("error", () => {
      this.#ended = true;
      this.#wake();
    });
  }

  #wake() {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  #wait(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      if (ms !== undefined) setTimeout(resolve, ms);
    });
  }

  /** What is there after a short wait, and whether stdin ended. */
  async first(): Promise<ClosableStreamRepr> {
    if (this.#chunks.length === 0 && !this.#ended) await this.#wait(50);
    // A quick producer (echo, a file) usually finishes at once: take what is there.
    const bytes = concat(this.#chunks.splice(0));
    return { ...encodeStream(bytes), close: this.#ended };
  }

  /** Sends the rest to the process until stdin ends. */
  async forward(send: (repr: ClosableStreamRepr) => Promise<void>): Promise<void> {
    for (;;) {
      if (this.#chunks.length === 0 && !this.#ended) await this.#wait();
      const bytes = concat(this.#chunks.splice(0));
      const close = this.#ended && this.#chunks.length === 0;
      if (bytes.length > 0 || close) await send({ ...encodeStream(bytes), close });
      if (close) return;
    }
  }

  close(): void {
    process.stdin.pause();
    process.stdin.destroy();
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((at, c) => (out.set(c, at), at + c.length), 0);
  return out;
}

/** Runs `words` per `options`; resolves to the exit code. */
export async function runCommand(
  ctx: Context,
  words: string[],
  options: RunCommandOptions,
): Promise<number> {
  if (words[0] === "--") words = words.slice(1);
  if (words.length === 0) throw new UsageError("no command given (contree run -- COMMAND ...)");
  const contree = await ctx.contree();
  const session = await ctx.session();
  let image: string;
  if (options.use) {
    image = await resolveImage(contree, options.use);
    session.record({ image, kind: "use", title: options.use });
    await session.save();
  } else {
    image = await ctx.sessionImage();
  }
  const mapped = await expandMappings(
    options.file,
    options.fileExcludes,
    options.cwd ?? session.state.cwd,
  );
  const files: Record<string, UploadedFile> = {};
  for (const [path, staged] of Object.entries(session.state.pending)) {
    files[path] = { uuid: staged.uuid, uid: staged.uid, gid: staged.gid, mode: staged.mode };
  }
  Object.assign(files, await uploadFiles(ctx, contree, mapped));
  const env = { ...session.state.env, ...parseEnv(options.env) };
  const body: InstanceSpawnRequest = options.shell
    ? { image, command: words.length === 1 ? words[0] : shellJoin(words), shell: true }
    : { image, command: words[0], args: words.slice(1), shell: false };
  Object.assign(body, {
    disposable: options.disposable ?? false,
    hostname: options.hostname,
    truncate_output_at: options.truncate,
  });
  if (options.timeout !== undefined) body.timeout = options.timeout;
  const cwd = options.cwd ?? session.state.cwd;
  if (cwd) body.cwd = cwd;
  if (Object.keys(env).length > 0) body.env = env;
  if (options.preserveEnv) body.preserve_env = true;
  if (Object.keys(files).length > 0) body.files = files;
  if (options.interpreter) {
    // `#!/usr/bin/env -S contree run -I`: the script's body (without the #! line) is the stdin
    // of `sh -s`, the script's arguments are its arguments.
    const script = (await readFile(words[0], "utf8")).replaceAll("\r\n", "\n");
    const bodyText = script.startsWith("#!") ? script.slice(script.indexOf("\n") + 1) : script;
    Object.assign(body, {
      command: "/bin/sh",
      args: words.length > 1 ? ["-s", "--", ...words.slice(1)] : ["-s"],
      shell: false,
      stdin: { ...encodeStream(bodyText), close: true },
    });
  }
  const stdin = options.interpreter ? undefined : StdinPipe.open();
  try {
    if (stdin) body.stdin = await stdin.first();
    const { uuid } = await contree.api.spawnInstance(body);
    ctx.debug(`spawned operation ${uuid}`);
    const forwarding = stdin && body.stdin && !body.stdin.close
      ? stdin.forward((repr) => contree.api.writeSubprocessStdin(uuid, 1, repr)).catch((error) =>
        ctx.debug(`stdin forwarding stopped: ${(error as Error).message}`)
      )
      : undefined;
    if (options.detach) {
      await forwarding;
      await ctx.printer.row({ uuid, status: "PENDING", image, command: words.join(" ") });
      await ctx.printer.flush();
      if (!ctx.structured) ctx.info(`detached: contree op wait ${uuid}`);
      return 0;
    }
    return await follow(ctx, contree, uuid, words, options, image);
  } finally {
    stdin?.close();
  }
}

async function follow(
  ctx: Context,
  contree: Contree,
  uuid: string,
  words: string[],
  options: RunCommandOptions,
  image: string,
): Promise<number> {
  const session = await ctx.session();
  const live = !ctx.structured;
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  let end: OperationEnd;
  try {
    end = await followOperation(contree, uuid, async (stream, bytes) => {
      if (stream === "stdout") live ? await writeOut(bytes) : out.push(bytes);
      else live ? writeErr(new TextDecoder().decode(bytes)) : err.push(bytes);
    });
  } catch (error) {
    if (!isBrokenPipe(error)) throw error;
    // Our stdout was closed (`contree run ... | head`): stop the command, exit as SIGPIPE would.
    await contree.api.cancelOperation(uuid).catch(() => {});
    return BROKEN_PIPE;
  }
  const { exit, completion } = end;
  const status = completion?.status ?? "UNKNOWN";
  const result = completion?.result_image_uuid ?? null;
  if (status === "SUCCESS" && result && !options.disposable) {
    session.record({ image: result, kind: "run", title: words.join(" "), operation: uuid });
    session.state.pending = {};
    await session.save();
  }
  if (exit?.timed_out) ctx.warn(`operation ${uuid} timed out after ${options.timeout ?? "?"}s`);
  else if (status !== "SUCCESS") {
    ctx.warn(
      `operation ${uuid} ended with status ${status}${
        completion?.error ? `: ${completion.error}` : ""
      }`,
    );
  }
  if (ctx.structured) {
    const text = (chunks: Uint8Array[]) => new TextDecoder().decode(concat(chunks));
    await ctx.printer.row({
      uuid,
      status,
      exit_code: exit?.code ?? null,
      timed_out: exit?.timed_out ?? false,
      image: result ?? "",
      source_image: image,
      stdout: text(out),
      stderr: text(err),
      error: completion?.error ?? "",
    });
    await ctx.printer.flush();
  }
  if (exit) return exitStatus(exit);
  return status === "SUCCESS" ? 0 : 1;
}
