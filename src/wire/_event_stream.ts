// Reading the events endpoint: one connection, and the resuming follower.
import { ContreeApiError, ContreeError, ContreeNetworkError, SSEStreamError } from "./errors.ts";
import {
  type CompletionEvent,
  type ExitEvent,
  isCompletion,
  type OperationEvent,
  type StreamEvent,
} from "./events.ts";
import { isTerminalStatus } from "./operation_status.ts";
import { eventResources } from "./resources.ts";
import { OperationEventDecoder } from "./event_decoder.ts";
import { isConnectionRefused, REFUSED_BUDGET, type RetryPolicy, sleep } from "./_retry.ts";
import type { InstanceResult, OperationResponse, TerminalStatus } from "./types.ts";

/** Statuses meaning "this operation or route has no event stream": poll instead. */
const EVENTS_UNAVAILABLE = new Set([400, 404, 405, 406]);
/** The least wait before reconnecting when the last connection made no progress. */
const NO_PROGRESS_FLOOR = 500;

/**
 * Yields the events of one event-stream body, one batch per network chunk (so that
 * the consumer pays one async hop per chunk, not one per event). `sse_error` frames
 * raise an SSEStreamError after the events before them; transport failures become
 * ContreeNetworkErrors, aborts the signal's reason. Errors carry the id of the last
 * event read (or `lastEventId`, the cursor the connection resumed from).
 */
export async function* readEventBatches(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal | undefined,
  lastEventId?: number,
): AsyncGenerator<OperationEvent[]> {
  const decoder = new OperationEventDecoder(lastEventId);
  const reader = body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      const events = decoder.push(value);
      if (events.length > 0) yield events;
      if (decoder.failure) throw decoder.failure;
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof ContreeError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new ContreeNetworkError(`event stream broke: ${detail}`, { cause: error });
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** What the follower needs from the client. */
export interface EventSource {
  /** Opens the stream (one attempt, no retries), resuming after `lastEventId`. */
  connect(follow: boolean, lastEventId: number | undefined): Promise<ReadableStream<Uint8Array>>;
  /** Reads the operation. */
  operation(): Promise<OperationResponse>;
  signal: AbortSignal | undefined;
  /** The operation, as errors name it. */
  uuid: string;
}

function synthesizeCompletion(op: OperationResponse, id: number): CompletionEvent {
  const data: CompletionEvent["data"] = {
    status: op.status as TerminalStatus,
    result_image_uuid: op.result_image_uuid ?? op.result?.image ?? null,
    error: op.error ?? null,
    image_size_bytes: op.image_size,
  };
  if (op.duration !== undefined) data.duration_ms = Math.round(op.duration * 1000);
  return { id, ts: new Date().toISOString(), spid: 0, type: "completion", data };
}

/**
 * The main process's `exit`, made from a finished instance's `result` (its `state` and
 * `resources`), or undefined without a state.
 */
function synthesizeExit(result: InstanceResult | undefined, id: number): ExitEvent | undefined {
  const state = result?.state;
  if (state?.exit_code === undefined && state?.signal === undefined) return undefined;
  const r = result?.resources ?? {};
  return {
    id,
    ts: new Date().toISOString(),
    spid: 1,
    type: "exit",
    data: {
      pid: state.pid ?? 0,
      code: state.exit_code ?? -1,
      signal: state.signal ?? -1,
      ...(state.core_dump === undefined ? {} : { core_dump: state.core_dump }),
      timed_out: state.timed_out ?? false,
      duration_ms: Math.round((r.elapsed_time ?? 0) * 1000),
      resources: eventResources(r),
    },
  };
}

function isReconnectable(error: unknown): boolean {
  if (error instanceof ContreeApiError) {
    return error.status === 410 || error.status === 425 || error.status === 429 ||
      error.status >= 500;
  }
  return error instanceof ContreeNetworkError || error instanceof SSEStreamError;
}

/**
 * Follows an operation's events until `completion` (any event of that type, whatever its
 * payload), resuming with `Last-Event-Id` after EOF, `sse_error`, network errors or a
 * truncated body, and never yielding an id twice. Once the operation is terminal the
 * reconnects replay the retained log without `follow`, resuming the same way. A connection
 * that delivered new events does not count against `policy.maxAttempts`; consecutive ones
 * that did not are bounded by it (and by `policy.deadline`, and refused connections by
 * REFUSED_BUDGET), after which an SSEStreamError carrying the last id and the cause is
 * thrown: the follower never makes up a completion over output it could not read. Only
 * when the endpoint has no stream at all (400/404/405/406 on the first connection) is the
 * operation polled, and its exit and completion synthesised after the output it holds.
 */
export async function* followEvents(
  source: EventSource,
  policy: RetryPolicy,
  lastEventId: number | undefined,
): AsyncGenerator<OperationEvent> {
  let lastId = lastEventId;
  let terminal = false;
  let streamed = false;
  const ladder = (rung: number) => policy.delays[Math.min(rung, policy.delays.length - 1)];
  const floor = Math.min(NO_PROGRESS_FLOOR, Math.max(...policy.delays));
  let failures = 0;
  let rung = 0;
  let stalledSince = Date.now();
  while (true) {
    let progress = false;
    let failure: unknown;
    try {
      const body = await source.connect(!terminal, lastId);
      streamed = true;
      for await (const batch of readEventBatches(body, source.signal, lastId)) {
        const fresh: OperationEvent[] = [];
        let completed = false;
        for (const event of batch) {
          if (event.id !== undefined) {
            if (lastId !== undefined && event.id <= lastId) continue;
            lastId = event.id;
          }
          fresh.push(event);
          if (isCompletion(event)) {
            completed = true;
            break;
          }
        }
        if (fresh.length > 0) {
          progress = true;
          yield* fresh;
        }
        if (completed) return;
      }
      failure = new ContreeNetworkError("the event stream ended before its completion event");
    } catch (error) {
      if (source.signal?.aborted) throw source.signal.reason;
      if (!streamed && error instanceof ContreeApiError && EVENTS_UNAVAILABLE.has(error.status)) {
        yield* poll(source, ladder, lastId);
        return;
      }
      if (!isReconnectable(error)) throw error;
      failure = error;
    }
    if (progress) {
      failures = 0;
      rung = 0;
      stalledSince = Date.now();
    } else {
      failures++;
      const stalled = Date.now() - stalledSince;
      if (
        failures >= policy.maxAttempts || stalled > policy.deadline ||
        (isConnectionRefused(failure) && stalled > REFUSED_BUDGET)
      ) {
        const detail = failure instanceof Error ? failure.message : String(failure);
        throw new SSEStreamError(
          `gave up following the events of operation ${source.uuid} after ${failures} ` +
            `attempt(s) without progress (last event id ${lastId ?? "none"}): ${detail}`,
          { cause: failure, lastEventId: lastId },
        );
      }
    }
    if (failure instanceof ContreeApiError) {
      const wait = failure.retryAfter !== undefined ? failure.retryAfter * 1000 : ladder(rung++);
      await sleep(wait, source.signal);
      continue;
    }
    // Asking a server that refused the connection how the operation is doing is no use.
    if (!terminal && !isConnectionRefused(failure)) {
      try {
        terminal = isTerminalStatus((await source.operation()).status);
      } catch (error) {
        // The next connection tells whether the server is there; it counts as an attempt.
        if (!isReconnectable(error)) throw error;
      }
    }
    await sleep(progress ? 0 : Math.max(floor, ladder(rung++)), source.signal);
  }
}

/**
 * Polls the operation until it is terminal, then yields what it holds of the main process
 * (its stdout and stderr as stream events, and its `exit`) and a synthesised `completion`.
 */
async function* poll(
  source: EventSource,
  ladder: (rung: number) => number,
  lastId: number | undefined,
): AsyncGenerator<OperationEvent> {
  for (let rung = 0;; rung++) {
    const op = await source.operation();
    if (isTerminalStatus(op.status)) {
      let id = lastId ?? -1;
      const ts = new Date().toISOString();
      const result = op.metadata && "result" in op.metadata ? op.metadata.result : undefined;
      // A caller resuming after an id has read this output already.
      if (lastId === undefined) {
        for (const type of ["stdout", "stderr"] as const) {
          const data = result?.[type];
          if (data && data.value !== "") {
            yield { id: ++id, ts, spid: 1, type, data } satisfies StreamEvent;
          }
        }
        const exit = synthesizeExit(result, id + 1);
        if (exit) {
          id++;
          yield exit;
        }
      }
      yield synthesizeCompletion(op, id + 1);
      return;
    }
    await sleep(ladder(rung), source.signal);
  }
}
