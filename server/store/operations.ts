/** Operation records: status, metadata and result of every spawn. */
import type { OperationStatus } from "../../src/wire/mod.ts";
import type { Database } from "./db.ts";

/** Operation kinds. */
export type OperationKind = "instance" | "image_import";

/** One stored operation. */
export interface OperationRecord {
  /** Operation UUID. */
  uuid: string;
  /** Kind. */
  kind: OperationKind;
  /** Current status. */
  status: OperationStatus;
  /** Failure reason, `null` unless FAILED. */
  error: string | null;
  /** Creation time (`isoTime`). */
  created_at: string;
  /** When a runner took it (`isoTime`), `null` while pending. */
  started_at: string | null;
  /** When it became terminal (`isoTime`). */
  finished_at: string | null;
  /** Seconds from creation to the terminal status, `null` while active. */
  duration: number | null;
  /** Input image. */
  image_uuid: string | null;
  /** Result image (`null` for disposable, cancelled or failed runs). */
  result_image_uuid: string | null;
  /** Bytes the run added to the image. */
  image_size: number | null;
  /** CPU seconds (user + system). */
  consumed_cpu: number | null;
  /** Peak memory in bytes. */
  consumed_memory: number | null;
  /** The request as accepted (defaults applied). */
  metadata: Record<string, unknown>;
  /** `InstanceResult` once finished. */
  result: Record<string, unknown> | null;
}

/** The listing columns of an operation (no metadata or result). */
export type OperationSummaryRecord = Omit<OperationRecord, "metadata" | "result">;

/** Filters and page of an operation listing. */
export interface OperationQuery {
  /** Page size. */
  limit: number;
  /** Rows to skip. */
  offset: number;
  /** Only this status. */
  status?: OperationStatus;
  /** Only this kind. */
  kind?: OperationKind;
  /** Created at or after (`isoTime`). */
  since?: string;
  /** Created at or before (`isoTime`). */
  until?: string;
}

const SUMMARY_COLUMNS = `uuid, kind, status, error, created_at, started_at, finished_at, duration,
  image_uuid, result_image_uuid, image_size, consumed_cpu, consumed_memory`;

/**
 * Reads and writes operation records.
 *
 * @example
 * ```ts
 * const operations = new OperationRepo(db);
 * operations.update(uuid, { status: "EXECUTING" });
 * ```
 */
export class OperationRepo {
  #db: Database;

  /** Wraps an open database (see `openDatabase`). */
  constructor(db: Database) {
    this.#db = db;
  }

  /** Stores a new operation. */
  insert(op: OperationRecord): void {
    this.#db.prepare(
      `INSERT INTO operations (${SUMMARY_COLUMNS}, metadata, result)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      op.uuid,
      op.kind,
      op.status,
      op.error,
      op.created_at,
      op.started_at,
      op.finished_at,
      op.duration,
      op.image_uuid,
      op.result_image_uuid,
      op.image_size,
      op.consumed_cpu,
      op.consumed_memory,
      JSON.stringify(op.metadata),
      op.result === null ? null : JSON.stringify(op.result),
    );
  }

  /** The operation with this UUID, or `undefined`. */
  get(uuid: string): OperationRecord | undefined {
    const row = this.#db.prepare("SELECT * FROM operations WHERE uuid = ?").get(
      uuid.toLowerCase(),
    ) as (OperationSummaryRecord & { metadata: string; result: string | null }) | undefined;
    if (!row) return undefined;
    return {
      ...row,
      metadata: JSON.parse(row.metadata),
      result: row.result === null ? null : JSON.parse(row.result),
    };
  }

  /** A page of operation summaries, newest first (ties by UUID). */
  list(query: OperationQuery): OperationSummaryRecord[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    for (
      const [column, op, value] of [
        ["status", "=", query.status],
        ["kind", "=", query.kind],
        ["created_at", ">=", query.since],
        ["created_at", "<=", query.until],
      ] as const
    ) {
      if (value === undefined) continue;
      where.push(`${column} ${op} ?`);
      params.push(value);
    }
    params.push(query.limit, query.offset);
    const sql = `SELECT ${SUMMARY_COLUMNS} FROM operations
      ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY created_at DESC, uuid DESC LIMIT ? OFFSET ?`;
    return this.#db.prepare(sql).all(...params) as unknown as OperationSummaryRecord[];
  }

  /** Changes some fields of an operation. */
  update(uuid: string, patch: Partial<Omit<OperationRecord, "uuid">>): void {
    const sets: string[] = [];
    const params: (string | number | null)[] = [];
    for (const [key, value] of Object.entries(patch)) {
      sets.push(`${key} = ?`);
      params.push(
        key === "metadata" || key === "result"
          ? value === null ? null : JSON.stringify(value)
          : value as string | number | null,
      );
    }
    if (sets.length === 0) return;
    params.push(uuid);
    this.#db.prepare(`UPDATE operations SET ${sets.join(", ")} WHERE uuid = ?`).run(...params);
  }

  /** UUIDs of operations that are not terminal, oldest first. */
  active(): string[] {
    const rows = this.#db.prepare(
      `SELECT uuid FROM operations WHERE status IN ('PENDING', 'ASSIGNED', 'EXECUTING')
       ORDER BY created_at, uuid`,
    ).all() as { uuid: string }[];
    return rows.map((row) => row.uuid);
  }
}
