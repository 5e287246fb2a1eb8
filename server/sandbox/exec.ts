/** Processes started in a running sandbox, next to its command. */
import type { EventResources } from "../../src/wire/mod.ts";

/**
 * Resource usage of the command (its own and its waited-for descendants'), as wait4 gives it:
 * exactly the `resources` of an `exit` event (wire protocol 5.4).
 */
export type SandboxResources = EventResources;

/** A process to start in a running sandbox. */
export interface SandboxExecSpec {
  /** The executable (looked up in the sandbox's PATH). */
  command: string;
  /** Arguments after `command`. */
  args: string[];
  /** The whole environment; `PATH` defaults to `DEFAULT_PATH`. */
  env: Record<string, string>;
  /** Absolute working directory; the process fails with 125 when it does not exist. */
  cwd: string;
  /** User id it runs as (no capabilities, even as 0). */
  uid: number;
  /** Group id it runs as (its only group). */
  gid: number;
  /** Piped to the process's stdin until it ends (then EOF); absent = /dev/null. */
  stdin?: ReadableStream<Uint8Array>;
  /** Called once the process exists, before any `onOutput`. */
  onSpawn?(info: { pid: number }): void;
  /** Output as it is produced. */
  onOutput(stream: "stdout" | "stderr", chunk: Uint8Array): void;
}

/** How a process started in a sandbox ended. */
export interface SandboxExit {
  /** Its pid inside the sandbox. */
  pid: number;
  /** Exit status; -1 when killed by a signal. */
  exitCode: number;
  /** Terminating signal number; -1 when not signalled. */
  signal: number;
  /** The kernel reported a core dump (core files are disabled, so normally false). */
  coreDump: boolean;
  /** Wall-clock time from start to exit, milliseconds. */
  durationMs: number;
  /** All zero when it was killed with the whole run (cancel, timeout). */
  resources: SandboxResources;
}

/** A process running in a sandbox. */
export interface SandboxProcess {
  /** Its pid inside the sandbox. */
  readonly pid: number;
  /**
   * Sends signal `signo` (1 to 31) to the process and the rest of its process group;
   * `false` when it has already exited.
   */
  kill(signo: number): boolean;
  /**
   * Settles once the process has exited and its output is read to the end (a descendant
   * that left its process group keeps the output open until it exits or the run ends).
   * Never rejects.
   */
  readonly exited: Promise<SandboxExit>;
}

/**
 * A sandbox whose command is running (see `SandboxSpec.onSpawn`): more processes can join
 * it. They share its namespaces, root filesystem (their changes are part of the run's
 * diff), cgroup limits and privilege rules; each is in a process group of its own, which is
 * killed when the process exits. They end with the run at the latest.
 *
 * @example
 * ```ts
 * const proc = await sandbox.exec({
 *   command: "ls", args: ["/proc"], env: {}, cwd: "/", uid: 0, gid: 0,
 *   onOutput: (stream, chunk) => console.log(stream, new TextDecoder().decode(chunk)),
 * });
 * console.log((await proc.exited).exitCode);
 * ```
 */
export interface RunningSandbox {
  /**
   * Starts a process once the sandbox is set up. Rejects with `SandboxNotRunningError`
   * when the run ends first, with `SandboxError` on a bad spec or a setup failure.
   */
  exec(spec: SandboxExecSpec): Promise<SandboxProcess>;
}
