/**
 * Image import for the local backend: from OCI distribution registries
 * ({@linkcode importFromRegistry}) and from `docker save` / OCI layout archives
 * ({@linkcode importArchive}) into the LayerStore, with references normalised as the ConTree
 * CLI does ({@linkcode normalizeReference}).
 *
 * @example
 * ```ts
 * const cache = new ImportCache(`${dataDir}/imports`);
 * await cache.init();
 * const { layers, config, digest } = await importFromRegistry({
 *   reference: normalizeReference("ubuntu:22.04").url,
 *   layerStore,
 *   cache,
 * });
 * ```
 *
 * @module
 */
export * from "./archive_import.ts";
export * from "./cache.ts";
export * from "./describe_progress.ts";
export * from "./errors.ts";
export * from "./import_options.ts";
export * from "./import_request.ts";
export * from "./reference.ts";
export * from "./registry_import.ts";
export * from "./types.ts";
