/** Image records: the metadata of every image, its tag and its layers. */
import { type Database, transaction } from "./db.ts";

/** One stored image. */
export interface ImageRecord {
  /** Image UUID. */
  uuid: string;
  /** Unique tag, or `null`. */
  tag: string | null;
  /** Creation time (see `isoTime`). */
  created_at: string;
  /** The operation that produced the image, `null` for imported images. */
  operation_uuid: string | null;
  /** The image this one was derived from, `null` for imported images. */
  parent: string | null;
  /** Layer ids of the layer store, lowest first. */
  layers: string[];
  /** Environment carried by the image (set by runs with `preserve_env`). */
  env: Record<string, string>;
  /** The image's working directory from its config (`WorkingDir`); `""` = none. */
  workdir: string;
}

/** Filters and page of an image listing. */
export interface ImageQuery {
  /** Page size. */
  limit: number;
  /** Rows to skip. */
  offset: number;
  /** Only images that carry a tag. */
  tagged?: boolean;
  /** Tag prefix; an exact match is listed first. */
  tagPrefix?: string;
  /** Only this image. */
  uuid?: string;
  /** Created at or after (a `isoTime` string). */
  since?: string;
  /** Created at or before (a `isoTime` string). */
  until?: string;
}

interface ImageRow {
  uuid: string;
  tag: string | null;
  created_at: string;
  operation_uuid: string | null;
  parent: string | null;
  layers: string;
  env: string;
  workdir: string;
}

function toRecord(row: ImageRow): ImageRecord {
  return { ...row, layers: JSON.parse(row.layers), env: JSON.parse(row.env) };
}

/**
 * Reads and writes image records.
 *
 * @example
 * ```ts
 * const images = new ImageRepo(db);
 * const base = images.byTag("busybox:latest");
 * ```
 */
export class ImageRepo {
  #db: Database;

  /** Wraps an open database (see `openDatabase`). */
  constructor(db: Database) {
    this.#db = db;
  }

  /** The image with this UUID, or `undefined`. */
  get(uuid: string): ImageRecord | undefined {
    const row = this.#db.prepare("SELECT * FROM images WHERE uuid = ?").get(uuid.toLowerCase());
    return row ? toRecord(row as unknown as ImageRow) : undefined;
  }

  /** The image carrying this tag, or `undefined`. */
  byTag(tag: string): ImageRecord | undefined {
    const row = this.#db.prepare("SELECT * FROM images WHERE tag = ?").get(tag);
    return row ? toRecord(row as unknown as ImageRow) : undefined;
  }

  /**
   * The oldest image without a parent made of exactly `layers` with exactly `env` and
   * `workdir`: an earlier import of the same content, or `undefined`.
   */
  byContent(
    layers: string[],
    env: Record<string, string>,
    workdir: string,
  ): ImageRecord | undefined {
    const row = this.#db.prepare(
      `SELECT * FROM images WHERE parent IS NULL AND layers = ? AND env = ? AND workdir = ?
       ORDER BY created_at, uuid LIMIT 1`,
    ).get(JSON.stringify(layers), JSON.stringify(env), workdir);
    return row ? toRecord(row as unknown as ImageRow) : undefined;
  }

  /** A page of images, newest first (ties by UUID), an exact tag match first. */
  list(query: ImageQuery): ImageRecord[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.tagged) where.push("tag IS NOT NULL");
    if (query.tagPrefix !== undefined) {
      where.push("substr(tag, 1, ?) = ?");
      params.push(query.tagPrefix.length, query.tagPrefix);
    }
    if (query.uuid !== undefined) {
      where.push("uuid = ?");
      params.push(query.uuid.toLowerCase());
    }
    if (query.since !== undefined) {
      where.push("created_at >= ?");
      params.push(query.since);
    }
    if (query.until !== undefined) {
      where.push("created_at <= ?");
      params.push(query.until);
    }
    const order: string[] = [];
    if (query.tagPrefix !== undefined) {
      order.push("(tag = ?) DESC");
      params.push(query.tagPrefix);
    }
    order.push("created_at DESC", "uuid DESC");
    params.push(query.limit, query.offset);
    const sql = `SELECT * FROM images ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY ${order.join(", ")} LIMIT ? OFFSET ?`;
    return this.#db.prepare(sql).all(...params).map((row: unknown) =>
      toRecord(row as unknown as ImageRow)
    );
  }

  /** Every layer id some image is made of. */
  layerIds(): Set<string> {
    const ids = new Set<string>();
    for (const row of this.#db.prepare("SELECT layers FROM images").all()) {
      for (const id of JSON.parse((row as { layers: string }).layers)) ids.add(id);
    }
    return ids;
  }

  /** Stores a new image. */
  insert(image: ImageRecord): void {
    this.#db.prepare(
      `INSERT INTO images (uuid, tag, created_at, operation_uuid, parent, layers, env, workdir)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      image.uuid,
      image.tag,
      image.created_at,
      image.operation_uuid,
      image.parent,
      JSON.stringify(image.layers),
      JSON.stringify(image.env),
      image.workdir,
    );
  }

  /** Moves `tag` onto the image (from any other image carrying it); `undefined` if unknown. */
  setTag(uuid: string, tag: string): ImageRecord | undefined {
    return transaction(this.#db, () => {
      const image = this.get(uuid);
      if (!image) return undefined;
      this.#db.prepare("UPDATE images SET tag = NULL WHERE tag = ? AND uuid != ?").run(
        tag,
        image.uuid,
      );
      this.#db.prepare("UPDATE images SET tag = ? WHERE uuid = ?").run(tag, image.uuid);
      return { ...image, tag };
    });
  }

  /**
   * Removes the image's tag (only if it equals `tag`, when given); `undefined` if the image is
   * unknown.
   */
  removeTag(uuid: string, tag?: string): ImageRecord | undefined {
    const image = this.get(uuid);
    if (!image) return undefined;
    if (tag !== undefined && image.tag !== tag) return image;
    this.#db.prepare("UPDATE images SET tag = NULL WHERE uuid = ?").run(image.uuid);
    return { ...image, tag: null };
  }
}
