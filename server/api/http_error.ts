/** Client-facing errors and the wire's error body. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * An error that becomes the response `{"error": message, "status": status}`.
 *
 * @example
 * ```ts
 * throw new HttpError(404, "image not found");
 * ```
 */
export class HttpError extends Error {
  /** HTTP status. */
  readonly status: ContentfulStatusCode;
  /** Extra response headers (e.g. `Retry-After`). */
  readonly headers: Record<string, string>;

  /** Builds the error. */
  constructor(status: ContentfulStatusCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.headers = headers;
  }
}

/**
 * Answers with the wire's error body.
 *
 * @example
 * ```ts
 * return errorResponse(c, 409, "operation is not cancellable");
 * ```
 */
export function errorResponse(
  c: Context,
  status: ContentfulStatusCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return c.json({ error: message, status }, status, headers);
}
