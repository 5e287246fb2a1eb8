/**
 * What imports remember, under one directory (e.g. `<data dir>/imports`):
 * - `layers/<alg>-<hex>.json`: the LayerStore layer holding the layer whose uncompressed
 *   digest (`diff_id`) is that, so a layer shared by images, tags or archives is downloaded
 *   and unpacked once;
 * - `images/<alg>-<hex>.json`: the result of importing the image whose manifest digest is
 *   that, so re-importing an unchanged image costs a manifest request;
 * - `tmp/`: layers being unpacked and files being written; everything there is garbage once
 *   no import runs, and {@linkcode ImportCache.init} removes it.
 *
 * Records are written to `tmp/` and renamed into place, and written only after what they point
 * at is complete, so a crash leaves either a complete record or none. A record whose layers
 * are gone from the LayerStore counts as absent.
 */
import * as v from "valibot";
import type { LayerStore } from "../images/layer_store.ts";
import type { ImportResult } from "./types.ts";

/** A layer known to the cache. */
export interface CachedLayer {
  /** LayerStore id. */
  layer: string;
  /** The layer hides every layer below it (an opaque root). */
  rootOpaque: boolean;
}

/** An imported image as remembered: an {@linkcode ImportResult} without `cached`. */
export type CachedImage = Omit<ImportResult, "cached">;

const CachedLayerSchema: v.GenericSchema<CachedLayer> = v.object({
  layer: v.string(),
  rootOpaque: v.boolean(),
});

const CachedImageSchema: v.GenericSchema<CachedImage> = v.object({
  digest: v.string(),
  layers: v.array(v.string()),
  config: v.object({
    env: v.record(v.string(), v.string()),
    workdir: v.string(),
    user: v.string(),
    entrypoint: v.array(v.string()),
    cmd: v.array(v.string()),
    labels: v.record(v.string(), v.string()),
    os: v.string(),
    architecture: v.string(),
  }),
  size: v.number(),
});

function fileName(digest: string): string {
  return `${digest.replace(":", "-")}.json`;
}

async function layerExists(store: LayerStore, id: string): Promise<boolean> {
  try {
    await Deno.stat(store.path(id));
    return true;
  } catch {
    return false;
  }
}

/**
 * The import cache under `dir`. Call {@linkcode init} once at start-up, before any import.
 *
 * @example
 * ```ts
 * const cache = new ImportCache(`${dataDir}/imports`);
 * await cache.init(); // also removes what a crashed import left in tmp/
 * const result = await importFromRegistry({ reference, layerStore, cache, insecureRegistries: [] });
 * ```
 */
export class ImportCache {
  readonly #tmp: string;
  readonly #layers: string;
  readonly #images: string;
  readonly #locks = new Map<string, Promise<unknown>>();

  /** A cache under `dir` (created by {@linkcode init}). */
  constructor(dir: string) {
    const root = dir.replace(/\/+$/, "");
    this.#tmp = `${root}/tmp`;
    this.#layers = `${root}/layers`;
    this.#images = `${root}/images`;
  }

  /** Creates the directories and removes what interrupted imports left in `tmp/`. */
  async init(): Promise<void> {
    for (const dir of [this.#tmp, this.#layers, this.#images]) {
      await Deno.mkdir(dir, { recursive: true });
    }
    for await (const entry of Deno.readDir(this.#tmp)) {
      await Deno.remove(`${this.#tmp}/${entry.name}`, { recursive: true });
    }
  }

  /** A fresh, empty directory under `tmp/` (the caller removes it). */
  async tempDir(): Promise<string> {
    const dir = `${this.#tmp}/${crypto.randomUUID()}`;
    await Deno.mkdir(dir, { mode: 0o755 });
    await Deno.chmod(dir, 0o755);
    return dir;
  }

  /** The layer whose uncompressed digest is `diffId`, if it is still in `store`. */
  async layer(diffId: string, store: LayerStore): Promise<CachedLayer | null> {
    const entry = await this.#read(`${this.#layers}/${fileName(diffId)}`, CachedLayerSchema);
    return entry && await layerExists(store, entry.layer) ? entry : null;
  }

  /** Remembers that `entry` holds the layer whose uncompressed digest is `diffId`. */
  async saveLayer(diffId: string, entry: CachedLayer): Promise<void> {
    await this.#write(`${this.#layers}/${fileName(diffId)}`, entry);
  }

  /** The import of the image with manifest digest `digest`, if all its layers are in `store`. */
  async image(digest: string, store: LayerStore): Promise<CachedImage | null> {
    const entry = await this.#read(`${this.#images}/${fileName(digest)}`, CachedImageSchema);
    if (!entry) return null;
    for (const layer of entry.layers) if (!await layerExists(store, layer)) return null;
    return entry;
  }

  /** Remembers an imported image (keyed by its digest). */
  async saveImage(entry: CachedImage): Promise<void> {
    await this.#write(`${this.#images}/${fileName(entry.digest)}`, entry);
  }

  /** Every LayerStore layer a record points at (layers kept for later imports count too). */
  async layerIds(): Promise<Set<string>> {
    const ids = new Set<string>();
    for await (const entry of Deno.readDir(this.#layers)) {
      const record = await this.#read(`${this.#layers}/${entry.name}`, CachedLayerSchema);
      if (record) ids.add(record.layer);
    }
    for await (const entry of Deno.readDir(this.#images)) {
      const record = await this.#read(`${this.#images}/${entry.name}`, CachedImageSchema);
      for (const layer of record?.layers ?? []) ids.add(layer);
    }
    return ids;
  }

  /** Runs `task` once no other task of the same `key` runs (within this process). */
  async exclusive<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    const current = previous.catch(() => {}).then(task);
    this.#locks.set(key, current);
    try {
      return await current;
    } finally {
      if (this.#locks.get(key) === current) this.#locks.delete(key);
    }
  }

  async #read<T>(path: string, schema: v.GenericSchema<T>): Promise<T | null> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return null; // A torn write: as good as no record.
    }
    const parsed = v.safeParse(schema, json);
    return parsed.success ? parsed.output : null;
  }

  async #write(path: string, value: unknown): Promise<void> {
    const temp = `${this.#tmp}/${crypto.randomUUID()}.json`;
    await Deno.writeTextFile(temp, JSON.stringify(value));
    await Deno.rename(temp, path);
  }
}
