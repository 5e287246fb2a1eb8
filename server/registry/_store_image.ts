/**
 * The part of an import shared by registries and archives: once the manifest and config are
 * known, store the layers (a few at a time), assemble the result and remember it.
 */
import type { CachedLayer } from "./cache.ts";
import { InvalidImageError, UnsupportedImageError } from "./errors.ts";
import { type LayerSource, storeLayer } from "./_layer.ts";
import {
  checkImageManifest,
  type Descriptor,
  type Manifest,
  MAX_CONFIG_BYTES,
  parseImageConfig,
} from "./_manifest.ts";
import type { ImportOptions } from "./import_options.ts";
import type { ImageConfig, ImportResult } from "./types.ts";

/** Layers downloaded and unpacked at once. */
const PARALLEL = 3;
/** Bytes between two `downloading` progress events of a layer. */
const PROGRESS_STEP = 4 << 20;

/** An image whose manifest and config are known. */
export interface ImagePlan {
  /** See {@linkcode ImportResult.digest}. */
  digest: string;
  config: ImageConfig;
  /** Lowest first. */
  layers: LayerSource[];
}

/**
 * The plan of the image `manifest` (whose digest is `digest`) describes: the manifest
 * checked, its config read with `readConfig` (at most {@linkcode MAX_CONFIG_BYTES}) and
 * parsed, each layer paired with its `diff_id` and opened with `open`.
 */
export async function planImage(
  manifest: Manifest,
  digest: string,
  what: string,
  readConfig: (descriptor: Descriptor, limit: number, what: string) => Promise<Uint8Array>,
  open: (descriptor: Descriptor, what: string) => LayerSource["open"],
): Promise<ImagePlan> {
  checkImageManifest(manifest, what);
  const configWhat = `${what} config`;
  const bytes = await readConfig(manifest.config, MAX_CONFIG_BYTES, configWhat);
  const { config, diffIds } = parseImageConfig(bytes, configWhat);
  if (diffIds.length !== manifest.layers.length) {
    throw new InvalidImageError(
      `${what}: ${manifest.layers.length} layers but ${diffIds.length} diff_ids in the config`,
    );
  }
  return {
    digest,
    config,
    layers: manifest.layers.map((descriptor, index) => {
      const layerWhat = `${what} layer ${index} (${descriptor.digest})`;
      return {
        diffId: diffIds[index],
        size: descriptor.size,
        what: layerWhat,
        open: open(descriptor, layerWhat),
      };
    }),
  };
}

/** The remembered result of the image with `digest`, as a cached import, if there is one. */
export async function cachedImport(
  digest: string,
  options: ImportOptions,
): Promise<ImportResult | null> {
  const known = await options.cache.image(digest, options.layerStore);
  if (!known) return null;
  options.onProgress?.({ kind: "done", digest, cached: true });
  return { ...known, cached: true };
}

/** A second LayerStore layer with the content of `layer`, remembered under `key`. */
function copyLayer(layer: string, key: string, options: ImportOptions): Promise<string> {
  const { cache, layerStore } = options;
  return cache.exclusive(`layer ${key}`, async () => {
    const known = await cache.layer(key, layerStore);
    if (known) return known.layer;
    const copy = await layerStore.importRootfs(layerStore.path(layer));
    await cache.saveLayer(key, { layer: copy, rootOpaque: false });
    return copy;
  });
}

/**
 * The LayerStore stack of an image from its stored layers: from the last layer with an
 * opaque root up (it hides everything below); a layer equal to the one below it dropped
 * (applying a layer twice changes nothing); a layer repeated further up given a copy of its
 * own (overlayfs refuses a directory twice in one stack); flattened into one layer when
 * deeper than the LayerStore allows.
 */
async function stack(
  plan: ImagePlan,
  stored: CachedLayer[],
  options: ImportOptions,
): Promise<string[]> {
  const bottom = Math.max(stored.findLastIndex((layer) => layer.rootOpaque), 0);
  const layers: string[] = [];
  const seen = new Map<string, number>();
  for (let i = bottom; i < stored.length; i++) {
    const diffId = plan.layers[i].diffId;
    if (i > bottom && diffId === plan.layers[i - 1].diffId) continue;
    const count = seen.get(diffId) ?? 0;
    seen.set(diffId, count + 1);
    layers.push(
      count === 0
        ? stored[i].layer
        : await copyLayer(stored[i].layer, `${diffId}#${count}`, options),
    );
  }
  const { layerStore } = options;
  return layers.length > layerStore.maxDepth ? [await layerStore.flatten(layers)] : layers;
}

/**
 * Stores every layer of `plan` (cached ones are reused) and returns the image. On failure or
 * abort the other layers are stopped and waited for before the error is thrown, so nothing
 * is left half-written; layers completed by then stay in the cache for the next attempt.
 */
export async function storeImage(plan: ImagePlan, options: ImportOptions): Promise<ImportResult> {
  const { layerStore, cache, onProgress } = options;
  const controller = new AbortController();
  const signal = options.signal
    ? AbortSignal.any([options.signal, controller.signal])
    : controller.signal;
  signal.throwIfAborted();
  if (plan.layers.length === 0) throw new UnsupportedImageError("the image has no layers");
  onProgress?.({
    kind: "manifest",
    digest: plan.digest,
    layers: plan.layers.length,
    bytes: plan.layers.reduce((n, layer) => n + layer.size, 0),
  });
  const stored: CachedLayer[] = [];
  let failure: { error: unknown } | undefined;
  let next = 0;
  const work = async () => {
    while (failure === undefined && next < plan.layers.length) {
      const index = next++;
      const source = plan.layers[index];
      let received = 0;
      let reported = -PROGRESS_STEP;
      const event = (state: "cached" | "downloading" | "done") =>
        onProgress?.({
          kind: "layer",
          index,
          diffId: source.diffId,
          state,
          received,
          size: source.size,
        });
      const onBytes = (n: number) => {
        received += n;
        if (received - reported < PROGRESS_STEP) return;
        reported = received;
        event("downloading");
      };
      try {
        const layer = await storeLayer(source, { layerStore, cache, signal }, onBytes);
        stored[index] = layer;
        event(layer.cached ? "cached" : "done");
      } catch (error) {
        if (failure === undefined) {
          failure = { error };
          controller.abort(error);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, plan.layers.length) }, work));
  if (failure !== undefined) {
    options.signal?.throwIfAborted();
    throw failure.error;
  }
  const layers = await stack(plan, stored, options);
  let size = 0;
  for (const layer of layers) size += await layerStore.size(layer);
  const result = { digest: plan.digest, layers, config: plan.config, size };
  await cache.saveImage(result);
  onProgress?.({ kind: "done", digest: plan.digest, cached: false });
  return { ...result, cached: false };
}
