// One execution of a run: uploads, spawn, following the event stream into the
// output sinks, the checks on how it ended, and cancellation.
import type { CompletionEvent, ExitEvent, OperationEvent } from "../wire/events.ts";
import { readContent } from "../wire/hash.ts";
import { decodeStream, encodeStream } from "../wire/stream_repr.ts";
import type { ClosableStreamRepr, InstanceSpawnRequest } from "../wire/types.ts";
import type { ClientContext } from "./_context.ts";
import { trackWork } from "./_work.ts";
import { OperationCancelledError, OperationFailedError, OperationTimedOutError } from "./errors.ts";
import { OutputSinks } from "./_output.ts";
import type { ContreeResult, OutputChunk, Truncation } from "./result.ts";
import { uploadRunFiles } from "./_run_files.ts";
import { commandOf, type RunOptions } from "./run_options.ts";

/** The spid of the main command. */
const MAIN = 1;
/** How long the client waits past an operation's own time limit before giving up. */
export const GRACE_SECONDS = 30;
/** The deadline's abort reason. */
const DEADLINE = Symbol("deadline");
/** `stdin` of a spawn whose stdin stays open, to be written through the subprocess API. */
const OPEN_STDIN: ClosableStreamRepr = { value: "", encoding: "ascii", close: false };

/** How an execution ended well. */
export interface Outcome {
  /** The result image, `undefined` for disposable runs. */
  imageUuid: string | undefined;
  /** The tag given to the result image. */
  tag: string | undefined;
  /** The result, with captured output typed by the caller. */
  result: ContreeResult<unknown, unknown>;
}

/** What an execution needs beyond the run's options. */
export interface ExecutionPlan {
  contree: ClientContext;
  options: RunOptions;
  /** The `image` field of the spawn (a UUID or `tag:NAME`). */
  image: (signal: AbortSignal) => Promise<string>;
  /** `disposable` when the options leave it unset. */
  disposable: boolean;
  /** Spawn with stdin left open (written later through the subprocess API). */
  openStdin?: boolean;
}

/** The output bytes an event carries for the main command, if any. */
export function outputChunk(event: OperationEvent): Omit<OutputChunk, "text"> | undefined {
  if ((event.type === "stdout" || event.type === "stderr") && event.spid === MAIN) {
    return { stream: event.type, data: decodeStream(event.data) };
  }
  return undefined;
}

/** Marks a promise as handled (its rejection is read elsewhere, or not at all). */
export function hold<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/**
 * Cancels an operation, best effort: 409 means it already ended, and on any
 * other failure it still ends at its own time limit.
 */
export async function cancelQuietly(contree: ClientContext, uuid: string): Promise<void> {
  await contree.api.cancelOperation(uuid, { timeout: 30_000 }).catch(() => {});
}

/** One execution; `done` settles when it completed, failed or was cancelled. */
export class Execution {
  /** Resolves with the operation's UUID once spawned. */
  readonly spawned: Promise<string>;
  /** Settles with the outcome. */
  readonly done: Promise<Outcome>;
  readonly #controller = new AbortController();
  #operationUuid: string | undefined;
  #onSpawn!: (uuid: string) => void;
  #onSpawnFailed!: (error: unknown) => void;

  constructor(readonly plan: ExecutionPlan) {
    const { contree, options } = plan;
    const unlink: (() => void)[] = [];
    for (const signal of [contree.signal, options.signal]) {
      if (!signal) continue;
      if (signal.aborted) this.#controller.abort(signal.reason);
      const abort = () => this.#controller.abort(signal.reason);
      signal.addEventListener("abort", abort, { once: true });
      unlink.push(() => signal.removeEventListener("abort", abort));
    }
    this.spawned = hold(
      new Promise<string>((resolve, reject) => {
        this.#onSpawn = resolve;
        this.#onSpawnFailed = reject;
      }),
    );
    this.done = hold(this.#execute().finally(() => unlink.forEach((remove) => remove())));
    this.done.catch((error) => this.#onSpawnFailed(error));
    trackWork(contree, this.done);
  }

  /** The operation, once spawned. */
  get operationUuid(): string | undefined {
    return this.#operationUuid;
  }

  /** Aborted when the execution is cancelled, its deadline passes or the client closes. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Cancels the execution (and the remote operation); `done` rejects with `reason`. */
  abort(reason: unknown): void {
    this.#controller.abort(reason);
  }

  async #execute(): Promise<Outcome> {
    const { contree, options } = this.plan;
    const api = contree.api;
    const signal = this.#controller.signal;
    const opts = { signal };
    const timeout = Math.ceil(options.timeout ?? contree.operationTimeout);
    const disposable = options.disposable ?? this.plan.disposable;
    const sinks = new OutputSinks(options.stdout ?? "text", options.stderr ?? "text");
    let deadline: ReturnType<typeof setTimeout> | undefined;
    let completion: CompletionEvent["data"] | undefined;
    try {
      const command = commandOf(options);
      const [files, stdin, image] = await Promise.all([
        options.files ? uploadRunFiles(contree.files, options.files, opts) : undefined,
        options.stdin === undefined ? undefined : readContent(options.stdin),
        this.plan.image(signal),
      ]);
      signal.throwIfAborted();
      const body: InstanceSpawnRequest = {
        image,
        ...command,
        env: options.env,
        cwd: options.cwd,
        hostname: options.hostname,
        uid: options.uid,
        gid: options.gid,
        disposable,
        timeout,
        truncate_output_at: options.truncateOutputAt ?? contree.truncateOutputAt,
        preserve_env: options.preserveEnv,
        networking: options.network === undefined ? undefined : { enabled: options.network },
        files,
        stdin: stdin ? encodeStream(stdin) : this.plan.openStdin ? OPEN_STDIN : undefined,
      };
      // Not abortable: once sent, the operation may exist, and only its UUID lets us cancel it.
      const { uuid } = await api.spawnInstance(body);
      this.#operationUuid = uuid;
      this.#onSpawn(uuid);
      signal.throwIfAborted();
      deadline = setTimeout(
        () => this.#controller.abort(DEADLINE),
        (timeout + GRACE_SECONDS) * 1000,
      );

      let exit: ExitEvent["data"] | undefined;
      const truncated: { stdout?: Truncation; stderr?: Truncation } = {};
      for await (const event of api.followOperationEvents(uuid, {}, opts)) {
        const chunk = outputChunk(event);
        if (chunk) await sinks[chunk.stream].write(chunk.data);
        else if (event.type === "exit" && event.spid === MAIN) exit = event.data;
        else if (event.type === "truncated" && event.spid === MAIN) {
          const stream = event.data.stream === "stderr" ? "stderr" : "stdout";
          truncated[stream] = {
            bytesEmitted: event.data.bytes_emitted,
            bytesDropped: event.data.bytes_dropped,
          };
        } else if (event.type === "completion") completion = event.data;
      }
      clearTimeout(deadline);
      if (!completion) throw new OperationFailedError(uuid, "the event stream ended early");
      if (completion.status === "CANCELLED") throw new OperationCancelledError(uuid);
      if (exit?.timed_out) {
        throw new OperationTimedOutError(
          uuid,
          timeout,
          sinks.stdout.captured(),
          sinks.stderr.captured(),
        );
      }
      if (completion.status === "FAILED") {
        throw new OperationFailedError(uuid, completion.error ?? undefined);
      }
      if (!exit) throw new OperationFailedError(uuid, "the command reported no exit");
      const record = await api.getOperation(uuid, {}, opts);
      const metadata = record.metadata;
      const cost = metadata && "result" in metadata ? metadata.result?.resources?.cost : undefined;
      const imageUuid = disposable
        ? undefined
        : completion.result_image_uuid ?? record.result_image_uuid ?? undefined;
      if (options.tag !== undefined && imageUuid) {
        await api.updateImageTag(imageUuid, options.tag, opts);
      }
      await sinks.close();
      return {
        imageUuid,
        tag: options.tag,
        result: {
          stdout: sinks.stdout.value(),
          stderr: sinks.stderr.value(),
          exitCode: exit.code,
          signal: exit.signal > 0 ? exit.signal : undefined,
          elapsed: exit.duration_ms,
          truncated,
          cost,
          operationUuid: uuid,
          exit,
        },
      };
    } catch (error) {
      clearTimeout(deadline);
      const uuid = this.#operationUuid;
      if (uuid !== undefined && completion === undefined) await cancelQuietly(contree, uuid);
      let failure = signal.aborted ? signal.reason : error;
      if (failure === DEADLINE) {
        // The deadline is only armed once the operation exists.
        failure = new OperationTimedOutError(
          uuid!,
          timeout,
          sinks.stdout.captured(),
          sinks.stderr.captured(),
        );
      }
      await sinks.abort(failure);
      throw failure;
    }
  }
}
