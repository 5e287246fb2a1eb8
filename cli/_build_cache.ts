// `build`'s layer cache: the image each step made, found again by a hash of what made it (the
// spawn request: the image it ran on, the command, working directory, environment and files),
// so that a build run again reruns only the steps from the first one that changed. Kept per
// profile in `$CONTREE_HOME/cli/build-cache/PROFILE.json` (the official CLI keeps the same as
// `layer:<hash>` session branches); an entry counts only while its image exists on the server.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { writeTextAtomically } from "./_text_file.ts";

/** Entries kept: the most recently used. */
const MAX_ENTRIES = 2000;

/** Step hash → the image the step made. */
export class BuildCache {
  readonly path: string;
  #entries: Map<string, string>;
  #added = new Map<string, string>();

  private constructor(path: string, entries: Map<string, string>) {
    this.path = path;
    this.#entries = entries;
  }

  /** The cache at `path`; empty when there is no file or it cannot be read as one. */
  static async load(path: string): Promise<BuildCache> {
    return new BuildCache(path, await readEntries(path));
  }

  /** The hash of a step: of `request` as JSON. */
  static key(request: unknown): string {
    return createHash("sha256").update(JSON.stringify(request)).digest("hex");
  }

  get(key: string): string | undefined {
    return this.#entries.get(key);
  }

  /** Records (or refreshes) an entry, to be written by `save`. */
  set(key: string, image: string): void {
    this.#added.set(key, image);
    this.#entries.delete(key);
    this.#entries.set(key, image);
  }

  /**
   * Writes the entries set since `load` over what the file holds now (another build may have
   * written it meanwhile), dropping the least recently used past MAX_ENTRIES, atomically.
   */
  async save(): Promise<void> {
    if (this.#added.size === 0) return;
    const entries = await readEntries(this.path);
    for (const [key, image] of this.#added) {
      entries.delete(key);
      entries.set(key, image);
    }
    const kept = [...entries].slice(-MAX_ENTRIES);
    await writeTextAtomically(this.path, JSON.stringify(Object.fromEntries(kept)));
    this.#added.clear();
  }
}

async function readEntries(path: string): Promise<Map<string, string>> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8"));
    return new Map(
      Object.entries(parsed).filter((entry): entry is [string, string] =>
        typeof entry[1] === "string"
      ),
    );
  } catch {
    return new Map();
  }
}
