/** The durable event log of operations. */
import type { Database } from "./db.ts";

/** One operation event, with its wire JSON already serialised. */
export interface StoredEvent {
  /** Per-operation sequence number from 0. */
  id: number;
  /** Event time (`isoTime`). */
  ts: string;
  /** Spawned-process id: 0 init, 1 the main command. */
  spid: number;
  /** Event type (`init`, `spawn`, `stdout`, ...). */
  type: string;
  /** The whole `OperationEvent` as one line of JSON. */
  json: string;
}

/** Which events of an operation to read. */
export interface EventFilter {
  /** Only ids strictly greater than this. */
  afterId: number;
  /** Only this spawned process. */
  spid?: number;
  /** Only events at or after this time (`isoTime`). */
  since?: string;
  /** At most this many. */
  limit: number;
}

/**
 * Appends and reads operation events in SQLite, so logs outlive the server process.
 *
 * @example
 * ```ts
 * const events = new EventRepo(db);
 * const page = events.read(uuid, { afterId: -1, limit: 100 });
 * ```
 */
export class EventRepo {
  #db: Database;

  /** Wraps an open database (see `openDatabase`). */
  constructor(db: Database) {
    this.#db = db;
  }

  /** Appends events (call inside a `transaction` to write a batch at once). */
  append(operationUuid: string, events: readonly StoredEvent[]): void {
    const insert = this.#db.prepare(
      "INSERT INTO events (operation_uuid, id, ts, spid, type, json) VALUES (?, ?, ?, ?, ?, ?)",
    );
    for (const e of events) insert.run(operationUuid, e.id, e.ts, e.spid, e.type, e.json);
  }

  /** Events of one operation in id order. */
  read(operationUuid: string, filter: EventFilter): StoredEvent[] {
    const where = ["operation_uuid = ?", "id > ?"];
    const params: (string | number)[] = [operationUuid, filter.afterId];
    if (filter.spid !== undefined) {
      where.push("spid = ?");
      params.push(filter.spid);
    }
    if (filter.since !== undefined) {
      where.push("ts >= ?");
      params.push(filter.since);
    }
    params.push(filter.limit);
    return this.#db.prepare(
      `SELECT id, ts, spid, type, json FROM events WHERE ${where.join(" AND ")}
       ORDER BY id LIMIT ?`,
    ).all(...params) as unknown as StoredEvent[];
  }

  /** The highest event id of an operation, -1 when it has none. */
  lastId(operationUuid: string): number {
    const row = this.#db.prepare("SELECT MAX(id) AS id FROM events WHERE operation_uuid = ?").get(
      operationUuid,
    ) as { id: number | null };
    return row.id ?? -1;
  }
}
