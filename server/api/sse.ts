/** Server-sent event streams of operation events. */
import type { EventHub } from "../ops/mod.ts";

/** What an event stream sends. */
export interface EventStreamOptions {
  /** Send only ids strictly greater than this (`Last-Event-Id`); -1 for all. */
  afterId: number;
  /** Keep the stream open until the operation's log ends. */
  follow: boolean;
  /** Only events of this spawned process. */
  spid?: number;
  /** Only events at or after this time (`isoTime`). */
  since?: string;
  /** Idle time before a `: keepalive` comment, in milliseconds. */
  keepaliveMs: number;
}

const PAGE = 256;

/**
 * Streams an operation's events as SSE frames (`id:`, `event:`, `data:` with the whole
 * `OperationEvent` on one line): the stored log first, then, with `follow`, live events as
 * they are appended until the log ends (after `completion`), with `: keepalive` comments
 * while idle. Cancelling the stream (client gone) stops it.
 *
 * @example
 * ```ts
 * const body = eventStream(hub, uuid, { afterId: -1, follow: true, keepaliveMs: 15000 });
 * ```
 */
export function eventStream(
  hub: EventHub,
  uuid: string,
  options: EventStreamOptions,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const stop = new AbortController();
  let cursor = options.afterId;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (!stop.signal.aborted) {
        const events = hub.read(uuid, {
          afterId: cursor,
          spid: options.spid,
          since: options.since,
          limit: PAGE,
        });
        if (events.length > 0) {
          cursor = events[events.length - 1].id;
          controller.enqueue(encoder.encode(
            events.map((e) => `id: ${e.id}\nevent: ${e.type}\ndata: ${e.json}\n\n`).join(""),
          ));
          return;
        }
        if (!options.follow || !hub.isLive(uuid)) {
          controller.close();
          return;
        }
        const woken = await hub.wait(uuid, options.keepaliveMs, stop.signal);
        if (!woken && !stop.signal.aborted) {
          controller.enqueue(encoder.encode(": keepalive\n\n"));
          return;
        }
      }
    },
    cancel() {
      stop.abort();
    },
  }, { highWaterMark: 0 });
}
