/** The server's durable state, opened from one data directory. */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { BlobStore } from "./blobs.ts";
import { type Database, openDatabase } from "./db.ts";
import { EventRepo } from "./events.ts";
import { FileRepo } from "./files.ts";
import { ImageRepo } from "./images.ts";
import { OperationRepo } from "./operations.ts";

/**
 * Everything the server keeps in `<dataDir>`: `meta.db` (SQLite, WAL) and `blobs/`.
 *
 * @example
 * ```ts
 * const store = new Store("/var/lib/contree");
 * const base = store.images.byTag("busybox:latest");
 * store.close();
 * ```
 */
export class Store {
  /** The SQLite connection. */
  readonly db: Database;
  /** Image records. */
  readonly images: ImageRepo;
  /** File records. */
  readonly files: FileRepo;
  /** Operation records. */
  readonly operations: OperationRepo;
  /** Operation events. */
  readonly events: EventRepo;
  /** Uploaded file bodies. */
  readonly blobs: BlobStore;

  /** Opens (creating if needed) the state under `dataDir`. */
  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = openDatabase(join(dataDir, "meta.db"));
    this.images = new ImageRepo(this.db);
    this.files = new FileRepo(this.db);
    this.operations = new OperationRepo(this.db);
    this.events = new EventRepo(this.db);
    this.blobs = new BlobStore(join(dataDir, "blobs"));
  }

  /** Closes the database. */
  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
