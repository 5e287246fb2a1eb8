/** File records: uploaded blobs as the API names them (a UUID per distinct content). */
import type { Database } from "./db.ts";
import { isoTime } from "./time.ts";

/** One uploaded file, as `GET /v1/files/{sha256}` reports it. */
export interface FileRecord {
  /** File UUID (stable for a given content). */
  uuid: string;
  /** Lower-case hex SHA-256. */
  sha256: string;
  /** Size in bytes. */
  size: number;
  /** First upload time. */
  created_at: string;
  /** Last upload time. */
  updated_at: string;
}

/** Page and time window of a file listing. */
export interface FileQuery {
  /** Page size. */
  limit: number;
  /** Rows to skip. */
  offset: number;
  /** Created at or after (a `isoTime` string). */
  since?: string;
  /** Created at or before (a `isoTime` string). */
  until?: string;
}

/**
 * Reads and writes file records; content identity is the SHA-256, so uploading the same
 * bytes again returns the same record (with `updated_at` refreshed).
 *
 * @example
 * ```ts
 * const files = new FileRepo(db);
 * const record = files.record(sha256, size);
 * ```
 */
export class FileRepo {
  #db: Database;

  /** Wraps an open database (see `openDatabase`). */
  constructor(db: Database) {
    this.#db = db;
  }

  /** Records an upload of stored content; returns the (possibly existing) record. */
  record(sha256: string, size: number): FileRecord {
    const now = isoTime();
    this.#db.prepare(
      `INSERT INTO files (uuid, sha256, size, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (sha256) DO UPDATE SET updated_at = excluded.updated_at`,
    ).run(crypto.randomUUID(), sha256, size, now, now);
    return this.bySha256(sha256)!;
  }

  /** The file with this digest, or `undefined`. */
  bySha256(sha256: string): FileRecord | undefined {
    return this.#db.prepare("SELECT * FROM files WHERE sha256 = ?").get(sha256.toLowerCase()) as
      | FileRecord
      | undefined;
  }

  /** The file with this UUID, or `undefined`. */
  byUuid(uuid: string): FileRecord | undefined {
    return this.#db.prepare("SELECT * FROM files WHERE uuid = ?").get(uuid.toLowerCase()) as
      | FileRecord
      | undefined;
  }

  /** A page of files, newest first (ties by UUID). */
  list(query: FileQuery): FileRecord[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.since !== undefined) {
      where.push("created_at >= ?");
      params.push(query.since);
    }
    if (query.until !== undefined) {
      where.push("created_at <= ?");
      params.push(query.until);
    }
    params.push(query.limit, query.offset);
    const sql = `SELECT * FROM files ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY created_at DESC, uuid DESC LIMIT ? OFFSET ?`;
    return this.#db.prepare(sql).all(...params) as unknown as FileRecord[];
  }
}
