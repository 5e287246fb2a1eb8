/**
 * A session store that keeps each session as a JSON file in a directory.
 *
 * @module
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "pathe";
import type { SessionSnapshot, SessionStore } from "../src/sdk/session_store.ts";

/**
 * Keeps sessions as `<dir>/<id>.json` (the id URI-encoded), written
 * atomically (a temporary file, then a rename), so a session survives the
 * process and can be resumed with `ContreeSession.load()`.
 *
 * @example
 * ```ts
 * import { Contree, ContreeSession } from "@contree/sdk";
 * import { FileSessionStore } from "@contree/sdk/local";
 *
 * const contree = new Contree({ baseUrl: "http://127.0.0.1:8080", token: "t" });
 * const store = new FileSessionStore(".contree/sessions");
 * const busybox = await contree.images.use("busybox:latest");
 * const session = busybox.session({ store, id: "build" });
 * await session.run({ shell: "echo step > /log" });
 * // later, maybe in another process:
 * const resumed = await ContreeSession.load(contree, "build", { store });
 * ```
 */
export class FileSessionStore implements SessionStore {
  /** The directory holding the files. */
  readonly dir: string;

  /** A store in `dir` (created on the first save). */
  constructor(dir: string) {
    this.dir = dir;
  }

  #path(id: string): string {
    return join(this.dir, `${encodeURIComponent(id)}.json`);
  }

  /** The snapshot saved under `id`, or `undefined`. */
  async load(id: string): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(this.#path(id), "utf8");
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return undefined;
      throw error;
    }
    return JSON.parse(text);
  }

  /** Saves a snapshot, atomically. */
  async save(snapshot: SessionSnapshot): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const path = this.#path(snapshot.id);
    const temporary = `${path}.${crypto.randomUUID()}.tmp`;
    await writeFile(temporary, JSON.stringify(snapshot, null, 2));
    await rename(temporary, path);
  }

  /** Deletes a session's file; nothing happens when there is none. */
  async delete(id: string): Promise<void> {
    await rm(this.#path(id), { force: true });
  }
}
