/**
 * The gateway's view of the ConTree API: one wire client, image resolution, and the mapping
 * of upstream failures to gateway statuses.
 *
 * @module
 */
import {
  ContreeApiError,
  ContreeClient,
  ContreeNetworkError,
  ContreeTimeoutError,
  isUuid,
  NotFoundError,
  ResponseValidationError,
} from "../../mod.ts";
import type { ImageRef } from "./_paths.ts";
import { Problem } from "./_problem.ts";
import type { UpstreamOptions } from "./options.ts";

/**
 * Builds the wire client for `options` (retrying idempotent calls briefly: 3 attempts within
 * 2 s). Downloads and archives are requested with `Accept-Encoding: identity`
 * (`compressedDownloads: false`): the gateway needs the exact `Content-Length` for ranges, and
 * re-compressing a large file chunk by chunk upstream only to decode it here wastes both ends.
 *
 * @example
 * ```ts
 * import { upstreamClient } from "./_upstream.ts";
 *
 * const client = upstreamClient({ url: "http://127.0.0.1:8080", token: "t" });
 * ```
 */
export function upstreamClient(options: UpstreamOptions): ContreeClient {
  return new ContreeClient({
    baseUrl: options.url,
    token: options.token,
    project: options.project,
    timeout: options.timeout ?? 30_000,
    // A gateway fails fast and lets its clients decide: a few quick retries of idempotent
    // calls on 5xx or network errors, two seconds at most.
    retry: { maxAttempts: 3, delays: [100, 300], deadline: 2_000 },
    compressedDownloads: false,
    // Bodies pass through as the runtime's own streams, so each runtime pipes them natively
    // (no chunk through JavaScript); a stalled upstream is ended by the client going away.
    streamIdleTimeout: false,
    ...(options.fetch && { fetch: options.fetch }),
  });
}

/**
 * Runs an upstream call and turns its failures into {@linkcode Problem}s: 404 stays 404 (with
 * `notFound` as the detail), 409 and 422 pass through, upstream 5xx and network failures are
 * 502, upstream timeouts 504, throttling 503. Upstream auth failures are the gateway's own
 * misconfiguration: 502, never 401.
 *
 * @example
 * ```ts
 * import { upstream, upstreamClient } from "./_upstream.ts";
 *
 * const client = upstreamClient({ url: "http://127.0.0.1:8080", token: "t" });
 * const image = await upstream(() => client.inspectImage("0b8e5f8e-2b7c-4f55-9d57-8d0c2a3a8b51"), "no such image");
 * ```
 */
export async function upstream<T>(call: () => Promise<T>, notFound = "not found"): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toProblem(error, notFound);
  }
}

/**
 * Maps any error to a {@linkcode Problem} (see {@linkcode upstream}); unknown errors become 500.
 *
 * @example
 * ```ts
 * import { toProblem } from "./_upstream.ts";
 *
 * console.log(toProblem(new Error("boom")).status); // 500
 * ```
 */
export function toProblem(error: unknown, notFound = "not found"): Problem {
  if (error instanceof Problem) return error;
  if (error instanceof NotFoundError) return new Problem(404, notFound, { cause: error });
  if (error instanceof ContreeTimeoutError) {
    return new Problem(504, "the ConTree API did not answer in time", { cause: error });
  }
  if (error instanceof ContreeNetworkError || error instanceof ResponseValidationError) {
    return new Problem(502, "the ConTree API could not be reached or answered badly", {
      cause: error,
    });
  }
  if (error instanceof ContreeApiError) {
    const status = error.status;
    if (status === 409) {
      return new Problem(409, "conflict: the request clashes with the current state");
    }
    if (status === 422) return new Problem(422, "the path cannot be used that way (a directory?)");
    if (status === 400) return new Problem(400, "the ConTree API rejected the request");
    if (status === 425 || status === 429 || status === 410) {
      const retry: Record<string, string> = {};
      if (error.retryAfter !== undefined) {
        retry["retry-after"] = String(Math.ceil(error.retryAfter));
      }
      return new Problem(503, "the ConTree API is busy; retry later", {
        headers: retry,
        cause: error,
      });
    }
    return new Problem(502, `the ConTree API failed (${status})`, { cause: error });
  }
  return new Problem(500, "internal error", { cause: error });
}

/**
 * The UUID an image reference names: a UUID as is, a tag through the API (404 when unknown).
 *
 * @example
 * ```ts
 * import { resolveRef, upstreamClient } from "./_upstream.ts";
 *
 * const client = upstreamClient({ url: "http://127.0.0.1:8080", token: "t" });
 * const uuid = await resolveRef(client, { tag: "busybox:latest" });
 * ```
 */
export async function resolveRef(client: ContreeClient, ref: ImageRef): Promise<string> {
  if ("uuid" in ref) return ref.uuid;
  const uuid = await upstream(() => client.findImageByTag(ref.tag), "no image has this tag");
  if (!isUuid(uuid)) throw new Problem(502, "the ConTree API answered badly");
  return uuid.toLowerCase();
}
