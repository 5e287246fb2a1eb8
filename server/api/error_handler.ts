/** The app-wide handlers for thrown errors and unknown routes. */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { errorStatus } from "./error_status.ts";
import { errorResponse } from "./http_error.ts";

/**
 * Turns thrown errors into wire error bodies with the status of the error table
 * (`errorStatus`); anything else is a bug, logged and answered with 500.
 *
 * @example
 * ```ts
 * app.onError(onError);
 * ```
 */
export const onError: ErrorHandler = (error: Error, c: Context) => {
  const answer = errorStatus(error);
  if (answer) {
    return errorResponse(c, answer.status, answer.message ?? error.message, answer.headers);
  }
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
