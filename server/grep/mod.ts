/**
 * Image grep for the local backend (`GET /v1/inspect/{uuid}/grep`): ripgrep-like search of
 * an image's files without a sandbox, answered in the shape of `rg --json` lines.
 *
 * @example
 * ```ts
 * import { grepImage, parseGrepQuery } from "./server/grep/mod.ts";
 * import { LayeredView } from "./server/images/mod.ts";
 *
 * const view = new LayeredView(image.layers.map((id) => layerStore.path(id)));
 * const result = await grepImage(view, parseGrepQuery({ pattern: ["root"], path: ["/etc"] }));
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./glob.ts";
export * from "./glob_filter.ts";
export * from "./matcher.ts";
export * from "./request.ts";
export * from "./result.ts";
export * from "./search.ts";
export * from "./smart_case.ts";
