/** What every import takes: where the image goes, the cache, cancellation and progress. */
import type { LayerStore } from "../images/layer_store.ts";
import type { ImportCache } from "./cache.ts";
import type { ImportProgress } from "./types.ts";

/** Where an import stores the image, and who hears about it (every import takes these). */
export interface ImportOptions {
  /** Receives the layers. */
  layerStore: LayerStore;
  /** Remembers layers and images by digest (see {@linkcode ImportCache}). */
  cache: ImportCache;
  /** Aborting cancels the import; it then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called as the import goes (`describeProgress` turns events into text). */
  onProgress?: (event: ImportProgress) => void;
}
