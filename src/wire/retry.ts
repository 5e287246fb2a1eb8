/**
 * The retry policy of the wire client (wire protocol 6.3).
 *
 * Idempotent methods (GET, HEAD, PUT, DELETE) are replayed on 410, 425, 429,
 * any 5xx but 501 and 505, and network errors; POST and PATCH only on 425 and 429, which mean
 * the request was rejected before any processing. Delays follow a ladder
 * (0.1, 0.2, 0.5, 1, 2, 5 s, the last repeating) unless the server sends
 * `Retry-After`. A refused connection (nothing listens at the URL) is retried
 * for about 1.5 s only, so a wrong URL fails at once while a restarting server
 * is waited for. Timeouts are never retried, and neither are requests whose
 * body is a `ReadableStream` (it cannot be replayed): pass a `Uint8Array` or a
 * `Blob` to get retries on uploads.
 *
 * @module
 */

/**
 * Options of the retry policy; `retry: false` in the client options turns it off.
 *
 * @example
 * ```ts
 * import { ContreeClient } from "@contree/sdk";
 *
 * const client = new ContreeClient({
 *   baseUrl: "http://127.0.0.1:8080",
 *   retry: { maxAttempts: 4, delays: [250, 1_000], deadline: 10_000 },
 * });
 * ```
 */
export interface RetryOptions {
  /** Most attempts per call, the first included. Default 10. */
  maxAttempts?: number;
  /** Delays between attempts in milliseconds; the last repeats. Default 100, 200, 500, 1000, 2000, 5000. */
  delays?: readonly number[];
  /** Total time budget of a call's attempts and waits in milliseconds. Default 120 000. */
  deadline?: number;
  /** Also replay POST and PATCH on 410 and 5xx (they may have had effects). Default false. */
  retryUnsafe?: boolean;
}

/**
 * The default delay ladder in milliseconds.
 *
 * @example
 * ```ts
 * import { DEFAULT_RETRY_DELAYS } from "@contree/sdk";
 *
 * console.log(DEFAULT_RETRY_DELAYS); // [100, 200, 500, 1000, 2000, 5000]
 * ```
 */
export const DEFAULT_RETRY_DELAYS: readonly number[] = [100, 200, 500, 1000, 2000, 5000];
