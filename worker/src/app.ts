/**
 * The gateway app: small composable middleware and route groups on Hono, free of runtime
 * details (each runtime's entry point only serves `app.fetch`).
 *
 * @module
 */
import * as hono from "hono";
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId } from "hono/request-id";
import * as v from "valibot";
import type { ContreeClient } from "../../mod.ts";
import { bearerKeys, type GatewayEnv } from "./_auth.ts";
import { bodyLimit } from "./_body_limit.ts";
import { accessLog, defaultLog } from "./_log.ts";
import type { AccessLogEntry } from "./options.ts";
import { Problem, problemResponse } from "./_problem.ts";
import { toProblem, upstreamClient } from "./_upstream.ts";
import { openApiDocument } from "./openapi.ts";
import type { GatewayEnvVars } from "./env_vars.ts";
import type { GatewayKey } from "./keys.ts";
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

/** What the gateway needs per configuration: the upstream client, the keys, CORS and the log. */
interface Configured {
  client: ContreeClient;
  keys: readonly GatewayKey[];
  cors: MiddlewareHandler | undefined;
  log: (entry: AccessLogEntry) => void;
}

/**
 * The options of {@linkcode createGateway}: fixed ones, or a function that reads them from the
 * bindings (Workers' `env`), called once per bindings object.
 *
 * @example
 * ```ts
 * import type { GatewayConfig } from "./app.ts";
 * import { gatewayOptionsFromEnv } from "./env.ts";
 *
 * const fromBindings: GatewayConfig = gatewayOptionsFromEnv;
 * ```
 */
export type GatewayConfig = GatewayOptions | ((env: GatewayEnvVars) => GatewayOptions);

function configure(options: GatewayOptions): Configured {
  const checked = v.safeParse(GatewayOptionsSchema, options);
  if (!checked.success) {
    const issue = checked.issues[0];
    throw new TypeError(`invalid gateway option ${v.getDotPath(issue) ?? ""}: ${issue.message}`);
  }
  const origins = options.cors?.origins;
  return {
    client: upstreamClient(options.upstream),
    keys: options.keys,
    cors: options.cors && cors({
      origin: origins === "*" ? "*" : [...origins!],
      allowMethods: ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"],
      allowHeaders: ["Authorization", "Content-Type", "Range", "If-None-Match", "If-Range"],
      exposeHeaders: EXPOSED,
      maxAge: options.cors.maxAge ?? 600,
    }),
    log: options.log ?? defaultLog,
  };
}

/** The configuration of a request: fixed, or built from its bindings once per bindings object. */
function configurations(config: GatewayConfig): (env: GatewayEnvVars | undefined) => Configured {
  if (typeof config !== "function") {
    const fixed = configure(config);
    return () => fixed;
  }
  const built = new WeakMap<object, Configured>();
  const none = {};
  return (env) => {
    const bindings = env ?? none;
    let found = built.get(bindings);
    if (!found) {
      try {
        found = configure(config(bindings));
      } catch (error) {
        // The message names the setting, never its value; the client learns only that the
        // gateway is misconfigured.
        console.error(`gateway: ${error instanceof Error ? error.message : String(error)}`);
        throw new Problem(503, "the gateway is misconfigured");
      }
      built.set(bindings, found);
    }
    return found;
  };
}

/**
 * Builds the gateway: a Hono app exposing ConTree over HTTP (see `/openapi.json`). Pass fixed
 * options (Deno, Bun: throws a `TypeError` naming the first invalid one), or a function that
 * reads them from the bindings, such as {@linkcode gatewayOptionsFromEnv} (Workers: a request
 * with invalid bindings is answered 503 and the reason logged). The app serves requests with
 * `app.fetch`, is itself a Workers module (`export default`), and mounts into another Hono app
 * with `app.route(prefix, gateway)`.
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
 *
 * @example A Cloudflare Worker configured by its bindings
 * ```ts
 * import { createGateway } from "./app.ts";
 * import { gatewayOptionsFromEnv } from "./env.ts";
 *
 * export default createGateway(gatewayOptionsFromEnv);
 * ```
 */
export function createGateway(config: GatewayConfig): hono.Hono<GatewayEnv> {
  const configured = configurations(config);
  const app = new hono.Hono<GatewayEnv>();

  const logFor = (env: GatewayEnvVars | undefined) => {
    try {
      return configured(env).log;
    } catch {
      return defaultLog;
    }
  };
  app.use(requestId(), accessLog((c) => logFor(c.env)));
  app.use(async (c, next) => {
    const found = configured(c.env);
    c.set("client", found.client);
    c.set("keys", found.keys);
    if (found.cors) return await found.cors(c, next);
    await next();
  });
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
  let document: ReturnType<typeof openApiDocument> | undefined;
  app.get("/openapi.json", (c) => c.json(document ??= openApiDocument()));

  app.use("/images", bearerKeys());
  app.use("/images/*", bearerKeys());
  app.use("/images/*", bodyLimit(MAX_BODY_BYTES));
  app.route("/", imageRoutes());
  app.route("/", fileRoutes());
  app.route("/", runRoutes());

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
