/** Bearer-token authentication. */
import type { MiddlewareHandler } from "hono";
import { timingSafeEqual } from "node:crypto";
import { errorResponse } from "./http_error.ts";

/**
 * Requires `Authorization: Bearer <token>` (compared in constant time); otherwise answers
 * 401 with the wire's error body. A `Project` header is accepted and ignored.
 *
 * @example
 * ```ts
 * app.use("*", bearerAuth("s3cret"));
 * ```
 */
export function bearerAuth(token: string): MiddlewareHandler {
  const expected = new TextEncoder().encode(token);
  return async (c, next) => {
    const header = c.req.header("Authorization") ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    const given = new TextEncoder().encode(match?.[1] ?? "");
    if (given.byteLength !== expected.byteLength || !timingSafeEqual(given, expected)) {
      return errorResponse(
        c,
        401,
        match ? "invalid bearer token" : "missing bearer token (Authorization: Bearer <token>)",
        { "WWW-Authenticate": "Bearer" },
      );
    }
    await next();
  };
}
