/** The app-wide handlers for thrown errors and unknown routes. */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { BodyTooLargeError } from "../store/mod.ts";
import { errorResponse, HttpError } from "./http_error.ts";

function isDiskFull(error: unknown): boolean {
  const e = error as { code?: unknown; errcode?: unknown; message?: unknown };
  return e?.code === "ENOSPC" || e?.errcode === 13 ||
    /ENOSPC|No space left|database or disk is full/i.test(String(e?.message ?? ""));
}

/**
 * Turns thrown errors into wire error bodies: {@linkcode HttpError} as given, an oversized
 * body as 413, a full disk as 507; anything else is a bug, logged and answered with 500.
 *
 * @example
 * ```ts
 * app.onError(onError);
 * ```
 */
export const onError: ErrorHandler = (error: Error, c: Context) => {
  if (error instanceof HttpError) {
    return errorResponse(c, error.status, error.message, error.headers);
  }
  if (error instanceof BodyTooLargeError) return errorResponse(c, 413, error.message);
  if (isDiskFull(error)) return errorResponse(c, 507, "insufficient storage: the disk is full");
  console.error(`${c.req.method} ${c.req.path}:`, error);
  return errorResponse(c, 500, "internal server error");
};

/**
 * Answers unknown routes with a 404 error body.
 *
 * @example
 * ```ts
 * app.notFound(onNotFound);
 * ```
 */
export const onNotFound: NotFoundHandler = (c: Context) =>
  errorResponse(c, 404, `no route for ${c.req.method} ${c.req.path}`);
