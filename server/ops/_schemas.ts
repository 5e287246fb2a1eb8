/** valibot pieces shared by the request schemas, and their error messages. */
import * as v from "valibot";
import { decodeStream } from "../../src/wire/mod.ts";

/** A non-negative integer. */
export const uint = v.pipe(v.number(), v.integer(), v.minValue(0));

/** An absolute path without NUL. */
export const absolutePath = v.pipe(
  v.string(),
  v.check((p) => p.startsWith("/"), "must be an absolute path"),
  v.check((p) => !p.includes("\0"), "must not contain NUL"),
);

function decodes(repr: { value: string; encoding: string; close: boolean }): boolean {
  try {
    decodeStream(repr);
    return true;
  } catch {
    return false;
  }
}

/**
 * `ClosableStreamRepr`: bytes as text or base64 (checked: invalid base64 is refused, not
 * guessed at), and whether stdin closes after them.
 */
export function closableStream(closeByDefault: boolean) {
  return v.pipe(
    v.object({
      value: v.string(),
      encoding: v.nullish(v.string(), "ascii"),
      close: v.nullish(v.boolean(), closeByDefault),
    }),
    v.forward(v.check(decodes, "is not valid base64"), ["value"]),
  );
}

function issuePath(issue: v.BaseIssue<unknown>): string {
  let path = "";
  for (const item of issue.path ?? []) {
    const key = (item as { key: unknown }).key;
    if (typeof key === "number") path += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      path += path ? `.${key}` : key;
    } else path += `[${JSON.stringify(key)}]`;
  }
  return path || "body";
}

/** The first issue of a failed parse as `field: message` (`body: ...` for the whole body). */
export function issueMessage(issues: [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]]): string {
  const issue = issues[0];
  return `${issuePath(issue)}: ${issue.received === "undefined" ? "required" : issue.message}`;
}
