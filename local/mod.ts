/**
 * Client configuration from the local machine: environment variables and the
 * `auth.ini` profiles of the ConTree CLI. Uses `node:` APIs that Deno, Bun and
 * Node provide; not for browsers or Workers.
 *
 * @example
 * ```ts
 * import { ContreeClient } from "@contree/sdk";
 * import { clientOptionsFromEnv, clientOptionsFromProfile } from "@contree/sdk/local";
 *
 * const options = process.env.CONTREE_TOKEN ? clientOptionsFromEnv() : await clientOptionsFromProfile();
 * const client = new ContreeClient(options);
 * ```
 *
 * @module
 */
export * from "./env.ts";
export * from "./errors.ts";
export * from "./ini.ts";
export * from "./profile.ts";
export * from "./contree.ts";
export * from "./download.ts";
export * from "./session_store.ts";
