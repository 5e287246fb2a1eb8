// Reading the events endpoint: one connection, and the resuming follower.
import { ContreeApiError, ContreeError, ContreeNetworkError, SSEStreamError } from "./errors.ts";
import { type CompletionEvent, type OperationEvent, parseOperationEvent } from "./events.ts";
import type { SSEMessage } from "./sse.ts";
import { FrameDecoder } from "./_sse_decoder.ts";
import { type RetryPolicy, sleep } from "./_retry.ts";
import type { OperationResponse, TerminalStatus } from "./types.ts";

/** Statuses meaning "this operation or route has no event stream": poll instead. */
const EVENTS_UNAVAILABLE = new Set([400, 404, 405, 406]);
const TERMINAL = new Set(["SUCCESS", "FAILED", "CANCELLED"]);
/** The least wait before reconnecting when the last connection made no progress. */
const NO_PROGRESS_FLOOR = 500;

/**
 * Yields the events of one event-stream body, one batch per network chunk (so that
 * the consumer pays one async hop per event, not one per layer). `sse_error` frames
 * raise an SSEStreamError after the events before them; transport failures become
 * ContreeNetworkErrors, aborts the signal's reason.
 */
export async function* readEventBatches(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal | undefined,
): AsyncGenerator<OperationEvent[]> {
  const decoder = new FrameDecoder();
  const reader = body.getReader();
  let batch: OperationEvent[] = [];
  const emit = (message: SSEMessage) => {
    if (message.event === "sse_error") {
      throw new SSEStreamError(`event stream failed: ${message.data}`);
    }
    batch.push(parseOperationEvent(message));
  };
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      let failure: unknown;
      try {
        decoder.push(value, emit);
      } catch (error) {
        failure = error;
      }
      if (batch.length > 0) {
        const ready = batch;
        batch = [];
        yield ready;
      }
      if (failure !== undefined) throw failure;
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
}

function synthesizeCompletion(op: OperationResponse, lastId: number | undefined): CompletionEvent {
  return {
    id: (lastId ?? -1) + 1,
    ts: new Date().toISOString(),
    spid: 0,
    type: "completion",
    data: {
      status: op.status as TerminalStatus,
      result_image_uuid: op.result_image_uuid ?? op.result?.image ?? null,
      error: op.error ?? null,
      duration_ms: Math.round((op.duration ?? 0) * 1000),
      image_size_bytes: op.image_size,
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
 * Follows an operation's events until `completion`, resuming with
 * `Last-Event-Id` after EOF, `sse_error`, network errors or a truncated body,
 * and never yielding an id twice. When the stream ends early the operation is
 * probed: if it is terminal, the retained log is replayed once without
 * `follow` (a `completion` is synthesised from the operation if the log has
 * none). When the endpoint answers 400/404/405/406 the operation is polled
 * until terminal instead. Consecutive failures without progress are bounded
 * by `policy.maxAttempts`.
 */
export async function* followEvents(
  source: EventSource,
  policy: RetryPolicy,
  lastEventId: number | undefined,
): AsyncGenerator<OperationEvent> {
  let lastId = lastEventId;
  let progress = false;
  let completed = false;
  // The new events of one connection, batch by batch, up to `completion`.
  async function* connection(follow: boolean): AsyncGenerator<OperationEvent[]> {
    const body = await source.connect(follow, lastId);
    for await (const batch of readEventBatches(body, source.signal)) {
      const fresh: OperationEvent[] = [];
      for (const event of batch) {
        if (event.id !== undefined && lastId !== undefined && event.id <= lastId) continue;
        if (event.id !== undefined) lastId = event.id;
        fresh.push(event);
        if (event.type === "completion") {
          completed = true;
          break;
        }
      }
      if (fresh.length > 0) {
        progress = true;
        yield fresh;
      }
      if (completed) return;
    }
  }
  const ladder = (rung: number) => policy.delays[Math.min(rung, policy.delays.length - 1)];
  let failures = 0;
  let rung = 0;
  while (true) {
    progress = false;
    let failure: unknown;
    try {
      for await (const events of connection(true)) yield* events;
      if (completed) return;
    } catch (error) {
      if (error instanceof ContreeApiError && EVENTS_UNAVAILABLE.has(error.status)) {
        yield* poll(source, ladder, lastId);
        return;
      }
      if (!isReconnectable(error)) throw error;
      failure = error;
    }
    if (progress) {
      failures = 0;
      rung = 0;
    } else if (failure !== undefined && ++failures >= policy.maxAttempts) {
      throw failure;
    }
    if (failure instanceof ContreeApiError) {
      const wait = failure.retryAfter !== undefined ? failure.retryAfter * 1000 : ladder(rung++);
      await sleep(wait, source.signal);
      continue;
    }
    const op = await source.operation();
    if (TERMINAL.has(op.status)) {
      try {
        for await (const events of connection(false)) yield* events;
        if (completed) return;
      } catch (error) {
        if (!isReconnectable(error)) throw error;
      }
      yield synthesizeCompletion(op, lastId);
      return;
    }
    await sleep(progress ? 0 : Math.max(NO_PROGRESS_FLOOR, ladder(rung++)), source.signal);
  }
}

/** Polls the operation until it is terminal, then yields a synthesised `completion`. */
async function* poll(
  source: EventSource,
  ladder: (rung: number) => number,
  lastId: number | undefined,
): AsyncGenerator<OperationEvent> {
  for (let rung = 0;; rung++) {
    const op = await source.operation();
    if (TERMINAL.has(op.status)) {
      yield synthesizeCompletion(op, lastId);
      return;
    }
    await sleep(ladder(rung), source.signal);
  }
}
