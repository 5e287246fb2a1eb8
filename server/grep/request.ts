/**
 * The query of `GET /v1/inspect/{uuid}/grep`: repeatable `pattern`, `path` and `glob`, the
 * integers `max_count`, `max_total`, `before`, `after`, and `case`.
 */
import * as v from "valibot";
import { GrepQueryError } from "./errors.ts";

/** How letter case is matched: `smart` is insensitive unless a pattern has an upper-case letter. */
export type CaseMode = "sensitive" | "insensitive" | "smart";

/** A validated grep query. */
export interface GrepRequest {
  /** Regular expressions; a line matches when any of them does (at least one). */
  patterns: string[];
  /** Image paths to search, in order (`/` when none was given). */
  paths: string[];
  /** gitignore-style globs filtering the files found under directories (`!` negates). */
  globs: string[];
  /** Most matching lines per file; absent for no limit. */
  maxCount?: number;
  /** Most matching lines in the whole result; absent for no limit. */
  maxTotal?: number;
  /** Context lines before each match. */
  before: number;
  /** Context lines after each match. */
  after: number;
  /** Letter case handling. */
  caseMode: CaseMode;
}

/**
 * Largest `before` / `after`: the lines held for before-context stay bounded.
 *
 * @example
 * ```ts
 * parseGrepQuery({ pattern: ["x"], after: ["10001"] }); // throws GrepQueryError
 * ```
 */
export const MAX_CONTEXT_LINES = 10_000;

/** `case` values and what they mean (`ignore` and `i` are aliases of `insensitive`). */
const CASE_MODES: Record<string, CaseMode> = {
  sensitive: "sensitive",
  insensitive: "insensitive",
  ignore: "insensitive",
  i: "insensitive",
  smart: "smart",
};

/** A parameter given at most once; an empty value counts as absent. */
function single(name: string) {
  return v.pipe(
    v.array(v.string()),
    v.maxLength(1, `${name} must be given at most once`),
    v.transform((values) => values[0] || undefined),
  );
}

/** A non-negative integer given at most once, up to `max` when one is given. */
function count(name: string, max?: number) {
  const message = max === undefined
    ? `${name} must be a non-negative integer`
    : `${name} must be an integer between 0 and ${max}`;
  return v.optional(v.pipe(
    single(name),
    v.optional(v.pipe(
      v.string(),
      v.regex(/^\d{1,15}$/, message),
      v.transform(Number),
      v.maxValue(max ?? Number.MAX_SAFE_INTEGER, message),
    )),
  ));
}

const CASE_MESSAGE = "case must be one of sensitive, insensitive (or ignore, i), smart";

const GrepQuerySchema = v.pipe(
  v.object({
    pattern: v.pipe(
      v.optional(v.array(v.string()), []),
      v.minLength(1, "pattern is required"),
    ),
    path: v.optional(v.array(v.string()), []),
    glob: v.optional(v.array(v.string()), []),
    max_count: count("max_count"),
    max_total: count("max_total"),
    before: count("before", MAX_CONTEXT_LINES),
    after: count("after", MAX_CONTEXT_LINES),
    case: v.optional(v.pipe(
      single("case"),
      v.optional(v.pipe(v.string(), v.picklist(Object.keys(CASE_MODES), CASE_MESSAGE))),
    )),
  }),
  v.transform((query): GrepRequest => ({
    patterns: query.pattern,
    paths: query.path.length === 0 ? ["/"] : query.path.map((path) => path || "/"),
    globs: query.glob,
    maxCount: query.max_count,
    maxTotal: query.max_total,
    before: query.before ?? 0,
    after: query.after ?? 0,
    caseMode: query.case === undefined ? "sensitive" : CASE_MODES[query.case],
  })),
);

/**
 * Validates a grep query given as every value of every parameter (Hono's
 * `c.req.queries()`); unknown parameters are ignored. Throws {@linkcode GrepQueryError}
 * naming the first bad parameter.
 *
 * @example
 * ```ts
 * const request = parseGrepQuery({ pattern: ["root", "daemon"], path: ["/etc"], case: ["i"] });
 * // { patterns: ["root", "daemon"], paths: ["/etc"], globs: [], before: 0, after: 0,
 * //   caseMode: "insensitive" }
 * ```
 */
export function parseGrepQuery(query: Record<string, string[]>): GrepRequest {
  const parsed = v.safeParse(GrepQuerySchema, query);
  if (parsed.success) return parsed.output;
  const issue = parsed.issues[0];
  throw new GrepQueryError(String(issue.path?.[0]?.key ?? "query"), issue.message);
}
