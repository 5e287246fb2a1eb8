/**
 * {@linkcode ContreeProcess}: a `subprocess.Popen`-like handle on a command
 * running in a sandbox.
 *
 * @module
 */

import { NotFoundError } from "../wire/errors.ts";
import { readContent } from "../wire/hash.ts";
import { encodeStream } from "../wire/stream_repr.ts";
import type { ClientContext } from "./_context.ts";
import { ContreeProcessError, OperationTimedOutError } from "./errors.ts";
import { Execution, type Outcome } from "./_execution.ts";
import type { RunFiles } from "./files.ts";
import { concatBytes } from "./_output.ts";
import { type RunOptions, type StdinSource, validateRunOptions } from "./run_options.ts";

/**
 * Options of `image.popen()`.
 *
 * @example
 * ```ts
 * import type { PopenOptions } from "@contree/sdk";
 *
 * const options: PopenOptions = { stdin: "pipe", cwd: "/tmp", timeout: 60, check: true };
 * ```
 */
export interface PopenOptions {
  /**
   * Run through `/bin/sh -c`. Default: `true` for a string command, `false`
   * for an argv array (which is then quoted for the shell when `true`).
   */
  shell?: boolean;
  /**
   * The process's stdin: data sent with the spawn, or `"pipe"` for a writable
   * `proc.stdin`. With `"pipe"`, a server that supports writing to a running
   * process gets each write live; on one that does not (it answers 501), the
   * writes are collected and the process starts once `proc.stdin` is closed
   * (or `communicate()` is called), with them as one-shot stdin.
   */
  stdin?: StdinSource | "pipe";
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
  /** User id to run as. */
  uid?: number;
  /** Group id to run as. */
  gid?: number;
  /** Files to place in the instance before it starts. */
  files?: RunFiles;
  /** Time limit in seconds; `wait()` then rejects with `OperationTimedOutError`. */
  timeout?: number;
  /** Let the process reach the network; default `false` (see `RunSettings.network`). */
  network?: boolean;
  /** Make `wait()` and `communicate()` throw {@linkcode ContreeProcessError} on a non-zero exit. */
  check?: boolean;
  /** Aborting cancels the remote operation; `wait()` rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Whether a server takes live stdin, per client: probed once. */
const liveStdin = new WeakMap<ClientContext, Promise<boolean>>();
const NO_OPERATION = "00000000-0000-0000-0000-000000000000";

/**
 * Asks the server whether it can write to a running process: writing to an
 * unknown operation is a 404 where the subprocess API exists, a 501 (or 405)
 * where it does not.
 */
function supportsLiveStdin(contree: ClientContext): Promise<boolean> {
  let known = liveStdin.get(contree);
  if (!known) {
    known = contree.api.writeSubprocessStdin(
      NO_OPERATION,
      1,
      { value: "", close: false },
      contree.requestOptions(),
    ).then(
      () => true,
      (error) => {
        if (error instanceof NotFoundError) return true;
        if (error?.status === 501 || error?.status === 405) return false;
        liveStdin.delete(contree);
        throw error;
      },
    );
    liveStdin.set(contree, known);
  }
  return known;
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A live output stream that also keeps what went through it (for errors). */
class Pipe {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly #seen: Uint8Array[] = [];

  constructor() {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let open = true;
    const end = () => {
      if (open) controller.close();
      open = false;
    };
    this.readable = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      cancel: () => {
        open = false;
      },
    });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => {
        this.#seen.push(chunk);
        if (open) controller.enqueue(chunk);
      },
      close: end,
      abort: end,
    });
  }

  /** Everything written so far. */
  bytes(): Uint8Array {
    return concatBytes(this.#seen);
  }

  /** Everything written so far, as text. */
  text(): string {
    return new TextDecoder().decode(this.bytes());
  }
}

/**
 * A command running in a sandbox, in the manner of `subprocess.Popen`: it
 * starts when `popen()` returns (unless its stdin is a pipe on a server
 * without live stdin, see {@linkcode PopenOptions.stdin}); `stdout` and
 * `stderr` are live streams (buffered without limit while unread, so not
 * reading them never blocks the process); `wait()` gives the exit code.
 * The instance is disposable.
 *
 * @example Pipe stdin and read the streams
 * ```ts
 * import type { ContreeImage } from "@contree/sdk";
 *
 * async function upper(image: ContreeImage) {
 *   const proc = image.popen(["tr", "a-z", "A-Z"], { stdin: "pipe" });
 *   const { stdout } = await proc.communicate("hello\n");
 *   console.log(stdout, proc.exitCode); // "HELLO\n" 0
 * }
 * ```
 */
export class ContreeProcess {
  /** The command line as given. */
  readonly args: string[];
  /** The process's stdout, live. */
  readonly stdout: ReadableStream<Uint8Array>;
  /** The process's stderr, live. */
  readonly stderr: ReadableStream<Uint8Array>;
  /** The process's stdin, with `stdin: "pipe"`. */
  readonly stdin: WritableStream<Uint8Array> | undefined;
  readonly #check: boolean;
  readonly #out = new Pipe();
  readonly #err = new Pipe();
  readonly #execution: Promise<Execution | undefined>;
  #exitCode: number | undefined;
  #killed = false;
  /** Settles `#execution` of a piped process that has not started yet. */
  #opened: ((execution: Execution | undefined) => void) | undefined;

  /** Used by `image.popen()`, with the image's client. */
  constructor(
    contree: ClientContext,
    image: string,
    command: string | readonly string[],
    options: PopenOptions,
  ) {
    this.args = typeof command === "string" ? [command] : [...command];
    if (this.args.length === 0) throw new TypeError("the command must not be empty");
    this.#check = options.check ?? false;
    this.stdout = this.#out.readable;
    this.stderr = this.#err.readable;
    const shell = options.shell ?? typeof command === "string";
    const run: RunOptions = {
      ...(shell
        ? { shell: typeof command === "string" ? command : this.args.map(shellQuote).join(" ") }
        : { command: this.args[0], args: this.args.slice(1) }),
      env: options.env,
      cwd: options.cwd,
      uid: options.uid,
      gid: options.gid,
      files: options.files,
      timeout: options.timeout,
      network: options.network,
      signal: options.signal,
      stdout: this.#out.writable,
      stderr: this.#err.writable,
      disposable: true,
    };
    validateRunOptions(
      { ...run, stdin: options.stdin === "pipe" ? undefined : options.stdin },
      true,
    );
    const start = (stdin: StdinSource | undefined, openStdin = false) =>
      new Execution({
        contree,
        options: { ...run, stdin },
        image: () => Promise.resolve(image),
        disposable: true,
        openStdin,
      });
    if (options.stdin !== "pipe") {
      this.stdin = undefined;
      this.#execution = Promise.resolve(start(options.stdin));
      return;
    }
    // A pipe: live when the server takes stdin writes, else collected and sent at close.
    let failed!: (error: unknown) => void;
    this.#execution = new Promise((resolve, reject) => {
      this.#opened = resolve;
      failed = reject;
    });
    this.#execution.catch(() => {});
    const live = supportsLiveStdin(contree).then((yes) =>
      yes && !this.#killed ? start(undefined, true) : undefined
    );
    live.then((execution) => execution && this.#opened!(execution), failed);
    const chunks: Uint8Array[] = [];
    const write = async (chunk: Uint8Array | undefined, close: boolean) => {
      const execution = await live;
      if (!execution) {
        if (chunk) chunks.push(chunk);
        return;
      }
      await contree.api.writeSubprocessStdin(
        await execution.spawned,
        1,
        { ...(chunk ? encodeStream(chunk) : { value: "" }), close },
        contree.requestOptions(),
      );
    };
    this.stdin = new WritableStream<Uint8Array>({
      write: (chunk) => write(chunk, false),
      close: async () => {
        await write(undefined, true);
        if (!(await live) && !this.#killed) this.#opened!(start(concatBytes(chunks)));
      },
    });
  }

  /** The exit code, once `wait()` has returned (`-9` after `kill()`). */
  get exitCode(): number | undefined {
    return this.#exitCode;
  }

  /**
   * Waits for the process and returns its exit code (`-9` when killed). With
   * `check: true`, a non-zero exit throws {@linkcode ContreeProcessError}.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function status(image: ContreeImage) {
   *   return await image.popen("exit 3").wait(); // 3
   * }
   * ```
   */
  async wait(): Promise<number> {
    const execution = await this.#execution;
    let outcome: Outcome | undefined;
    try {
      outcome = await execution?.done;
    } catch (error) {
      if (error instanceof OperationTimedOutError) {
        // The output went to the pipes, not to the run's buffers: attach it here.
        const { operationUuid, timeout } = error;
        throw new OperationTimedOutError(
          operationUuid,
          timeout,
          this.#out.bytes(),
          this.#err.bytes(),
        );
      }
      if (!this.#killed) throw error;
    }
    if (!outcome) {
      this.#exitCode = -9;
      await this.#out.writable.close().catch(() => {});
      await this.#err.writable.close().catch(() => {});
      return -9;
    }
    const code = outcome.result.exitCode;
    this.#exitCode = code;
    if (this.#check && code !== 0) {
      throw new ContreeProcessError(this.args, code, this.#out.text(), this.#err.text());
    }
    return code;
  }

  /**
   * Sends `input` (with `stdin: "pipe"`), closes stdin, reads stdout and stderr
   * to the end as text, and waits. `check` applies.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function count(image: ContreeImage) {
   *   const { stdout } = await image.popen(["wc", "-l"], { stdin: "pipe" }).communicate("a\nb\n");
   *   return Number(stdout.trim()); // 2
   * }
   * ```
   */
  async communicate(input?: StdinSource): Promise<{ stdout: string; stderr: string }> {
    if (input !== undefined && !this.stdin) {
      throw new TypeError('communicate(input) needs popen(..., { stdin: "pipe" })');
    }
    if (this.stdin) {
      const writer = this.stdin.getWriter();
      if (input !== undefined) await writer.write(await readContent(input));
      await writer.close();
    }
    const [stdout, stderr] = await Promise.all([
      new Response(this.stdout).text(),
      new Response(this.stderr).text(),
      this.wait().catch(() => {}),
    ]);
    await this.wait();
    return { stdout, stderr };
  }

  /**
   * Kills the process: the remote operation is cancelled; `wait()` then
   * returns `-9`.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function stop(image: ContreeImage) {
   *   const proc = image.popen("sleep 600");
   *   await proc.kill();
   *   console.log(await proc.wait()); // -9
   * }
   * ```
   */
  async kill(): Promise<void> {
    if (this.#exitCode !== undefined) return;
    this.#killed = true;
    this.#opened?.(undefined);
    const execution = await this.#execution;
    execution?.abort(new DOMException("the process was killed", "AbortError"));
    await execution?.done.catch(() => {});
  }

  /**
   * Resolves with the operation's UUID once the process was spawned
   * (`undefined` if it was killed before it started).
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function operationOf(image: ContreeImage) {
   *   return await image.popen("sleep 5").whenSpawned();
   * }
   * ```
   */
  async whenSpawned(): Promise<string | undefined> {
    return await (await this.#execution)?.spawned;
  }
}
