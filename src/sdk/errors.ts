/**
 * Errors raised by the high-level SDK. All extend the wire client's
 * `ContreeError`; HTTP failures keep their wire types (`NotFoundError`, ...).
 *
 * @module
 */

import { ContreeError } from "../wire/errors.ts";
import type { ImageState } from "./state.ts";

/**
 * An object is in the wrong state for what was asked: reading `result` (or
 * `stdout`, `exitCode`, ...) before a run completed, or a transition the
 * lifecycle does not allow.
 *
 * @example
 * ```ts
 * import { ContreeImageStateError, type ContreeImage } from "@contree/sdk";
 *
 * function exitCodeOrUndefined(image: ContreeImage): number | undefined {
 *   try {
 *     return image.exitCode;
 *   } catch (error) {
 *     if (error instanceof ContreeImageStateError) return undefined;
 *     throw error;
 *   }
 * }
 * ```
 */
export class ContreeImageStateError extends ContreeError {
  /** The image concerned, when it has a UUID. */
  readonly imageUuid: string | undefined;
  /** The state the object was in. */
  readonly state: ImageState;
  /** The states that would have been acceptable. */
  readonly expected: ImageState[];

  /** Creates the error. */
  constructor(
    message: string,
    imageUuid: string | undefined,
    state: ImageState,
    expected: ImageState[],
  ) {
    super(`${message} (state ${state}${imageUuid ? `, image ${imageUuid}` : ""})`);
    this.imageUuid = imageUuid;
    this.state = state;
    this.expected = expected;
  }
}

/**
 * `run()` was called on the result of a disposable run: the server kept no
 * image, so there is nothing to run from. Run with `disposable: false` to chain.
 *
 * @example
 * ```ts
 * import { DisposableImageRunError, type ContreeImage } from "@contree/sdk";
 *
 * function chainable(result: ContreeImage): boolean {
 *   try {
 *     result.run({ shell: "true" });
 *     return true;
 *   } catch (error) {
 *     if (error instanceof DisposableImageRunError) return false;
 *     throw error;
 *   }
 * }
 * ```
 */
export class DisposableImageRunError extends ContreeError {
  /** Creates the error. */
  constructor() {
    super(
      "the result of a disposable run has no image to run from; run with disposable: false to chain",
    );
  }
}

/**
 * Options given to `run()` (or `popen()`) are invalid: both `shell` and
 * `command` or neither, a relative `cwd` or file destination, a value of the
 * wrong type. Thrown by `run()` itself, before any request; `field` names the
 * offending option (`"cwd"`, `'files["etc/x"]'`, `"env.A"`).
 *
 * @example
 * ```ts
 * import { RunOptionsError, type ContreeImage } from "@contree/sdk";
 *
 * function tryPrepare(image: ContreeImage) {
 *   try {
 *     return image.run({ shell: "pwd", cwd: "tmp" });
 *   } catch (error) {
 *     if (error instanceof RunOptionsError) console.error(error.field); // "cwd"
 *     throw error;
 *   }
 * }
 * ```
 */
export class RunOptionsError extends ContreeError {
  /** The offending option, as a path into the options (empty for the options as a whole). */
  readonly field: string;

  /** Creates the error for `field`. */
  constructor(field: string, problem: string) {
    super(`invalid run options${field ? `: ${field}` : ""}: ${problem}`);
    this.field = field;
  }
}

/**
 * The base class of errors about a remote operation that did not complete.
 *
 * @example
 * ```ts
 * import { OperationError } from "@contree/sdk";
 *
 * const operationOf = (error: unknown) =>
 *   error instanceof OperationError ? error.operationUuid : undefined;
 * ```
 */
export class OperationError extends ContreeError {
  /** The operation's UUID. */
  readonly operationUuid: string;

  /** Creates the error for `operationUuid`. */
  constructor(message: string, operationUuid: string, options?: ErrorOptions) {
    super(`${message} (operation ${operationUuid})`, options);
    this.operationUuid = operationUuid;
  }
}

/**
 * The operation ended `CANCELLED` without being cancelled through this run's
 * `signal` (an abort rejects with the signal's reason instead).
 *
 * @example
 * ```ts
 * import { OperationCancelledError } from "@contree/sdk";
 *
 * const cancelled = (error: unknown) => error instanceof OperationCancelledError;
 * ```
 */
export class OperationCancelledError extends OperationError {
  /** Creates the error. */
  constructor(operationUuid: string) {
    super("the operation was cancelled", operationUuid);
  }
}

/**
 * The operation ended `FAILED` (a server-side failure, not a non-zero exit
 * code), or an import produced no image.
 *
 * @example
 * ```ts
 * import { OperationFailedError } from "@contree/sdk";
 *
 * const reason = (error: unknown) =>
 *   error instanceof OperationFailedError ? error.reason : undefined;
 * ```
 */
export class OperationFailedError extends OperationError {
  /** The server's reason, when it gave one. */
  readonly reason: string | undefined;

  /** Creates the error with the server's `reason`. */
  constructor(operationUuid: string, reason: string | undefined) {
    super(`the operation failed${reason ? `: ${reason}` : ""}`, operationUuid);
    this.reason = reason;
  }
}

/**
 * A run's command ran past its time limit (the server reported `timed_out`),
 * or the client's wait for a run or an import ran out and cancelled the
 * operation. Carries the output seen before the cut (empty for imports).
 *
 * @example
 * ```ts
 * import { OperationTimedOutError, type ContreeImage } from "@contree/sdk";
 *
 * async function tryRun(image: ContreeImage) {
 *   try {
 *     return await image.run({ shell: "echo started; sleep 60", timeout: 2 });
 *   } catch (error) {
 *     if (error instanceof OperationTimedOutError) console.log(error.stdout); // "started\n"
 *     throw error;
 *   }
 * }
 * ```
 */
export class OperationTimedOutError extends OperationError {
  /** The limit that ran out, in seconds. */
  readonly timeout: number;
  /** stdout received before the cut (empty when it was not captured). */
  readonly stdoutBytes: Uint8Array;
  /** stderr received before the cut (empty when it was not captured). */
  readonly stderrBytes: Uint8Array;

  /** Creates the error with the partial output. */
  constructor(
    operationUuid: string,
    timeout: number,
    stdoutBytes: Uint8Array,
    stderrBytes: Uint8Array,
  ) {
    super(`timed out after ${timeout} s`, operationUuid);
    this.timeout = timeout;
    this.stdoutBytes = stdoutBytes;
    this.stderrBytes = stderrBytes;
  }

  /** The partial stdout as text (invalid UTF-8 replaced). */
  get stdout(): string {
    return new TextDecoder().decode(this.stdoutBytes);
  }

  /** The partial stderr as text (invalid UTF-8 replaced). */
  get stderr(): string {
    return new TextDecoder().decode(this.stderrBytes);
  }
}

/**
 * A process started with `check: true` exited non-zero.
 *
 * @example
 * ```ts
 * import { ContreeProcessError, type ContreeImage } from "@contree/sdk";
 *
 * async function mustPass(image: ContreeImage) {
 *   try {
 *     await image.popen(["false"], { check: true }).wait();
 *   } catch (error) {
 *     if (error instanceof ContreeProcessError) console.error(error.exitCode, error.stderr);
 *   }
 * }
 * ```
 */
export class ContreeProcessError extends ContreeError {
  /** The command line as given to `popen`. */
  readonly command: string[];
  /** The non-zero exit code. */
  readonly exitCode: number;
  /** Everything the process wrote to stdout (empty if read elsewhere). */
  readonly stdout: string;
  /** Everything the process wrote to stderr (empty if read elsewhere). */
  readonly stderr: string;

  /** Creates the error. */
  constructor(command: string[], exitCode: number, stdout: string, stderr: string) {
    super(`command ${JSON.stringify(command)} exited with code ${exitCode}`);
    this.command = command;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/**
 * A session could not do what was asked: an unknown branch, a step out of
 * range, a rollback past the first step.
 *
 * @example
 * ```ts
 * import { ContreeSessionError, type ContreeSession } from "@contree/sdk";
 *
 * async function safeRollback(session: ContreeSession) {
 *   try {
 *     await session.rollback(1);
 *   } catch (error) {
 *     if (!(error instanceof ContreeSessionError)) throw error;
 *   }
 * }
 * ```
 */
export class ContreeSessionError extends ContreeError {}

/**
 * A session was asked to run, move or branch while one of its runs was still
 * executing: runs in a session are strictly sequential.
 *
 * @example
 * ```ts
 * import { ContreeSessionBusyError } from "@contree/sdk";
 *
 * const busy = (error: unknown) => error instanceof ContreeSessionBusyError;
 * ```
 */
export class ContreeSessionBusyError extends ContreeSessionError {
  /** Creates the error for the session `sessionId`. */
  constructor(sessionId: string) {
    super(
      `session ${sessionId} is busy: a run is still executing; await it before starting another`,
    );
  }
}
