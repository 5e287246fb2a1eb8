/**
 * valibot at the boundary: Hono validators that answer a 400 problem naming the field.
 *
 * @module
 */
import type { MiddlewareHandler, ValidationTargets } from "hono";
import { validator } from "hono/validator";
import * as v from "valibot";
import type { GatewayEnv } from "./_auth.ts";
import { type FieldIssue, Problem } from "./_problem.ts";

type Target = "param" | "query" | "json" | "header";

/**
 * Turns valibot issues into field issues named `target.path`, e.g. `query.limit`.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { fieldIssues } from "./_validate.ts";
 *
 * const result = v.safeParse(v.object({ limit: v.number() }), { limit: "x" });
 * if (!result.success) console.log(fieldIssues("query", result.issues)); // [{ field: "query.limit", ... }]
 * ```
 */
export function fieldIssues(target: string, issues: readonly v.BaseIssue<unknown>[]): FieldIssue[] {
  return issues.map((issue) => {
    const path = v.getDotPath(issue);
    return { field: path ? `${target}.${path}` : target, message: issue.message };
  });
}

/**
 * Parses `value` with `schema`, or throws a 400 {@linkcode Problem} naming every invalid field.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { parseOr400 } from "./_validate.ts";
 *
 * const limit = parseOr400("query.limit", v.pipe(v.string(), v.toNumber()), "10"); // 10
 * ```
 */
export function parseOr400<S extends v.GenericSchema>(
  target: string,
  schema: S,
  value: unknown,
): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  const issues = fieldIssues(target, result.issues);
  throw new Problem(400, `invalid ${issues[0].field}: ${issues[0].message}`, { issues });
}

/**
 * A Hono validator middleware for `target` backed by a valibot schema; read the output with
 * `c.req.valid(target)`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import * as v from "valibot";
 * import { valid } from "./_validate.ts";
 *
 * const app = new Hono();
 * app.get("/items", valid("query", v.object({ q: v.string() })), (c) => c.json(c.req.valid("query")));
 * ```
 */
export function valid<T extends Target, S extends v.GenericSchema>(
  target: T,
  schema: S,
): MiddlewareHandler<
  GatewayEnv,
  string,
  { in: { [K in T]: v.InferInput<S> }; out: { [K in T]: v.InferOutput<S> } }
> {
  const label = target === "json" ? "body" : target;
  // Hono cannot narrow its validator's types for a generic schema: the cast states them.
  return validator(
    target as keyof ValidationTargets,
    (value) => parseOr400(label, schema, value) as unknown,
  ) as unknown as MiddlewareHandler<
    GatewayEnv,
    string,
    { in: { [K in T]: v.InferInput<S> }; out: { [K in T]: v.InferOutput<S> } }
  >;
}

/**
 * Requires a JSON request body: 415 for another media type.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { requireJson } from "./_validate.ts";
 *
 * const app = new Hono();
 * app.post("/things", requireJson(), (c) => c.json({ ok: true }));
 * ```
 */
export function requireJson(): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (type !== "application/json") {
      throw new Problem(415, "the body must be application/json", {
        issues: [{ field: "header.content-type", message: "expected application/json" }],
      });
    }
    await next();
  };
}
