/** Errors raised by the sandbox runner. */

/**
 * The sandbox could not run the command: bad spec, setup failure (mount, bwrap), or the
 * host lacks something. A command that fails inside the sandbox is not an error: it is a
 * result with a non-zero exit code.
 *
 * @example
 * ```ts
 * try {
 *   await runSandbox(spec);
 * } catch (error) {
 *   if (error instanceof SandboxError) console.error(error.message);
 * }
 * ```
 */
export class SandboxError extends Error {
  /** Builds the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SandboxError";
  }
}

/**
 * The host lacks what sandboxes need (see `checkSandboxSupport`).
 *
 * @example
 * ```ts
 * const error = new SandboxUnsupportedError(["bwrap"]);
 * console.log(error.missing); // ["bwrap"]
 * ```
 */
export class SandboxUnsupportedError extends SandboxError {
  /** What is missing, e.g. `["bwrap", "cgroup pids"]`. */
  readonly missing: string[];

  /** Builds the error from the list of missing things. */
  constructor(missing: string[]) {
    super(`sandboxes are not supported on this host: missing ${missing.join(", ")}`);
    this.name = "SandboxUnsupportedError";
    this.missing = missing;
  }
}

/**
 * The sandbox a process was to join is not running: it has not finished starting (and never
 * will), or it has ended.
 *
 * @example
 * ```ts
 * try {
 *   await sandbox.exec(spec);
 * } catch (error) {
 *   if (error instanceof SandboxNotRunningError) console.error("the run is over");
 * }
 * ```
 */
export class SandboxNotRunningError extends SandboxError {
  /** Builds the error. */
  constructor() {
    super("the sandbox is not running");
    this.name = "SandboxNotRunningError";
  }
}
