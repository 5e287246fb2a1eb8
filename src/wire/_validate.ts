// Validation plumbing shared by the response and event schemas.
import * as v from "valibot";
import { ResponseValidationError } from "./errors.ts";

/** An optional field: absent and `null` both read as absent. */
export function optional<T>(
  schema: v.GenericSchema<unknown, T>,
): v.OptionalSchema<v.GenericSchema<unknown, T | undefined>, undefined> {
  return v.optional(v.pipe(v.nullable(schema), v.transform((value) => value ?? undefined)));
}

/** An integer (or float) number; the wire never sends numbers as strings. */
export const number: v.NumberSchema<undefined> = v.number();

/** A string-keyed record. */
export function record<T>(
  value: v.GenericSchema<unknown, T>,
): v.GenericSchema<unknown, Record<string, T>> {
  return v.record(v.string(), value);
}

/** Formats a valibot path the way code reads it: `files[0].size`. */
function formatPath(path: readonly { key: unknown }[] | undefined): string {
  let out = "";
  for (const { key } of path ?? []) {
    out += typeof key === "number" ? `[${key}]` : out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** The path and problem of a failed parse's first issue, e.g. `["data.value", "..."]`. */
export function firstIssue(issues: readonly v.BaseIssue<unknown>[]): [string, string] {
  const issue = issues[0];
  const problem = issue.received === "undefined" ? "missing required field" : issue.message;
  return [formatPath(issue.path), problem];
}

/**
 * Validates `data` against `schema`, or throws a ResponseValidationError naming
 * the first offending field (prefixed with `prefix`).
 */
export function validate<T>(
  schema: v.GenericSchema<unknown, T>,
  data: unknown,
  where: string,
  prefix = "",
): T {
  const result = v.safeParse(schema, data);
  if (result.success) return result.output;
  const [inner, problem] = firstIssue(result.issues);
  const path = prefix === "" ? inner : inner === "" ? prefix : `${prefix}.${inner}`;
  throw new ResponseValidationError(path, problem, where);
}

/** Parses a JSON body, or throws a ResponseValidationError for the whole body. */
export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ResponseValidationError("", "not valid JSON", where);
  }
}
