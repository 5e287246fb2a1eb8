/**
 * Requests of the subprocess API: `ExecSpec` (start a process in a running instance) and the
 * `ClosableStreamRepr` written to a process's stdin.
 */
import * as v from "valibot";
import type { SpawnLimits } from "./spawn_request.ts";
import { absolutePath, closableStream, issueMessage, uint } from "./_schemas.ts";

const noNul = v.pipe(v.string(), v.check((s) => !s.includes("\0"), "must not contain NUL"));
const id = v.pipe(uint, v.maxValue(0xfffffffe));

const ExecRequestSchema = v.object({
  command: v.pipe(noNul, v.minLength(1, "must not be empty")),
  args: v.nullish(v.array(noNul), () => []),
  shell: v.nullish(v.boolean(), false),
  env: v.nullish(
    v.record(
      v.pipe(
        noNul,
        v.minLength(1, "must not be empty"),
        v.check((key) => !key.includes("="), "must not contain '='"),
      ),
      noNul,
    ),
    () => ({}),
  ),
  cwd: v.nullish(
    v.union([v.literal(""), absolutePath], "must be an absolute path or empty"),
    "",
  ),
  uid: v.nullish(id),
  gid: v.nullish(id),
  stdin: v.nullish(closableStream(true), null),
  truncate_output_at: v.nullish(uint),
});

/**
 * An `ExecSpec` with its defaults applied; `cwd` empty and `uid`, `gid`,
 * `truncate_output_at` absent mean "as the instance's main command".
 */
export type ExecRequest = v.InferOutput<typeof ExecRequestSchema>;

const StdinInputSchema = closableStream(false);

/** Bytes for a process's stdin (`ClosableStreamRepr`); `close` defaults to false. */
export type StdinInput = v.InferOutput<typeof StdinInputSchema>;

/** The outcome of a parse: the value, or an error naming the field. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Validates a decoded JSON body as an `ExecSpec`: unknown fields are ignored, absent and
 * `null` fields take their defaults; `truncate_output_at` is capped like a spawn's.
 *
 * @example
 * ```ts
 * const parsed = parseExecRequest({ command: "cat", stdin: { value: "", close: false } }, limits);
 * if (!parsed.ok) console.log(parsed.error); // e.g. "args[0]: Invalid type: ..."
 * ```
 */
export function parseExecRequest(body: unknown, limits: SpawnLimits): Parsed<ExecRequest> {
  const result = v.safeParse(ExecRequestSchema, body);
  if (!result.success) return { ok: false, error: issueMessage(result.issues) };
  const request = result.output;
  if (request.truncate_output_at !== null && request.truncate_output_at !== undefined) {
    request.truncate_output_at = Math.min(request.truncate_output_at, limits.maxOutput);
  }
  return { ok: true, value: request };
}

/**
 * Validates a decoded JSON body as a `ClosableStreamRepr` for a process's stdin.
 *
 * @example
 * ```ts
 * const parsed = parseStdinInput({ value: "aGkK", encoding: "base64", close: true });
 * ```
 */
export function parseStdinInput(body: unknown): Parsed<StdinInput> {
  const result = v.safeParse(StdinInputSchema, body);
  return result.success
    ? { ok: true, value: result.output }
    : { ok: false, error: issueMessage(result.issues) };
}
