/**
 * Problem responses (RFC 9457 `application/problem+json`) and the error that carries one.
 *
 * @module
 */

/**
 * One invalid field of a request, named like `query.limit` or `body.env.PATH`.
 *
 * @example
 * ```ts
 * import type { FieldIssue } from "./_problem.ts";
 *
 * const issue: FieldIssue = { field: "query.limit", message: "expected an integer from 1 to 1000" };
 * ```
 */
export interface FieldIssue {
  /** Where the value came from and its path inside it, e.g. `body.args.0`. */
  field: string;
  /** What is wrong with it. */
  message: string;
}

/**
 * The JSON body of every error answered by the gateway.
 *
 * @example
 * ```ts
 * import type { ProblemBody } from "./_problem.ts";
 *
 * const fields = (body: ProblemBody) => body.issues?.map((issue) => issue.field) ?? [];
 * ```
 */
export interface ProblemBody {
  /** A URI naming the kind of problem (`about:blank` when the status says it all). */
  type: string;
  /** The HTTP reason phrase of `status`. */
  title: string;
  /** The HTTP status. */
  status: number;
  /** A human-readable explanation, free of secrets and stack traces. */
  detail: string;
  /** The first invalid field, for validation errors. */
  field?: string;
  /** Every invalid field, for validation errors. */
  issues?: FieldIssue[];
  /** The `X-Request-Id` of the request, to match the access log. */
  requestId?: string;
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/**
 * An error that becomes a problem response. Thrown by validators and handlers, answered by the
 * gateway's error handler.
 *
 * @example
 * ```ts
 * import { Problem } from "./_problem.ts";
 *
 * throw new Problem(400, "limit must be between 1 and 1000", {
 *   issues: [{ field: "query.limit", message: "must be between 1 and 1000" }],
 * });
 * ```
 */
export class Problem extends Error {
  /** The HTTP status to answer. */
  readonly status: number;
  /** The invalid fields, if any. */
  readonly issues: FieldIssue[] | undefined;
  /** Extra response headers (`WWW-Authenticate`, `Allow`, `Content-Range`, `Retry-After`). */
  readonly headers: Record<string, string>;

  /**
   * Creates the problem; `detail` is sent to the client as is, so keep it free of secrets.
   * `cause` (an upstream error) is only named in the access log.
   */
  constructor(
    status: number,
    detail: string,
    options: { issues?: FieldIssue[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = "Problem";
    this.status = status;
    this.issues = options.issues;
    this.headers = options.headers ?? {};
  }
}

/**
 * The JSON body of a problem.
 *
 * @example
 * ```ts
 * import { Problem, problemBody } from "./_problem.ts";
 *
 * problemBody(new Problem(404, "no such image"), "req-1");
 * // { type: "about:blank", title: "Not Found", status: 404, detail: "no such image", requestId: "req-1" }
 * ```
 */
export function problemBody(problem: Problem, requestId?: string): ProblemBody {
  const body: ProblemBody = {
    type: problem.issues ? "https://contree.dev/problems/validation" : "about:blank",
    title: TITLES[problem.status] ?? "Error",
    status: problem.status,
    detail: problem.message,
  };
  if (problem.issues && problem.issues.length > 0) {
    body.field = problem.issues[0].field;
    body.issues = problem.issues;
  }
  if (requestId) body.requestId = requestId;
  return body;
}

/**
 * Builds a problem response.
 *
 * @example
 * ```ts
 * import { Problem, problemResponse } from "./_problem.ts";
 *
 * const response = problemResponse(new Problem(404, "no such image"), "req-1");
 * console.log(response.status, response.headers.get("content-type")); // 404 application/problem+json
 * ```
 */
export function problemResponse(problem: Problem, requestId?: string): Response {
  const body = problemBody(problem, requestId);
  const headers = new Headers(problem.headers);
  headers.set("content-type", "application/problem+json");
  headers.set("cache-control", "no-store");
  return new Response(JSON.stringify(body), { status: problem.status, headers });
}
