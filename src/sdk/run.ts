/**
 * A prepared or started run: the thenable object `image.run()` returns.
 *
 * @module
 */

import type { Contree } from "./contree.ts";
import { ContreeImageStateError } from "./errors.ts";
import { Execution, hold, type Outcome, outputChunk } from "./_execution.ts";
import { ChunkDecoder } from "./_output.ts";
import type { ContreeImage, ContreeImageInit } from "./image.ts";
import type { ContreeResult, OutputChunk } from "./result.ts";
import { type RunOptions, validateRunOptions } from "./run_options.ts";
import { ImageState } from "./state.ts";
import { assertTransition } from "./_transitions.ts";

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
  /** The result image of a completed execution (runs make no images themselves). */
  resultImage<O, E>(init: ContreeImageInit<O, E>): ContreeImage<O, E>;
  /** Called synchronously when an execution starts; may refuse by throwing. */
  begin(): void;
  /** Called when an execution ended, with its outcome when it completed. */
  end(outcome: Outcome | undefined, options: RunOptions): Promise<void>;
}

/**
 * A run of a command on an image: a `Promise` of the result image that starts
 * when first used. `image.run()` returns it `PREPARED`, without making any
 * request. The first `await`/`then`/`catch`/`finally`, `wait()`, `start()` or
 * `for await` executes it, once: every later use sees that same execution and
 * its result (like any `Promise`, and unlike the Python SDK, where awaiting
 * again runs again). To run the command again, use `run.again()` (or
 * `run.with({...})` to change options), or call `image.run()` anew.
 *
 * - `await run` (or `run.wait()`) gives the result {@linkcode ContreeImage};
 * - `run.start()` starts it without waiting; `state` moves from `EXECUTING`
 *   to `SUCCEEDED` or `FAILED` in place;
 * - `for await (const { stream, data, text } of run)` streams the output live
 *   from the event stream; iterating a finished run replays it from the
 *   start. A loop that started the run and is left early cancels it.
 *
 * It is a real `Promise` (`run instanceof Promise`, `Promise.all`, `race`);
 * `then`, `catch` and `finally` return plain promises.
 *
 * A non-zero exit code is a result, not an error. Failures reject with
 * {@linkcode OperationTimedOutError} (with the partial output),
 * `OperationFailedError`, `OperationCancelledError`, or the `signal`'s reason
 * when aborted (the remote operation is then cancelled). Invalid options
 * throw {@linkcode RunOptionsError} from `image.run()` itself.
 *
 * @example Execute once, run again, start, stream
 * ```ts
 * import type { ContreeImage } from "@contree/sdk";
 *
 * async function demo(image: ContreeImage) {
 *   const run = image.run({ shell: "date +%N" });
 *   const [a, b] = await Promise.all([run, run]); // one operation
 *   console.log(a === b, (await run) === a); // true true
 *   const again = await run.again(); // a second operation
 *   console.log(again.stdout !== a.stdout); // true
 *
 *   const started = image.run({ shell: "sleep 1" }).start();
 *   console.log(started.state, await started.whenSpawned()); // "EXECUTING", operation UUID
 *   await started;
 *   console.log(started.state, started.exitCode); // "SUCCEEDED", 0
 *
 *   for await (const { stream, text } of image.run({ shell: "echo out; echo err >&2" })) {
 *     console.log(stream, text);
 *   }
 * }
 * ```
 */
export class ContreeRun<O = string, E = string> extends Promise<ContreeImage<O, E>>
  implements AsyncIterable<OutputChunk> {
  /** `then`, `catch` and `finally` make plain promises, not runs. */
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  readonly #binding: RunBinding;
  readonly #options: RunOptions;
  // Typed loosely so that runs stay covariant in their output types.
  readonly #resolve: (image: unknown) => void;
  readonly #reject: (reason: unknown) => void;
  #execution: Execution | undefined;
  #settled: Promise<unknown> | undefined;
  #state: ImageState = ImageState.PREPARED;
  #image: ContreeImage<O, E> | undefined;

  /**
   * Used by images and sessions; call `image.run()` instead. Validates the
   * options ({@linkcode RunOptionsError}); makes no request.
   */
  constructor(binding: RunBinding, options: RunOptions) {
    if (typeof binding === "function") {
      // `ContreeRun.resolve()` and friends would land here with an executor.
      throw new TypeError("a ContreeRun comes from image.run() or session.run()");
    }
    validateRunOptions(options, binding.disposable);
    let resolve!: (image: ContreeImage<O, E>) => void;
    let reject!: (reason: unknown) => void;
    super((onResolve, onReject) => {
      resolve = onResolve;
      reject = onReject;
    });
    this.#resolve = resolve as (image: unknown) => void;
    this.#reject = reject;
    this.#binding = binding;
    this.#options = options;
  }

  #move(to: ImageState): void {
    assertTransition(this.#state, to, this.#binding.sourceUuid);
    this.#state = to;
  }

  /** Starts the one execution; throws (and rejects the run) when the binding refuses. */
  #launch(): void {
    // A started run's failure is read through the run; never an unhandled rejection.
    super.then(undefined, () => {});
    try {
      this.#binding.begin();
    } catch (error) {
      this.#move(ImageState.FAILED);
      this.#reject(error);
      throw error;
    }
    const execution = new Execution({
      contree: this.#binding.contree,
      options: this.#options,
      image: (signal) => this.#binding.image(signal),
      disposable: this.#binding.disposable,
    });
    this.#execution = execution;
    this.#move(ImageState.EXECUTING);
    this.#settled = hold(this.#settle(execution).then(this.#resolve, this.#reject));
  }

  async #settle(execution: Execution): Promise<ContreeImage<O, E>> {
    let outcome: Outcome;
    try {
      outcome = await execution.done;
    } catch (error) {
      this.#move(ImageState.FAILED);
      await this.#binding.end(undefined, this.#options);
      throw error;
    }
    const image = this.#binding.resultImage<O, E>({
      uuid: outcome.imageUuid,
      tag: outcome.tag,
      result: outcome.result as ContreeResult<O, E>,
    });
    this.#move(ImageState.SUCCEEDED);
    this.#image = image;
    await this.#binding.end(outcome, this.#options);
    return image;
  }

  /** `PREPARED`, then (once started) `EXECUTING`, `SUCCEEDED` or `FAILED`. */
  get state(): ImageState {
    return this.#state;
  }

  /** The options the run was prepared with. */
  get options(): Readonly<RunOptions> {
    return this.#options;
  }

  /** The operation running it, once spawned. */
  get operationUuid(): string | undefined {
    return this.#execution?.operationUuid;
  }

  /**
   * Starts the run without waiting for it, and returns it (now `EXECUTING`).
   * Does nothing on a run that has already started. Throws when it cannot
   * start (a busy session: `ContreeSessionBusyError`); the run then rejects
   * with that error.
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
  start(): this {
    if (this.#state === ImageState.PREPARED) this.#launch();
    return this;
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
   * Starts the run if it has not started, and resolves with its result image
   * (the same as `await run`, as a plain `Promise`).
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
    return this.then();
  }

  /**
   * Starts the run if it has not started (the first use does), then behaves
   * as `Promise.prototype.then` on its one execution.
   */
  override then<R1 = ContreeImage<O, E>, R2 = never>(
    onfulfilled?: ((value: ContreeImage<O, E>) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    if (this.#state === ImageState.PREPARED) {
      try {
        this.#launch();
      } catch {
        // The run rejected with the refusal: the callbacks see it.
      }
    }
    return super.then(onfulfilled, onrejected);
  }

  /**
   * A new `PREPARED` run of the same command with the same options: the way
   * to run it again (awaiting this run again does not). In a session it runs
   * from HEAD as it is then. A `WritableStream` output serves one execution:
   * give the new run its own with `with({ stdout })` instead.
   *
   * @example
   * ```ts
   * import type { ContreeImage } from "@contree/sdk";
   *
   * async function twice(image: ContreeImage) {
   *   const roll = image.run({ shell: "echo $RANDOM" });
   *   return [(await roll).stdout, (await roll.again()).stdout]; // two operations
   * }
   * ```
   */
  again(): ContreeRun<O, E> {
    return new ContreeRun<O, E>(this.#binding, this.#options);
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
    await this.#settled;
  }

  /**
   * A new `PREPARED` run with some options replaced (this one is unchanged).
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
    return new ContreeRun<O, E>(this.#binding, { ...this.#options, ...options });
  }

  /**
   * The result image of a completed run.
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

  /** The result of a completed run (a {@linkcode ContreeImageStateError} before). */
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
   * Streams the command's output live from the event stream, as chunks with
   * their bytes and text. Starts the run if it has not started (and cancels it
   * if the loop is then left early); a running or finished run is followed
   * from its first byte. After the last chunk the run's failure, if any, is
   * thrown.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<OutputChunk> {
    const launched = this.#state === ImageState.PREPARED;
    this.start();
    const execution = this.#execution;
    // A run refused before it had an operation: its failure is all there is.
    const uuid = execution ? await execution.spawned.catch(() => undefined) : undefined;
    if (!execution || uuid === undefined) {
      await this.wait();
      return;
    }
    const decoder = new ChunkDecoder();
    let finished = false;
    try {
      const events = this.#binding.contree.api.followOperationEvents(uuid, {}, {
        signal: execution.signal,
      });
      for await (const event of events) {
        const chunk = outputChunk(event);
        if (chunk) yield decoder.chunk(chunk.stream, chunk.data);
      }
      finished = true;
    } catch (error) {
      if (execution.signal.aborted) await this.wait();
      throw error;
    } finally {
      if (!finished && launched) await this.cancel();
    }
    yield* decoder.flush();
    await this.wait();
  }
}
