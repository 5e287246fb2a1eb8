/** Content-addressed storage of uploaded file bodies. */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { open, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";

/** Thrown by {@linkcode BlobStore.put} when the body exceeds the size cap. */
export class BodyTooLargeError extends Error {
  /** The cap that was exceeded, in bytes. */
  readonly limit: number;

  /** Builds the error for a cap of `limit` bytes. */
  constructor(limit: number) {
    super(`request body exceeds the limit of ${limit} bytes`);
    this.name = "BodyTooLargeError";
    this.limit = limit;
  }
}

/** What {@linkcode BlobStore.put} stored. */
export interface StoredBlob {
  /** Lower-case hex SHA-256 of the content. */
  sha256: string;
  /** Size in bytes. */
  size: number;
}

/**
 * Stores blobs under `<dir>/sha256/<2 hex>/<64 hex>`. A body is hashed while it streams into
 * a temporary file, which is then renamed into place, so a blob path is always complete;
 * identical content is stored once.
 *
 * @example
 * ```ts
 * const blobs = new BlobStore("/var/lib/contree/blobs");
 * const { sha256 } = await blobs.put(request.body!, 1 << 30);
 * ```
 */
export class BlobStore {
  #dir: string;
  #tmp: string;

  /** Uses `dir`; creates it and removes leftover temporary files. */
  constructor(dir: string) {
    this.#dir = dir;
    this.#tmp = join(dir, "tmp");
    mkdirSync(join(dir, "sha256"), { recursive: true });
    mkdirSync(this.#tmp, { recursive: true });
    for (const name of readdirSync(this.#tmp)) {
      rmSync(join(this.#tmp, name), { force: true, recursive: true });
    }
  }

  /** Host path of the blob with this digest (it may not exist). */
  path(sha256: string): string {
    return join(this.#dir, "sha256", sha256.slice(0, 2), sha256);
  }

  /** Whether the blob is stored. */
  async has(sha256: string): Promise<boolean> {
    return await stat(this.path(sha256)).then(() => true, () => false);
  }

  /**
   * Streams `body` into the store. Throws {@linkcode BodyTooLargeError} past `maxBytes`
   * (nothing is kept) and rethrows write errors such as `ENOSPC`.
   */
  async put(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<StoredBlob> {
    const tmp = join(this.#tmp, crypto.randomUUID());
    const hash = createHash("sha256");
    let size = 0;
    const file = await open(tmp, "wx", 0o644);
    try {
      for await (const chunk of body) {
        size += chunk.byteLength;
        if (size > maxBytes) throw new BodyTooLargeError(maxBytes);
        hash.update(chunk);
        let written = 0;
        while (written < chunk.byteLength) {
          const { bytesWritten } = await file.write(chunk, written, chunk.byteLength - written);
          written += bytesWritten;
        }
      }
      await file.sync();
      await file.close();
      const sha256 = hash.digest("hex");
      const target = this.path(sha256);
      if (await this.has(sha256)) {
        await rm(tmp, { force: true });
      } else {
        mkdirSync(join(this.#dir, "sha256", sha256.slice(0, 2)), { recursive: true });
        await rename(tmp, target);
      }
      return { sha256, size };
    } catch (error) {
      await file.close().catch(() => {});
      await rm(tmp, { force: true });
      await body.cancel().catch(() => {});
      throw error;
    }
  }
}
