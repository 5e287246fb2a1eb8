/**
 * The gateway app: small composable middleware and route groups on Hono, free of runtime
 * details (each runtime's entry point only serves `app.fetch`).
 *
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId } from "hono/request-id";
import * as v from "valibot";
import { bearerKeys, type GatewayEnv } from "./_auth.ts";
import { accessLog } from "./_log.ts";
import { Problem, problemResponse } from "./_problem.ts";
import { toProblem, upstreamClient } from "./_upstream.ts";
import { openApiDocument } from "./openapi.ts";
import { type GatewayOptions, GatewayOptionsSchema } from "./options.ts";
import { fileRoutes } from "./routes/files.ts";
import { imageRoutes } from "./routes/images.ts";
import { runRoutes } from "./routes/run.ts";

/**
 * The largest request body accepted (a run with its stdin), in bytes.
 *
 * @example
 * ```ts
 * import { MAX_BODY_BYTES } from "./app.ts";
 *
 * console.log(MAX_BODY_BYTES); // 1048576
 * ```
 */
export const MAX_BODY_BYTES = 1024 * 1024;

const EXPOSED = [
  "Accept-Ranges",
  "Content-Disposition",
  "Content-Length",
  "Content-Range",
  "ETag",
  "X-Request-Id",
];

/**
 * Builds the gateway: a Hono app exposing ConTree over HTTP (see `/openapi.json`). Throws a
 * `TypeError` naming the first invalid option.
 *
 * @example Serve it with Deno
 * ```ts
 * import { createGateway } from "./app.ts";
 *
 * const app = createGateway({
 *   upstream: { url: "http://127.0.0.1:8080", token: "upstream-token" },
 *   keys: [{ key: "k_admin_0123456789abcdef", scope: "write" }],
 * });
 * Deno.serve({ port: 8787 }, app.fetch);
 * ```
 */
export function createGateway(options: GatewayOptions): Hono<GatewayEnv> {
  const checked = v.safeParse(GatewayOptionsSchema, options);
  if (!checked.success) {
    const issue = checked.issues[0];
    throw new TypeError(`invalid gateway option ${v.getDotPath(issue) ?? ""}: ${issue.message}`);
  }
  const write = options.log ?? ((entry) => console.log(JSON.stringify(entry)));
  const client = upstreamClient(options.upstream);
  const app = new Hono<GatewayEnv>();

  app.use(requestId(), accessLog(write));
  if (options.cors) {
    const origins = options.cors.origins;
    app.use(cors({
      origin: origins === "*" ? "*" : [...origins],
      allowMethods: ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"],
      allowHeaders: ["Authorization", "Content-Type", "Range", "If-None-Match", "If-Range"],
      exposeHeaders: EXPOSED,
      maxAge: options.cors.maxAge ?? 600,
    }));
  }
  app.use(methodNotAllowed({
    app,
    onMethodNotAllowed: (c, methods) =>
      problemResponse(
        new Problem(405, `${c.req.method} is not allowed here`, {
          headers: { allow: methods.join(", ") },
        }),
        c.get("requestId"),
      ),
  }));

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/openapi.json", (c) => c.json(openApiDocument()));

  app.use("/images", bearerKeys(options.keys));
  app.use("/images/*", bearerKeys(options.keys));
  app.use(
    "/images/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new Problem(413, `the body is larger than ${MAX_BODY_BYTES} bytes`, {
          issues: [{ field: "body", message: "too large" }],
        });
      },
    }),
  );
  app.route("/", imageRoutes(client));
  app.route("/", fileRoutes(client));
  app.route("/", runRoutes(client));

  app.notFound((c) => problemResponse(new Problem(404, "no such route"), c.get("requestId")));
  app.onError((error, c) => {
    let problem: Problem;
    if (error instanceof HTTPException) {
      problem = new Problem(
        error.status,
        error.status === 400 ? "the body is not valid JSON" : error.message,
        error.status === 400 ? { issues: [{ field: "body", message: "malformed JSON" }] } : {},
      );
    } else {
      problem = toProblem(error);
    }
    return problemResponse(problem, c.get("requestId"));
  });
  return app;
}
