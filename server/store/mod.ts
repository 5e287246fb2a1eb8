/**
 * Durable state of the local backend: SQLite metadata (images, files, operations, events)
 * and the content-addressed blob store.
 *
 * @module
 */
export { BlobStore, BodyTooLargeError, type StoredBlob } from "./blobs.ts";
export { DataDirLockedError, lockDataDir } from "./data_dir_lock.ts";
export { type Database, getMeta, openDatabase, setMeta, transaction } from "./db.ts";
export { type EventFilter, EventRepo, type StoredEvent } from "./events.ts";
export { type FileQuery, type FileRecord, FileRepo } from "./files.ts";
export { type ImageQuery, type ImageRecord, ImageRepo } from "./images.ts";
export {
  type OperationKind,
  type OperationQuery,
  type OperationRecord,
  OperationRepo,
  type OperationSummaryRecord,
} from "./operations.ts";
export { claimOwnerIds, type OwnerIds, OwnerIdsError } from "./owner_ids.ts";
export { Store } from "./store.ts";
export { MAX_TAG_LENGTH, tagProblem } from "./tags.ts";
export { isoTime, isoTimeNs } from "./time.ts";
