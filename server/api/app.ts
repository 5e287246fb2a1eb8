/** The Hono app of the local backend. */
import { Hono } from "hono";
import { bearerAuth } from "./auth.ts";
import type { ApiContext } from "./context.ts";
import { onError, onNotFound } from "./error_handler.ts";
import { gzip } from "./gzip.ts";
import { fileRoutes } from "./routes/files.ts";
import { imageRoutes } from "./routes/images.ts";
import { inspectRoutes } from "./routes/inspect.ts";
import { instanceRoutes } from "./routes/instances.ts";
import { operationRoutes } from "./routes/operations.ts";
import { whoamiRoutes } from "./routes/whoami.ts";

/**
 * Builds the ConTree-compatible API: every route under `/v1`, gzip negotiation, bearer
 * auth, wire error bodies.
 *
 * @example
 * ```ts
 * Deno.serve({ port: 8080 }, createApp(ctx).fetch);
 * ```
 */
export function createApp(ctx: ApiContext): Hono {
  const app = new Hono();
  app.onError(onError);
  app.notFound(onNotFound);
  app.use("*", gzip());
  app.use("*", bearerAuth(ctx.token));
  for (
    const routes of [
      whoamiRoutes,
      imageRoutes,
      fileRoutes,
      instanceRoutes,
      operationRoutes,
      inspectRoutes,
    ]
  ) {
    app.route("/v1", routes(ctx));
  }
  return app;
}
