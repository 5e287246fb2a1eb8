/**
 * Imports into a data directory from local files (a root filesystem, a `docker save` or OCI
 * layout archive), as the `import-rootfs` and `import-archive` commands do; the data
 * directory is locked meanwhile, so no server may use it.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { LayerStore } from "./images/layer_store.ts";
import { describeProgress, importArchive, ImportCache } from "./registry/mod.ts";
import { ownerIds } from "./sandbox/rootless.ts";
import { claimOwnerIds, isoTime, lockDataDir, Store } from "./store/mod.ts";

/** What {@linkcode importRootfsInto} imports. */
export interface RootfsImport {
  /** The data directory. */
  dataDir: string;
  /** A directory or a tarball holding a root filesystem. */
  source: string;
  /** The tag the new image gets (moved from any image that had it). */
  tag: string;
}

/** What {@linkcode importArchiveInto} imports. */
export interface ArchiveImport extends RootfsImport {
  /** The image to pick from an archive holding several (`--name`). */
  name?: string;
  /** Called with each progress line. */
  log?: (line: string) => void;
}

/**
 * Imports a root filesystem as a new image with one layer and tags it; resolves with the
 * image's UUID. Throws `LayerError` for an unusable source.
 *
 * @example
 * ```ts
 * const uuid = await importRootfsInto({ dataDir: ".data", source: "rootfs.tar", tag: "base:1" });
 * ```
 */
export function importRootfsInto(options: RootfsImport): Promise<string> {
  return inLockedDataDir(
    options.dataDir,
    (store, layers) => storeRootfsImage(store, layers, resolve(options.source), options.tag),
  );
}

/**
 * Stores the root filesystem at `source` (a directory or a tarball) as a new image of one
 * layer and gives it `tag` (moved from any image that had it); resolves with its UUID.
 *
 * @example
 * ```ts
 * const uuid = await storeRootfsImage(store, layers, "/tmp/rootfs", "base:1");
 * ```
 */
export async function storeRootfsImage(
  store: Store,
  layers: LayerStore,
  source: string,
  tag: string,
): Promise<string> {
  const layer = await layers.importRootfs(source);
  const uuid = crypto.randomUUID();
  store.images.insert({
    uuid,
    tag: null,
    created_at: isoTime(),
    operation_uuid: null,
    parent: null,
    layers: [layer],
    env: {},
    workdir: "",
  });
  store.images.setTag(uuid, tag);
  return uuid;
}

/**
 * Imports an image archive (reusing an earlier image of the same content) and tags it;
 * resolves with the image's UUID and the archive's manifest digest. Throws `ImportError`.
 *
 * @example
 * ```ts
 * const { uuid } = await importArchiveInto({ dataDir: ".data", source: "app.tar", tag: "app:1" });
 * ```
 */
export function importArchiveInto(
  options: ArchiveImport,
): Promise<{ uuid: string; digest: string }> {
  return inLockedDataDir(options.dataDir, async (store, layers, dataDir) => {
    const cache = new ImportCache(join(dataDir, "imports"));
    await cache.init();
    const result = await importArchive({
      path: resolve(options.source),
      name: options.name,
      layerStore: layers,
      cache,
      onProgress: (event) => {
        const line = describeProgress(event);
        if (line) options.log?.(line.trimEnd());
      },
    });
    let image = store.images.byContent(result.layers, result.config.env, result.config.workdir);
    if (!image) {
      image = {
        uuid: crypto.randomUUID(),
        tag: null,
        created_at: isoTime(),
        operation_uuid: null,
        parent: null,
        layers: result.layers,
        env: result.config.env,
        workdir: result.config.workdir,
      };
      store.images.insert(image);
    }
    store.images.setTag(image.uuid, options.tag);
    return { uuid: image.uuid, digest: result.digest };
  });
}

/** Runs `work` on the data directory's store and layers, with the directory locked. */
async function inLockedDataDir<T>(
  dataDir: string,
  work: (store: Store, layers: LayerStore, dataDir: string) => Promise<T>,
): Promise<T> {
  const dir = resolve(dataDir);
  const unlock = lockDataDir(dir);
  const store = new Store(dir);
  try {
    claimOwnerIds(store.db, ownerIds());
    const layers = new LayerStore(dir);
    await layers.init();
    return await work(store, layers, dir);
  } finally {
    store.close();
    unlock();
  }
}
