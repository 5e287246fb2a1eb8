/**
 * A prepared or started run: the thenable object `image.run()` returns.
 *
 * @module
 */

import type { Contree } from "./contree.ts";
import { ContreeImageStateError } from "./errors.ts";
import { Execution, hold, type Outcome, outputChunk } from "./_execution.ts";
import { ContreeImage } from "./image.ts";
import type { ContreeResult, OutputChunk } from "./result.ts";
import type { RunOptions } from "./run_options.ts";
import { assertTransition, ImageState } from "./state.ts";

/** Where a run comes from: an image, or a session's moving HEAD. */
export interface RunBinding {
  /** The client. */
  readonly contree: Contree;
  /** The source image's UUID when known, for error messages. */
  readonly sourceUuid: string | undefined;
  /** `disposable` when the options leave it unset. */
  readonly disposable: boolean;
  /** The `image` field of the spawn. */
  image(signal: AbortSignal): Promise<string>;
  /** Called synchronously when an execution starts; may refuse by throwing. */
  begin(): void;
  /** Called when an execution ended, with its outcome when it completed. */
  end(outcome: Outcome | undefined, options: RunOptions): Promise<void>;
}

/**
 * A run of a command on an image. `image.run()` returns it `PREPARED`, without
 * making any request. Then:
 *
 * - `await run` (or `run.wait()`) executes it and gives the result
 *   {@linkcode ContreeImage}; each await of a `PREPARED` run is a new operation;
 * - `run.start()` starts an execution without waiting and returns it as a new
 *   `EXECUTING` run, which moves to `SUCCEEDED` or `FAILED` in place;
 * - `for await (const chunk of run)` streams `{ stream, data }` chunks live
 *   from the event stream (starting the run if it is `PREPARED`; breaking out
 *   early then cancels that execution).
 *
 * A non-zero exit code is a result, not an error. Failures reject with
 * {@linkcode OperationTimedOutError} (with the partial output),
 * `OperationFailedError`, `OperationCancelledError`, or the `signal`'s reason
 * when aborted (the remote operation is then cancelled).
 *
 * @example Execute, re-execute, start, stream
 * ```ts
 * import type { ContreeImage } from "@contree/sdk";
 *
 * async function demo(image: ContreeImage) {
 *   const prepared = image.run({ shell: "date +%N" });
 *   const first = await prepared; // one operation
 *   const second = await prepared; // another one
 *   console.log(first.stdout !== second.stdout);
 *
 *   const started = prepared.start();
 *   console.log(started.state, await started.whenSpawned()); // "EXECUTING", operation UUID
 *   await started;
 *   console.log(started.state, started.exitCode); // "SUCCEEDED", 0
 *
 *   for await (const { stream, data } of image.run({ shell: "echo out; echo err >&2" })) {
 *     console.log(stream, new TextDecoder().decode(data));
 *   }
 * }
 * ```
 */
export class ContreeRun<O = string, E = string>
  implements PromiseLike<ContreeImage<O, E>>, AsyncIterable<OutputChunk> {
  readonly #binding: RunBinding;
  readonly #options: RunOptions;
  readonly #execution: Execution | undefined;
  readonly #settled: Promise<ContreeImage<O, E>> | undefined;
  #state: ImageState;
  #image: ContreeImage<O, E> | undefined;

  /** Used by images and sessions; call `image.run()` instead. */
  constructor(binding: RunBinding, options: RunOptions, start = false) {
    this.#binding = binding;
    this.#options = options;
    this.#state = ImageState.PREPARED;
    if (!start) return;
    binding.begin();
    const execution = new Execution({
      contree: binding.contree,
      options,
      image: (signal) => binding.image(signal),
      disposable: binding.disposable,
    });
    this.#execution = execution;
    this.#state = ImageState.EXECUTING;
    this.#settled = hold(this.#settle(execution));
  }

  async #settle(execution: Execution): Promise<ContreeImage<O, E>> {
    let outcome: Outcome;
    try {
      outcome = await execution.done;
    } catch (error) {
      this.#state = ImageState.FAILED;
      await this.#binding.end(undefined, this.#options);
      throw error;
    }
    const image = new ContreeImage<O, E>(this.#binding.contree, {
      uuid: outcome.imageUuid,
      tag: outcome.tag,
      result: outcome.result as ContreeResult<O, E>,
    });
    this.#state = ImageState.SUCCEEDED;
    this.#image = image;
    await this.#binding.end(outcome, this.#options);
    return image;
  }

  /** `PREPARED`, then (for a started run) `EXECUTING`, `SUCCEEDED` or `FAILED`. */
  get state(): ImageState {
    return this.#state;
  }

  /** The options the run was prepared with. */
  get options(): Readonly<RunOptions> {
    return this.#options;
  }

  /** The operation running it, once a started run was spawned. */
  get operationUuid(): string | undefined {
    return this.#execution?.operationUuid;
  }

  /**
   * Starts an execution without waiting for it, and returns it as a new
   * `EXECUTING` run; this one stays `PREPARED`.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function background(image: ContreeImage) {
   *   const running = image.run({ shell: "sleep 1; echo done" }).start();
   *   // ... other work ...
   *   console.log((await running).stdout); // "done\n"
   * }
   * ```
   */
  start(): ContreeRun<O, E> {
    assertTransition(this.#state, ImageState.EXECUTING, this.#binding.sourceUuid);
    return new ContreeRun<O, E>(this.#binding, this.#options, true);
  }

  /**
   * Resolves with the operation's UUID once a started run was spawned (a
   * {@linkcode ContreeImageStateError} on a prepared run).
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function operationOf(image: ContreeImage) {
   *   return await image.run({ shell: "sleep 5" }).start().whenSpawned();
   * }
   * ```
   */
  whenSpawned(): Promise<string> {
    if (!this.#execution) {
      throw new ContreeImageStateError(
        "a prepared run has no operation; start() it",
        undefined,
        this.#state,
        [
          ImageState.EXECUTING,
        ],
      );
    }
    return this.#execution.spawned;
  }

  /**
   * Executes a `PREPARED` run (a new operation each time), or waits for a
   * started one; resolves with the result image.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function exitCode(image: ContreeImage) {
   *   return (await image.run({ shell: "exit 7" }).wait()).exitCode; // 7
   * }
   * ```
   */
  wait(): Promise<ContreeImage<O, E>> {
    if (this.#settled) return this.#settled;
    try {
      return this.start().wait();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Makes the run awaitable: same as {@linkcode ContreeRun.wait}. */
  then<R1 = ContreeImage<O, E>, R2 = never>(
    onfulfilled?: ((value: ContreeImage<O, E>) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.wait().then(onfulfilled, onrejected);
  }

  /**
   * Cancels a started run: the remote operation is cancelled and the run
   * rejects with an `AbortError`. Does nothing once it has ended.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function giveUp(image: ContreeImage) {
   *   const running = image.run({ shell: "sleep 600" }).start();
   *   await running.whenSpawned();
   *   await running.cancel();
   *   console.log(running.state); // "FAILED"
   * }
   * ```
   */
  async cancel(): Promise<void> {
    if (!this.#execution || this.#state !== ImageState.EXECUTING) return;
    this.#execution.abort(new DOMException("the run was cancelled", "AbortError"));
    await this.#settled!.catch(() => {});
  }

  /**
   * A `PREPARED` copy with some options replaced.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function withInput(image: ContreeImage) {
   *   const cat = image.run({ command: "cat" });
   *   console.log((await cat.with({ stdin: "one" })).stdout, (await cat.with({ stdin: "two" })).stdout);
   * }
   * ```
   */
  with(options: RunOptions): ContreeRun<O, E> {
    assertTransition(this.#state, ImageState.PREPARED, this.#binding.sourceUuid);
    return new ContreeRun<O, E>(this.#binding, { ...this.#options, ...options });
  }

  /**
   * The result image of a completed started run.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function resultOf(image: ContreeImage) {
   *   const running = image.run({ shell: "touch /x" , disposable: false }).start();
   *   await running;
   *   return running.image.uuid;
   * }
   * ```
   */
  get image(): ContreeImage<O, E> {
    if (!this.#image) {
      throw new ContreeImageStateError(
        "the run has not completed",
        this.#binding.sourceUuid,
        this.#state,
        [ImageState.SUCCEEDED],
      );
    }
    return this.#image;
  }

  /** The result of a completed started run (a {@linkcode ContreeImageStateError} before). */
  get result(): ContreeResult<O, E> {
    return this.image.result;
  }

  /** Shortcut for `result.stdout`. */
  get stdout(): O {
    return this.result.stdout;
  }

  /** Shortcut for `result.stderr`. */
  get stderr(): E {
    return this.result.stderr;
  }

  /** Shortcut for `result.exitCode`. */
  get exitCode(): number {
    return this.result.exitCode;
  }

  /** Shortcut for `result.elapsed` (milliseconds). */
  get elapsed(): number {
    return this.result.elapsed;
  }

  /**
   * Streams the command's output live from the event stream. A `PREPARED` run
   * is started for the loop (and cancelled if the loop is left early); a
   * started or finished run is followed (replayed from the start). After the
   * last chunk the run's failure, if any, is thrown.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<OutputChunk> {
    const own = this.#execution ? this : this.start();
    const execution = own.#execution!;
    const uuid = await execution.spawned;
    let finished = false;
    try {
      const events = this.#binding.contree.api.followOperationEvents(uuid, {}, {
        signal: execution.signal,
      });
      for await (const event of events) {
        const chunk = outputChunk(event);
        if (chunk) yield chunk;
      }
      finished = true;
    } catch (error) {
      if (execution.signal.aborted) await own.wait();
      throw error;
    } finally {
      if (!finished && own !== this) await own.cancel();
    }
    await own.wait();
  }
}
