/**
 * Which ids a data directory's files carry, recorded once: `host` (written by a server
 * running as root: in-image ids as they are) or `rootless` (written without root: in-image
 * ids as its user namespace sees them, i.e. host ids of its user's subordinate range).
 */
import type { DatabaseSync } from "node:sqlite";
import { getMeta, setMeta } from "./db.ts";

/** How a data directory stores file owners. */
export type OwnerIds = "host" | "rootless";

/** A data directory opened by a server of the other kind (root vs. without root). */
export class OwnerIdsError extends Error {
  /** Builds the error. */
  constructor(stored: OwnerIds, wanted: OwnerIds) {
    const by = (kind: OwnerIds) => kind === "host" ? "as root" : "without root";
    super(
      `this data directory was written by a server running ${by(stored)}; one running ` +
        `${by(wanted)} cannot use it (its files would show other owners)`,
    );
    this.name = "OwnerIdsError";
  }
}

/**
 * Records that the data directory of `db` stores owners as `kind`, or throws
 * {@linkcode OwnerIdsError} when it was made with the other kind. Directories from before
 * this record were all written by root.
 *
 * @example
 * ```ts
 * claimOwnerIds(store.db, "host");
 * ```
 */
export function claimOwnerIds(db: DatabaseSync, kind: OwnerIds): void {
  const stored = getMeta(db, "owner_ids") as OwnerIds | undefined ??
    (getMeta(db, "base_image") === undefined ? undefined : "host");
  if (stored !== undefined && stored !== kind) throw new OwnerIdsError(stored, kind);
  setMeta(db, "owner_ids", kind);
}
