/**
 * Images of the local backend: immutable copy-on-write layers on disk, and reading an image
 * (a layer stack) without a sandbox.
 *
 * @example
 * ```ts
 * import { ImageView, LayerStore } from "./server/images/mod.ts";
 * const store = new LayerStore("/var/lib/contree");
 * await store.init();
 * const view = new ImageView([store.path(layerId)]);
 * ```
 *
 * @module
 */
export * from "./busybox.ts";
export * from "./errors.ts";
export * from "./fs_view.ts";
export * from "./layer_store.ts";
export * from "./layered_view.ts";
