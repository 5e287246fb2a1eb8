/** Live and durable operation event logs, with batched writes and waiting readers. */
import type { OperationEvent, UnknownEvent } from "../../src/wire/mod.ts";
import type { Database, EventFilter, EventRepo, StoredEvent } from "../store/mod.ts";
import { isoTime, transaction } from "../store/mod.ts";

/**
 * The payload of each event type, from the wire's event types: what the backend appends is
 * what the client's schemas (`parseOperationEvent`) accept.
 *
 * @example
 * ```ts
 * const truncated: EventPayloads["truncated"] = { stream: "stdout", bytes_emitted: 10, bytes_dropped: 5 };
 * ```
 */
export type EventPayloads = {
  [E in Exclude<OperationEvent, UnknownEvent> as E["type"]]: E["data"];
};

/** An event type the backend writes (`init`, `spawn`, `stdout`, ..., `completion`). */
export type EventType = keyof EventPayloads;

interface LiveLog {
  nextId: number;
  pending: StoredEvent[];
  waiters: Set<() => void>;
}

/**
 * Holds the event log of every active operation. Events get ids from 0 in order, wake
 * waiting readers at once and reach SQLite in batches (every `flushMs`, and at the end of
 * an operation inside its final transaction). Reads merge SQLite and the unflushed tail;
 * both are synchronous, so a reader never sees a gap or a duplicate.
 *
 * @example
 * ```ts
 * const hub = new EventHub(store.db, store.events);
 * hub.open(uuid);
 * hub.append(uuid, "init", 0, { started_at: isoTimeNs(), runtime_path: "/", verbose: false, init_pid: 1 });
 * ```
 */
export class EventHub {
  readonly #db: Database;
  readonly #repo: EventRepo;
  readonly #live = new Map<string, LiveLog>();
  readonly #flushMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Uses `repo` for durability, flushing batches every `flushMs` milliseconds. */
  constructor(db: Database, repo: EventRepo, flushMs = 50) {
    this.#db = db;
    this.#repo = repo;
    this.#flushMs = flushMs;
  }

  /** Starts the live log of an operation (ids continue after what is stored). */
  open(uuid: string): void {
    if (this.#live.has(uuid)) return;
    this.#live.set(uuid, {
      nextId: this.#repo.lastId(uuid) + 1,
      pending: [],
      waiters: new Set(),
    });
  }

  /** Whether the operation's log may still grow. */
  isLive(uuid: string): boolean {
    return this.#live.has(uuid);
  }

  /** Appends an event (its payload typed by its type) to a live log and wakes its readers. */
  append<T extends EventType>(
    uuid: string,
    type: T,
    spid: number,
    data: EventPayloads[T],
  ): StoredEvent {
    const log = this.#live.get(uuid);
    if (!log) throw new Error(`event log of ${uuid} is closed`);
    const id = log.nextId++;
    const ts = isoTime();
    const event: StoredEvent = {
      id,
      ts,
      spid,
      type,
      json: JSON.stringify({ id, ts, spid, type, data }),
    };
    log.pending.push(event);
    this.#wake(log);
    this.#timer ??= setTimeout(() => this.flushAll(), this.#flushMs);
    return event;
  }

  /** Takes back the last appended event when it is still unstored (its write failed). */
  retract(uuid: string, event: StoredEvent): void {
    const log = this.#live.get(uuid);
    if (!log || log.pending.at(-1) !== event) return;
    log.pending.pop();
    log.nextId--;
  }

  /**
   * Writes the unflushed events of one operation, inside the caller's transaction. Call
   * the returned function once that transaction has committed: only then are the events
   * dropped from memory, so a failed write (a full disk) loses nothing.
   */
  flush(uuid: string): () => void {
    const log = this.#live.get(uuid);
    if (!log || log.pending.length === 0) return () => {};
    const count = log.pending.length;
    this.#repo.append(uuid, log.pending);
    return () => {
      log.pending.splice(0, count);
    };
  }

  /**
   * Ends the live log of an operation whose events are all stored: readers then see only
   * stored events, and waiting readers wake up. A log with unstored events stays open.
   */
  close(uuid: string): void {
    const log = this.#live.get(uuid);
    if (!log || log.pending.length > 0) return;
    this.#live.delete(uuid);
    this.#wake(log);
  }

  /**
   * Writes every unflushed event in one transaction. A failed write (a full disk) is
   * logged and retried at the next append; the events stay readable from memory.
   */
  flushAll(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const dirty = [...this.#live.keys()].filter((uuid) => this.#live.get(uuid)!.pending.length);
    if (dirty.length === 0) return;
    try {
      const confirms = transaction(this.#db, () => dirty.map((uuid) => this.flush(uuid)));
      for (const confirm of confirms) confirm();
    } catch (error) {
      console.error(`writing operation events: ${(error as Error).message}`);
    }
  }

  /** Events after `filter.afterId`, from SQLite then the unflushed tail. */
  read(uuid: string, filter: EventFilter): StoredEvent[] {
    const stored = this.#repo.read(uuid, filter);
    const log = this.#live.get(uuid);
    if (!log || stored.length >= filter.limit) return stored;
    const after = stored.length ? stored[stored.length - 1].id : filter.afterId;
    const tail = log.pending.filter((e) =>
      e.id > after && (filter.spid === undefined || e.spid === filter.spid) &&
      (filter.since === undefined || e.ts >= filter.since)
    );
    return stored.concat(tail.slice(0, filter.limit - stored.length));
  }

  /**
   * Resolves at the next append to (or close of) the log, after `timeoutMs`, or when
   * `signal` aborts; returns whether something happened to the log.
   */
  wait(uuid: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const log = this.#live.get(uuid);
    if (!log || signal?.aborted) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (woken: boolean) => {
        clearTimeout(timer);
        log.waiters.delete(wake);
        signal?.removeEventListener("abort", abort);
        resolve(woken);
      };
      const wake = () => done(true);
      const abort = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      log.waiters.add(wake);
      signal?.addEventListener("abort", abort, { once: true });
    });
  }

  #wake(log: LiveLog): void {
    for (const waiter of [...log.waiters]) waiter();
  }
}
