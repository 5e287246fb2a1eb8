/** The SQLite database that holds the server's metadata. */
/// <reference path="./_sqlite.d.ts" />
import { DatabaseSync } from "node:sqlite";

/** An open SQLite connection (`node:sqlite`). */
export type Database = DatabaseSync;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
  uuid TEXT PRIMARY KEY,
  tag TEXT UNIQUE,
  created_at TEXT NOT NULL,
  operation_uuid TEXT,
  parent TEXT,
  layers TEXT NOT NULL,
  env TEXT NOT NULL DEFAULT '{}',
  workdir TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS images_order ON images (created_at DESC, uuid DESC);
CREATE TABLE IF NOT EXISTS files (
  uuid TEXT PRIMARY KEY,
  sha256 TEXT NOT NULL UNIQUE,
  size INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS files_order ON files (created_at DESC, uuid DESC);
CREATE TABLE IF NOT EXISTS operations (
  uuid TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  error TEXT,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  duration REAL,
  image_uuid TEXT,
  result_image_uuid TEXT,
  image_size INTEGER,
  consumed_cpu REAL,
  consumed_memory INTEGER,
  metadata TEXT NOT NULL,
  result TEXT
);
CREATE INDEX IF NOT EXISTS operations_order ON operations (created_at DESC, uuid DESC);
CREATE INDEX IF NOT EXISTS operations_status ON operations (status);
CREATE TABLE IF NOT EXISTS events (
  operation_uuid TEXT NOT NULL,
  id INTEGER NOT NULL,
  ts TEXT NOT NULL,
  spid INTEGER NOT NULL,
  type TEXT NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (operation_uuid, id)
) WITHOUT ROWID;
`;

/**
 * Opens (creating if needed) the metadata database at `path` in WAL mode and applies the
 * schema. Every write the server makes is one statement or one {@linkcode transaction}.
 *
 * @example
 * ```ts
 * const db = openDatabase("/var/lib/contree/meta.db");
 * ```
 */
export function openDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec(SCHEMA);
  migrate(db);
  return db;
}

/**
 * Adds the columns newer than a data directory's tables: `CREATE TABLE IF NOT EXISTS` leaves
 * existing tables as they are.
 */
function migrate(db: DatabaseSync): void {
  const columns = db.prepare("PRAGMA table_info(images)").all() as { name: string }[];
  if (!columns.some((column) => column.name === "workdir")) {
    db.exec("ALTER TABLE images ADD COLUMN workdir TEXT NOT NULL DEFAULT ''");
  }
}

/**
 * Runs `fn` inside one immediate transaction: everything it writes lands, or nothing does.
 * Nested calls join the outer transaction.
 *
 * @example
 * ```ts
 * transaction(db, () => {
 *   db.prepare("UPDATE images SET tag = NULL WHERE tag = ?").run("app");
 *   db.prepare("UPDATE images SET tag = ? WHERE uuid = ?").run("app", uuid);
 * });
 * ```
 */
export function transaction<T>(db: DatabaseSync, fn: () => T): T {
  if (db.isTransaction) return fn();
  db.exec("BEGIN IMMEDIATE");
  try {
    const value = fn();
    db.exec("COMMIT");
    return value;
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}

/**
 * Reads a value from the `meta` key/value table.
 *
 * @example
 * ```ts
 * if (getMeta(db, "base_image") === undefined) setMeta(db, "base_image", uuid);
 * ```
 */
export function getMeta(db: DatabaseSync, key: string): string | undefined {
  const row = db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as
    | { value: string }
    | undefined;
  return row?.value;
}

/**
 * Writes a value to the `meta` key/value table.
 *
 * @example
 * ```ts
 * setMeta(db, "base_image", uuid);
 * ```
 */
export function setMeta(db: DatabaseSync, key: string, value: string): void {
  db.prepare(
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = ?",
  )
    .run(key, value, value);
}
