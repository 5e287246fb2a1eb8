/**
 * The typed ConTree wire client and its helpers: one method per REST endpoint,
 * valibot-validated responses, typed errors, retries, timeouts and aborts, and
 * a resuming event-stream follower. Web APIs only.
 *
 * @example
 * ```ts
 * import { ContreeClient } from "@contree/sdk";
 *
 * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
 * console.log((await client.whoami()).permissions);
 * ```
 *
 * @module
 */
export * from "./byte_range.ts";
export * from "./client.ts";
export * from "./errors.ts";
export * from "./event_decoder.ts";
export * from "./events.ts";
export * from "./file_mode.ts";
export * from "./hash.ts";
export * from "./image_ref.ts";
export * from "./operation_status.ts";
export * from "./resources.ts";
export * from "./retry.ts";
export * from "./sse.ts";
export * from "./stream_repr.ts";
export * from "./types.ts";
