/**
 * The processes of one instance operation beyond what the spawn describes: the main
 * command's stdin when the spawn kept it open, and the subprocesses started in its sandbox.
 */
import {
  type RunningSandbox,
  SandboxError,
  SandboxNotRunningError,
  type SandboxProcess,
} from "../sandbox/mod.ts";
import type { EventHub } from "./event_hub.ts";
import type { ExecRequest, StdinInput } from "./exec_request.ts";
import { OutputCapture } from "./output_capture.ts";
import type { SpawnRequest } from "./spawn_request.ts";
import { processEnv, redactEnv } from "./_env.ts";
import { StdinChannel } from "./_stdin_channel.ts";
import { decodeStream, encodeStream } from "../../src/wire/mod.ts";

/** Why a subprocess request is refused. */
export type ProcessRefusal = "invalid" | "not_found" | "not_running";

/**
 * A subprocess request that cannot be served: `invalid` (e.g. signalling the main command),
 * `not_found` (no such operation or subprocess) or `not_running` (the instance or process
 * has ended, or cannot take it). The API answers it with a status from its error table.
 *
 * @example
 * ```ts
 * try {
 *   await engine.exec(uuid, request);
 * } catch (error) {
 *   if (error instanceof ProcessError && error.reason === "not_running") console.log("ended");
 * }
 * ```
 */
export class ProcessError extends Error {
  /** Why the request is refused. */
  readonly reason: ProcessRefusal;

  /** Builds the error. */
  constructor(reason: ProcessRefusal, message: string) {
    super(message);
    this.name = "ProcessError";
    this.reason = reason;
  }
}

/** What subprocesses take from the instance's main command unless their request says. */
export interface InstanceDefaults {
  /** The image's env with the spawn's on top (`PATH` and `HOME` defaults come per uid). */
  env: Record<string, string>;
  /** Working directory. */
  cwd: string;
  /** User id. */
  uid: number;
  /** Group id. */
  gid: number;
  /** `truncate_output_at`. */
  truncateOutputAt: number;
  /** The instance's time limit in seconds: a subprocess ends with the instance at the latest. */
  timeout: number;
}

/** The message of a `not_running` refusal when the instance cannot take processes. */
export const NOT_RUNNING = "operation is not running";

const MAIN = 1;

interface Subprocess {
  process: SandboxProcess;
  stdin: StdinChannel | undefined;
  exited: boolean;
}

/**
 * Starts, signals and feeds the processes of one operation, recording their `spawn`,
 * `stdout`/`stderr`, `truncated` and `exit` events under their spid (2, 3, ... in start
 * order). Subprocesses can start once the sandbox is attached (`attach`) and until the
 * table is closed (`close`), which waits for every started process's `exit` event.
 *
 * @example
 * ```ts
 * const table = new ProcessTable(uuid, hub, request.stdin);
 * // once the sandbox runs:
 * table.attach(sandbox, defaults);
 * const spid = await table.exec(execRequest);
 * await table.write(spid, { value: "hello\n", encoding: "ascii", close: true });
 * ```
 */
export class ProcessTable {
  readonly #uuid: string;
  readonly #hub: EventHub;
  readonly #mainStdin: StdinChannel | undefined;
  readonly #subprocesses = new Map<number, Subprocess>();
  readonly #sandbox = Promise.withResolvers<
    { sandbox: RunningSandbox; defaults: InstanceDefaults } | null
  >();
  readonly #lifecycles = new Set<Promise<void>>();
  #nextSpid = 2;
  #closed: Promise<void> | undefined;

  /**
   * A table for operation `uuid`; a spawn `stdin` with `close: false` makes the main
   * command's stdin live (see {@linkcode mainStdin}).
   */
  constructor(uuid: string, hub: EventHub, stdin: SpawnRequest["stdin"]) {
    this.#uuid = uuid;
    this.#hub = hub;
    if (stdin && !stdin.close) this.#mainStdin = new StdinChannel(decodeStream(stdin), false);
  }

  /** The main command's live stdin (its initial bytes, then what {@linkcode write} adds). */
  get mainStdin(): ReadableStream<Uint8Array> | undefined {
    return this.#mainStdin?.readable;
  }

  /** The sandbox runs: subprocesses may start, with these defaults. */
  attach(sandbox: RunningSandbox, defaults: InstanceDefaults): void {
    this.#sandbox.resolve({ sandbox, defaults });
  }

  /**
   * Starts a subprocess (waiting for the sandbox when it is not attached yet) and resolves
   * with its spid once it runs. Throws {@linkcode ProcessError} `not_running` when the instance ended
   * or ends first, or cannot start it (the message says why).
   */
  async exec(request: ExecRequest): Promise<number> {
    if (this.#closed) throw new ProcessError("not_running", NOT_RUNNING);
    const recorded = Promise.withResolvers<void>();
    this.#lifecycles.add(recorded.promise);
    try {
      return await this.#start(request, recorded.resolve);
    } catch (error) {
      recorded.resolve();
      throw error;
    }
  }

  async #start(request: ExecRequest, recorded: () => void): Promise<number> {
    const attached = await this.#sandbox.promise;
    if (!attached) throw new ProcessError("not_running", NOT_RUNNING);
    const { sandbox, defaults } = attached;
    const uid = request.uid ?? defaults.uid;
    const gid = request.gid ?? defaults.gid;
    const [command, args] = request.shell
      ? ["/bin/sh", ["-c", request.command, ...request.args]]
      : [request.command, request.args];
    const env = processEnv(uid, defaults.env, request.env);
    const cwd = request.cwd || defaults.cwd;
    const truncateAt = request.truncate_output_at ?? defaults.truncateOutputAt;
    const captures = {
      stdout: new OutputCapture(truncateAt),
      stderr: new OutputCapture(truncateAt),
    };
    const stdin = request.stdin
      ? new StdinChannel(decodeStream(request.stdin), request.stdin.close)
      : undefined;
    let spid = 0;
    let process: SandboxProcess;
    try {
      process = await sandbox.exec({
        command,
        args,
        env,
        cwd,
        uid,
        gid,
        stdin: stdin?.readable,
        onSpawn: ({ pid }) => {
          spid = this.#nextSpid++;
          this.#hub.append(this.#uuid, "spawn", spid, {
            pid,
            command,
            args,
            shell: request.shell,
            cwd,
            uid,
            gid,
            timeout: defaults.timeout,
            truncate_at: truncateAt,
            env: redactEnv(env),
          });
        },
        onOutput: (stream, chunk) => {
          const kept = captures[stream].push(chunk);
          if (kept) this.#hub.append(this.#uuid, stream, spid, encodeStream(kept));
        },
      });
    } catch (error) {
      stdin?.end();
      if (error instanceof SandboxNotRunningError) {
        throw new ProcessError("not_running", NOT_RUNNING);
      }
      // The instance cannot take it, e.g. at its pids limit.
      if (error instanceof SandboxError) throw new ProcessError("not_running", error.message);
      throw error;
    }
    const entry: Subprocess = { process, stdin, exited: false };
    this.#subprocesses.set(spid, entry);
    process.exited.then((exit) => {
      entry.exited = true;
      stdin?.end();
      for (const [name, capture] of Object.entries(captures)) {
        if (!capture.truncated) continue;
        this.#hub.append(this.#uuid, "truncated", spid, {
          stream: name,
          bytes_emitted: capture.emitted,
          bytes_dropped: capture.dropped,
        });
      }
      this.#hub.append(this.#uuid, "exit", spid, {
        pid: exit.pid,
        code: exit.exitCode,
        signal: exit.signal,
        core_dump: exit.coreDump,
        timed_out: false,
        duration_ms: Math.round(exit.durationMs),
        resources: exit.resources,
      });
      recorded();
    });
    return spid;
  }

  /**
   * Sends signal `signo` to subprocess `spid` (and its process group). Throws
   * {@linkcode ProcessError}: `invalid` for the main command (cancel the operation instead),
   * `not_found` for an unknown spid, `not_running` when it has exited.
   */
  signal(spid: number, signo: number): void {
    if (spid === MAIN) {
      throw new ProcessError(
        "invalid",
        "spid 1 is the main command: cancel the operation to stop it",
      );
    }
    const entry = this.#subprocesses.get(spid);
    if (!entry) throw new ProcessError("not_found", `no subprocess ${spid}`);
    if (entry.exited || !entry.process.kill(signo)) {
      throw new ProcessError("not_running", `subprocess ${spid} has already exited`);
    }
  }

  /**
   * Writes to the stdin of process `spid` (1, the main command, when its stdin was kept
   * open), then closes it when `input.close`; resolves once the process's pipe took the
   * bytes. Throws {@linkcode ProcessError}: `not_found` for an unknown spid, `not_running` when the process
   * exited or its stdin is closed (or was never open).
   */
  async write(spid: number, input: StdinInput): Promise<void> {
    const entry = this.#subprocesses.get(spid);
    if (spid !== MAIN && !entry) throw new ProcessError("not_found", `no subprocess ${spid}`);
    if (entry?.exited) {
      throw new ProcessError("not_running", `subprocess ${spid} has already exited`);
    }
    const channel = entry ? entry.stdin : this.#mainStdin;
    if (!channel || channel.closed) {
      throw new ProcessError(
        "not_running",
        `the stdin of process ${spid} is closed` +
          (channel ? "" : ' (start it with stdin {"value": "", "close": false} to keep it open)'),
      );
    }
    try {
      await channel.write(decodeStream(input), input.close);
    } catch {
      throw new ProcessError(
        "not_running",
        `the stdin of process ${spid} is closed: the process exited or closed it`,
      );
    }
  }

  /**
   * Takes no more subprocesses, ends the main command's stdin and resolves once every
   * started subprocess has its `exit` event (call it when the run has ended).
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#sandbox.resolve(null);
      this.#mainStdin?.end();
      await Promise.all(this.#lifecycles);
    })();
    return this.#closed;
  }
}
