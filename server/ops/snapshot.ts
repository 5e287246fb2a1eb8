/** Snapshots: a finished run's workspace committed into a new image. */
import type { LayerStore } from "../images/layer_store.ts";
import { type ImageRecord, isoTime } from "../store/mod.ts";
import type { EventHub } from "./event_hub.ts";
import type { SpawnRequest } from "./spawn_request.ts";
import type { Outcome } from "./_outcome.ts";

/** What {@linkcode snapshotRun} touches. */
export interface SnapshotDeps {
  /** Commits, measures, flattens and removes layers. */
  layers: Pick<LayerStore, "commit" | "size" | "remove" | "flatten" | "maxDepth">;
  /** The operation's event log (`size_cap`). */
  hub: Pick<EventHub, "append">;
}

/** The run a snapshot is taken of. */
export interface SnapshotJob {
  /** Operation UUID (the new image's `operation_uuid`). */
  uuid: string;
  /** The image the run started from. */
  image: ImageRecord;
  /** The run's request (`preserve_env`, `env`). */
  request: SpawnRequest;
  /** The run's workspace, consumed by the commit. */
  workspaceId: string;
  /** Largest layer the run may leave (`max_layer_bytes`, or the server's cap); null: any. */
  maxLayerBytes: number | null;
}

/**
 * The error of a run that wrote more than its cap `max` (`written` bytes, or at least that).
 *
 * @example
 * ```ts
 * overCap(70_000_000, 67_108_864); // "the run wrote 70000000 bytes, over max_layer_bytes ..."
 * ```
 */
export function overCap(written: number, max: number, stopped = false): string {
  return `the run wrote ${stopped ? "more than " : ""}${written} bytes, over max_layer_bytes ` +
    `(${max} bytes)${stopped ? ": it was stopped while writing" : ""}`;
}

/**
 * Commits the workspace into a new image on top of the input image, filling `outcome`:
 * SUCCESS with the new image (or the input image itself when nothing changed), or FAILED
 * with a `size_cap` event when the layer is over `max_layer_bytes`. An image deeper than
 * the layer store allows is flattened into one layer.
 *
 * @example
 * ```ts
 * await snapshotRun(
 *   { layers, hub },
 *   { uuid, image, request, workspaceId, maxLayerBytes: 64 << 20 },
 *   outcome,
 * );
 * ```
 */
export async function snapshotRun(
  deps: SnapshotDeps,
  job: SnapshotJob,
  outcome: Outcome,
): Promise<void> {
  const { layers: store, hub } = deps;
  const { uuid, image, request } = job;
  const layer = await store.commit(job.workspaceId);
  const env = request.preserve_env ? { ...image.env, ...request.env } : image.env;
  const envChanged = JSON.stringify(env) !== JSON.stringify(image.env);
  if (layer === null && !envChanged) {
    outcome.status = "SUCCESS";
    outcome.resultImage = image.uuid;
    return;
  }
  let layers = layer === null ? image.layers : [...image.layers, layer];
  if (layer !== null) {
    outcome.imageSize = await store.size(layer);
    const max = job.maxLayerBytes;
    if (max !== null && outcome.imageSize > max) {
      hub.append(uuid, "size_cap", 1, { limit_bytes: max, file_size: outcome.imageSize });
      await store.remove(layer);
      outcome.status = "FAILED";
      outcome.error = overCap(outcome.imageSize, max);
      return;
    }
    if (layers.length > store.maxDepth) {
      layers = [await store.flatten(layers)];
      // The flat layer hard-links what it keeps; the run's own layer is no longer needed.
      await store.remove(layer);
    }
  }
  outcome.image = {
    uuid: crypto.randomUUID(),
    tag: null,
    created_at: isoTime(),
    operation_uuid: uuid,
    parent: image.uuid,
    layers,
    env,
    workdir: image.workdir,
  };
  outcome.status = "SUCCESS";
  outcome.resultImage = outcome.image.uuid;
}
