/** Backend errors and the HTTP statuses they are answered with: one table for the whole API. */
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { GrepQueryError } from "../grep/mod.ts";
import { PathNotFoundError, PathNotUsableError } from "../images/errors.ts";
import { ProcessError, type ProcessRefusal, SpawnError, type SpawnRefusal } from "../ops/mod.ts";
import { BodyTooLargeError } from "../store/mod.ts";
import { HttpError } from "./http_error.ts";

/** The status (and extra headers) an error is answered with. */
export interface ErrorAnswer {
  /** HTTP status. */
  status: ContentfulStatusCode;
  /** Extra response headers (e.g. `Retry-After`). */
  headers: Record<string, string>;
  /** The message to send instead of the error's own. */
  message?: string;
}

const SPAWN: Record<SpawnRefusal, ContentfulStatusCode> = {
  invalid: 400,
  not_found: 404,
  queue_full: 429,
  stopping: 503,
};

const PROCESS: Record<ProcessRefusal, ContentfulStatusCode> = {
  invalid: 400,
  not_found: 404,
  not_running: 409,
};

/** A full disk, from the file system or from SQLite. */
function isDiskFull(error: unknown): boolean {
  const e = error as { code?: unknown; errcode?: unknown; message?: unknown };
  return e?.code === "ENOSPC" || e?.errcode === 13 ||
    /ENOSPC|No space left|database or disk is full/i.test(String(e?.message ?? ""));
}

// deno-lint-ignore no-explicit-any
type ErrorClass<E> = abstract new (...args: any[]) => E;

function row<E>(
  type: ErrorClass<E>,
  answer: (error: E) => ContentfulStatusCode | ErrorAnswer,
): (error: unknown) => ErrorAnswer | undefined {
  return (error) => {
    if (!(error instanceof type)) return undefined;
    const found = answer(error);
    return typeof found === "number" ? { status: found, headers: {} } : found;
  };
}

/** First match wins; an error no row matches is a bug (500). */
const TABLE: ReadonlyArray<(error: unknown) => ErrorAnswer | undefined> = [
  row(HttpError, (e) => ({ status: e.status, headers: e.headers })),
  row(BodyTooLargeError, () => 413),
  // A full queue empties: clients may replay the request (nothing was stored).
  row(SpawnError, (e) => ({
    status: SPAWN[e.reason],
    headers: e.reason === "queue_full" ? { "Retry-After": "1" } : {} as Record<string, string>,
  })),
  row(ProcessError, (e) => PROCESS[e.reason]),
  row(GrepQueryError, () => 400),
  row(PathNotFoundError, () => 404),
  row(PathNotUsableError, () => 422),
  // The error's own message may name host paths.
  (error) =>
    isDiskFull(error)
      ? { status: 507, headers: {}, message: "insufficient storage: the disk is full" }
      : undefined,
];

/**
 * The status an error is answered with: {@linkcode HttpError} as given, a refused spawn or
 * import 400/404/429 (`Retry-After: 1`)/503, a refused subprocess request 400/404/409, a bad
 * grep query 400, a missing path 404, an unusable one 422, an oversized body 413, a full
 * disk 507; `undefined` for anything else (a bug: 500).
 *
 * @example
 * ```ts
 * errorStatus(new PathNotFoundError("/nope")); // { status: 404, headers: {} }
 * ```
 */
export function errorStatus(error: unknown): ErrorAnswer | undefined {
  for (const match of TABLE) {
    const answer = match(error);
    if (answer) return answer;
  }
  return undefined;
}
