/**
 * Bearer-key authentication and the write-scope guard.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { ContreeClient } from "../../mod.ts";
import type { GatewayEnvVars } from "./env_vars.ts";
import type { GatewayKey, KeyScope } from "./keys.ts";
import { Problem } from "./_problem.ts";

/**
 * The variables the gateway's middleware sets on the Hono context.
 *
 * @example
 * ```ts
 * import type { GatewayVariables } from "./_auth.ts";
 *
 * const readOnly = (vars: GatewayVariables) => vars.scope === "read";
 * ```
 */
export interface GatewayVariables {
  /** Set by the request-id middleware. */
  requestId: string;
  /** The scope of the key that authenticated the request. */
  scope: KeyScope;
  /** The wire client for the ConTree API behind the gateway. */
  client: ContreeClient;
  /** The API keys the request is checked against. */
  keys: readonly GatewayKey[];
}

/**
 * What a server adapter may pass as the `env` of `app.fetch(request, env)`. Workers pass their
 * bindings; the gateway reads none of them there.
 *
 * @example
 * ```ts
 * import type { GatewayBindings } from "./_auth.ts";
 *
 * const env: GatewayBindings = { delivered: Promise.resolve(true) };
 * ```
 */
export interface GatewayBindings extends GatewayEnvVars {
  /**
   * Settles when the response has been handed over: `true` when fully delivered, `false` when
   * the client went away first. Lets the access log time whole responses without touching
   * their bodies (Deno: `info.completed`; Node/Bun: the response's `finish`/`close`).
   */
  delivered?: Promise<boolean>;
}

/**
 * The Hono environment of the gateway app.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { GatewayEnv } from "./_auth.ts";
 *
 * const app = new Hono<GatewayEnv>();
 * app.get("/whoami", (c) => c.json({ scope: c.get("scope") }));
 * ```
 */
export interface GatewayEnv {
  /** What the server adapter passes. */
  Bindings: GatewayBindings;
  /** Context variables. */
  Variables: GatewayVariables;
}

const MAX_HEADER = 1024;
/** Keys have at most 256 characters: every comparison walks this many, whatever the input. */
const SPAN = 256;

/**
 * 1 when `presented` equals `key`, else 0, in time independent of both: the loop always runs
 * over {@linkcode SPAN} characters, and lengths are folded into the difference.
 */
function same(presented: string, key: string): number {
  let diff = presented.length ^ key.length;
  for (let i = 0; i < SPAN; i++) {
    diff |= (presented.charCodeAt(i) | 0) ^ (key.charCodeAt(i) | 0);
  }
  return diff === 0 ? 1 : 0;
}

function unauthorized(detail: string, error?: string): Problem {
  const challenge = error
    ? `Bearer realm="contree-gateway", error="${error}"`
    : `Bearer realm="contree-gateway"`;
  return new Problem(401, detail, { headers: { "www-authenticate": challenge } });
}

/**
 * Requires `Authorization: Bearer <key>` with one of the `keys` variable (set by the gateway
 * from its options); sets the `scope` variable. The
 * presented key is compared with every known key in constant time, so neither timing nor the
 * position of a match tells anything about a key.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { bearerKeys, type GatewayEnv } from "./_auth.ts";
 *
 * const app = new Hono<GatewayEnv>();
 * app.use("/private/*", async (c, next) => {
 *   c.set("keys", [{ key: "k_0123456789abcdef", scope: "read" }]);
 *   await next();
 * }, bearerKeys());
 * ```
 */
export function bearerKeys(): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const keys = c.get("keys");
    const header = c.req.header("authorization");
    if (header === undefined) {
      throw unauthorized("an API key is required: Authorization: Bearer <key>");
    }
    const match = header.length <= MAX_HEADER
      ? /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(header)
      : null;
    if (!match) {
      throw unauthorized("the Authorization header must be `Bearer <key>`", "invalid_request");
    }
    const presented = match[1];
    let read = 0;
    let write = 0;
    for (const { key, scope } of keys) {
      const hit = same(presented, key);
      if (scope === "write") write |= hit;
      else read |= hit;
    }
    if ((read | write) === 0) throw unauthorized("unknown API key", "invalid_token");
    c.set("scope", write ? "write" : "read");
    await next();
  };
}

/**
 * Lets only write-scoped keys through: a read-only key gets 403.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { bearerKeys, requireWrite, type GatewayEnv } from "./_auth.ts";
 *
 * const app = new Hono<GatewayEnv>();
 * app.use("*", async (c, next) => {
 *   c.set("keys", [{ key: "k_0123456789abcdef", scope: "write" }]);
 *   await next();
 * }, bearerKeys());
 * app.post("/things", requireWrite(), (c) => c.json({ ok: true }));
 * ```
 */
export function requireWrite(): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    if (c.get("scope") !== "write") {
      throw new Problem(403, "this API key is read-only", {
        headers: {
          "www-authenticate": `Bearer realm="contree-gateway", error="insufficient_scope"`,
        },
      });
    }
    await next();
  };
}
