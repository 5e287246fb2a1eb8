/**
 * The sidecar of a committed layer, `<layer dir>.json`: facts about the layer that a plain
 * directory walk cannot give cheaply from Deno (overlayfs keeps opaque markers in
 * `trusted.overlay.opaque` xattrs). A layer without a sidecar has no opaque directories.
 */
import * as v from "valibot";

/** What a layer's sidecar records. */
export interface LayerMeta {
  /** Directories (image paths without the leading slash) that hide lower layers' contents. */
  opaque: string[];
  /** Bytes of the layer's regular files and symlinks. */
  bytes: number;
}

const LayerMetaSchema: v.GenericSchema<LayerMeta> = v.object({
  opaque: v.array(v.string()),
  bytes: v.number(),
});

/** The sidecar's host path for the layer at `layerDir`. */
export function metaPath(layerDir: string): string {
  return `${layerDir.replace(/\/+$/, "")}.json`;
}

/** Reads the sidecar of `layerDir`; `null` when the layer has none. */
export async function readLayerMeta(layerDir: string): Promise<LayerMeta | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(metaPath(layerDir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  return v.parse(LayerMetaSchema, JSON.parse(text));
}
