/**
 * The HTTP API of the local backend (Hono): the ConTree wire protocol under `/v1`.
 *
 * @module
 */
export { createApp } from "./app.ts";
export { acceptsGzip, gzip } from "./gzip.ts";
export { bearerAuth } from "./auth.ts";
export type { ApiContext } from "./context.ts";
export { onError, onNotFound } from "./error_handler.ts";
export { errorResponse, HttpError } from "./http_error.ts";
