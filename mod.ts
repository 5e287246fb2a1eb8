/**
 * TypeScript SDK for ConTree sandboxes: run commands in isolated instances whose
 * filesystems are saved as immutable images.
 *
 * @module
 */

export { VERSION } from "./src/version.ts";

export * from "./src/wire/mod.ts";
export * from "./src/sdk/mod.ts";
