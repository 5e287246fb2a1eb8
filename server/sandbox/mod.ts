/**
 * Sandboxes of the local backend: one command per bubblewrap sandbox over an overlay of an
 * image's layers, with limits, live output and rusage, and more processes started in a
 * sandbox while its command runs.
 *
 * @example
 * ```ts
 * import { checkSandboxSupport, runSandbox } from "./server/sandbox/mod.ts";
 * const support = await checkSandboxSupport();
 * if (!support.ok) throw new Error(`missing: ${support.missing.join(", ")}`);
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./exec.ts";
export { helperPath } from "./_helper_path.ts";
export { type Launcher, LauncherPool } from "./launcher_pool.ts";
export { PASTA_ARGS } from "./_network.ts";
export * from "./run.ts";
export * from "./signals.ts";
