/**
 * The options of {@linkcode createGateway}.
 *
 * @module
 */
import * as v from "valibot";
import { type GatewayKey, GatewayKeySchema } from "./keys.ts";

/**
 * One access-log entry. Holds no secrets: no headers, no query, no body.
 *
 * @example
 * ```ts
 * import type { AccessLogEntry } from "./options.ts";
 *
 * const slow = (entry: AccessLogEntry) => entry.durationMs > 1000;
 * ```
 */
export interface AccessLogEntry {
  /** ISO-8601 time the request arrived. */
  ts: string;
  /** The `X-Request-Id` of the exchange. */
  requestId: string;
  /** The request method. */
  method: string;
  /** The matched route pattern, e.g. `/images/:ref/files/*`; `""` when nothing matched. */
  route: string;
  /** The response status. */
  status: number;
  /** Body bytes sent to the client; `null` when the client went away and the count is unknown. */
  bytes: number | null;
  /** Milliseconds from the request to the end of the response body. */
  durationMs: number;
  /** `true` when the client went away before the body ended. */
  aborted?: boolean;
  /** For 5xx answers: the class name of the error behind it (never its message). */
  error?: string;
}

/**
 * Where the gateway sends its requests: a ConTree API (the real one or the local backend).
 *
 * @example
 * ```ts
 * import type { UpstreamOptions } from "./options.ts";
 *
 * const upstream: UpstreamOptions = { url: "http://127.0.0.1:8080", token: "t", timeout: 10_000 };
 * ```
 */
export interface UpstreamOptions {
  /** The API base URL, e.g. `http://127.0.0.1:8080` (the client appends `/v1`). */
  url: string;
  /** The upstream bearer token. It never appears in a response or a log line. */
  token: string;
  /** The upstream project, for IAM tokens. */
  project?: string;
  /** Per-request timeout in milliseconds (default 30 000); a timeout answers 504. */
  timeout?: number;
  /** The `fetch` to use upstream (default: the global one). */
  fetch?: typeof fetch;
}

/**
 * Cross-origin access for browser clients.
 *
 * @example
 * ```ts
 * import type { CorsOptions } from "./options.ts";
 *
 * const cors: CorsOptions = { origins: ["https://app.example.com"], maxAge: 3600 };
 * ```
 */
export interface CorsOptions {
  /** Allowed origins, or `*` for any. */
  origins: readonly string[] | "*";
  /** How long a preflight may be cached, in seconds (default 600). */
  maxAge?: number;
}

/**
 * The options of the gateway.
 *
 * @example
 * ```ts
 * import type { GatewayOptions } from "./options.ts";
 *
 * const options: GatewayOptions = {
 *   upstream: { url: "http://127.0.0.1:8080", token: "upstream-token" },
 *   keys: [{ key: "k_admin_0123456789abcdef", scope: "write" }],
 *   cors: { origins: ["https://app.example.com"] },
 * };
 * ```
 */
export interface GatewayOptions {
  /** The ConTree API behind the gateway. */
  upstream: UpstreamOptions;
  /** The API keys clients present as `Authorization: Bearer <key>`; at least one. */
  keys: readonly GatewayKey[];
  /** CORS; off when absent. */
  cors?: CorsOptions;
  /** Receives one access-log entry per request (default: a JSON line on `console.log`). */
  log?: (entry: AccessLogEntry) => void;
}

/**
 * The schema that `createGateway` checks its options against.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { GatewayOptionsSchema } from "./options.ts";
 *
 * const ok = v.is(GatewayOptionsSchema, { upstream: { url: "http://x", token: "t" }, keys: [] }); // false
 * ```
 */
export const GatewayOptionsSchema: v.GenericSchema<GatewayOptions> = v.object({
  upstream: v.object({
    url: v.pipe(v.string(), v.url("upstream.url must be a URL"), v.regex(/^https?:/i)),
    token: v.pipe(v.string(), v.minLength(1, "upstream.token is empty")),
    project: v.optional(v.string()),
    timeout: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
    fetch: v.optional(v.custom<typeof fetch>((f) => typeof f === "function")),
  }),
  keys: v.pipe(v.array(GatewayKeySchema), v.minLength(1, "at least one API key is needed")),
  cors: v.optional(v.object({
    origins: v.union([v.literal("*"), v.array(v.pipe(v.string(), v.url()))]),
    maxAge: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  })),
  log: v.optional(v.custom<(entry: AccessLogEntry) => void>((f) => typeof f === "function")),
});
