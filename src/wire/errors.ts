/**
 * Errors raised by the ConTree wire client.
 *
 * Every error extends {@linkcode ContreeError}. HTTP failures are
 * {@linkcode ContreeApiError}s, with one subclass per well-known status.
 * Aborts are not wrapped: a call aborted through its `AbortSignal` rejects with
 * the signal's reason (an `AbortError` `DOMException` by default), so that it
 * can be told apart from a {@linkcode ContreeTimeoutError}.
 *
 * @module
 */

/**
 * The base class of every error raised by the ConTree client.
 *
 * @example Catch anything raised by the client
 * ```ts
 * import { ContreeClient, ContreeError } from "@contree/sdk";
 *
 * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
 * try {
 *   await client.whoami();
 * } catch (error) {
 *   if (error instanceof ContreeError) console.error(error.message);
 * }
 * ```
 */
export class ContreeError extends Error {
  /** Creates the error; `options.cause` keeps the underlying error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * What the client knows about a failed HTTP exchange.
 *
 * @example
 * ```ts
 * import { apiError, type ContreeApiErrorInit } from "@contree/sdk";
 *
 * const init: ContreeApiErrorInit = { status: 409, message: "conflict", body: "", method: "DELETE", url: "/v1/x" };
 * const error = apiError(init);
 * ```
 */
export interface ContreeApiErrorInit {
  /** The HTTP status code. */
  status: number;
  /** The `error` field of the JSON body, or the raw body text when it is not JSON. */
  message: string;
  /** The body: parsed JSON when it was JSON, else its text. */
  body: unknown;
  /** `Retry-After` in seconds (delta-seconds or an HTTP-date), when the server sent one. */
  retryAfter?: number;
  /** The request id from `X-Request-ID`, `Request-ID` or `Traceparent`, when present. */
  requestId?: string;
  /** The request method. */
  method: string;
  /** The request URL. */
  url: string;
}

/**
 * A non-2xx answer from the API. Use the subclasses to match a status, or
 * {@linkcode ContreeApiError.status} for the others.
 *
 * @example Inspect a failure
 * ```ts
 * import { ContreeApiError, ContreeClient } from "@contree/sdk";
 *
 * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", token: "t" });
 * try {
 *   await client.getOperation("00000000-0000-0000-0000-000000000000");
 * } catch (error) {
 *   if (error instanceof ContreeApiError) console.error(error.status, error.message, error.requestId);
 * }
 * ```
 */
export class ContreeApiError extends ContreeError {
  /** The HTTP status code. */
  readonly status: number;
  /** The body: parsed JSON when it was JSON, else its text. */
  readonly body: unknown;
  /** `Retry-After` in seconds, when the server sent one. */
  readonly retryAfter: number | undefined;
  /** The server's request id, when it sent one. */
  readonly requestId: string | undefined;
  /** The request method. */
  readonly method: string;
  /** The request URL. */
  readonly url: string;

  /** Creates the error from the failed exchange. */
  constructor(init: ContreeApiErrorInit) {
    super(init.message);
    this.status = init.status;
    this.body = init.body;
    this.retryAfter = init.retryAfter;
    this.requestId = init.requestId;
    this.method = init.method;
    this.url = init.url;
  }
}

/**
 * 400: the request was invalid (for example `limit` out of range).
 *
 * @example
 * ```ts
 * import { BadRequestError } from "@contree/sdk";
 *
 * const isBad = (error: unknown) => error instanceof BadRequestError;
 * ```
 */
export class BadRequestError extends ContreeApiError {}

/**
 * 401: the token is missing or invalid.
 *
 * @example
 * ```ts
 * import { UnauthorizedError } from "@contree/sdk";
 *
 * const needsLogin = (error: unknown) => error instanceof UnauthorizedError;
 * ```
 */
export class UnauthorizedError extends ContreeApiError {}

/**
 * 403: the token lacks a permission.
 *
 * @example
 * ```ts
 * import { ForbiddenError } from "@contree/sdk";
 *
 * const denied = (error: unknown) => error instanceof ForbiddenError;
 * ```
 */
export class ForbiddenError extends ContreeApiError {}

/**
 * 404: an unknown image, operation, file, path or tag.
 *
 * @example
 * ```ts
 * import { NotFoundError } from "@contree/sdk";
 *
 * const missing = (error: unknown) => error instanceof NotFoundError;
 * ```
 */
export class NotFoundError extends ContreeApiError {}

/**
 * 409: a conflict, such as cancelling a finished operation.
 *
 * @example
 * ```ts
 * import { ConflictError } from "@contree/sdk";
 *
 * const alreadyDone = (error: unknown) => error instanceof ConflictError;
 * ```
 */
export class ConflictError extends ContreeApiError {}

/**
 * 410: gone, possibly for a while (an event log not yet durable); see `retryAfter`.
 *
 * @example
 * ```ts
 * import { GoneError } from "@contree/sdk";
 *
 * const gone = (error: unknown) => error instanceof GoneError;
 * ```
 */
export class GoneError extends ContreeApiError {}

/**
 * 422: the path is not usable inside the image.
 *
 * @example
 * ```ts
 * import { UnprocessableEntityError } from "@contree/sdk";
 *
 * const unusable = (error: unknown) => error instanceof UnprocessableEntityError;
 * ```
 */
export class UnprocessableEntityError extends ContreeApiError {}

/**
 * 425: not ready yet; the request was rejected before any processing.
 *
 * @example
 * ```ts
 * import { TooEarlyError } from "@contree/sdk";
 *
 * const early = (error: unknown) => error instanceof TooEarlyError;
 * ```
 */
export class TooEarlyError extends ContreeApiError {}

/**
 * 429: throttled; the request was rejected before any processing.
 *
 * @example
 * ```ts
 * import { RateLimitError } from "@contree/sdk";
 *
 * const throttled = (error: unknown) => error instanceof RateLimitError;
 * ```
 */
export class RateLimitError extends ContreeApiError {}

/**
 * Any 5xx answer.
 *
 * @example
 * ```ts
 * import { ServerError } from "@contree/sdk";
 *
 * const serverSide = (error: unknown) => error instanceof ServerError;
 * ```
 */
export class ServerError extends ContreeApiError {}

/**
 * 416: the byte range asked for starts past the end of the file. `size` is the file's size,
 * when the server told it.
 *
 * @example
 * ```ts
 * import { RangeNotSatisfiableError } from "@contree/sdk";
 *
 * const sizeOf = (error: unknown) => error instanceof RangeNotSatisfiableError ? error.size : undefined;
 * ```
 */
export class RangeNotSatisfiableError extends ContreeApiError {
  /** The file's size in bytes, when known. */
  readonly size: number | undefined;

  /** Creates the error; `size` comes from the `Content-Range` of the answer. */
  constructor(init: ContreeApiErrorInit & { size?: number }) {
    super(init);
    this.size = init.size;
  }
}

const BY_STATUS: Record<number, typeof ContreeApiError> = {
  400: BadRequestError,
  401: UnauthorizedError,
  403: ForbiddenError,
  404: NotFoundError,
  409: ConflictError,
  410: GoneError,
  416: RangeNotSatisfiableError,
  422: UnprocessableEntityError,
  425: TooEarlyError,
  429: RateLimitError,
};

/**
 * Builds the {@linkcode ContreeApiError} subclass that matches a status.
 *
 * @example
 * ```ts
 * import { apiError, NotFoundError } from "@contree/sdk";
 *
 * const error = apiError({ status: 404, message: "no", body: "no", method: "GET", url: "/v1/x" });
 * console.log(error instanceof NotFoundError); // true
 * ```
 */
export function apiError(init: ContreeApiErrorInit): ContreeApiError {
  const Class = BY_STATUS[init.status] ?? (init.status >= 500 ? ServerError : ContreeApiError);
  return new Class(init);
}

/**
 * The request never got an answer: DNS, refused or reset connections, broken
 * framing or a body cut short. `cause` holds the runtime's error.
 *
 * @example
 * ```ts
 * import { ContreeNetworkError } from "@contree/sdk";
 *
 * const offline = (error: unknown) => error instanceof ContreeNetworkError;
 * ```
 */
export class ContreeNetworkError extends ContreeError {}

/**
 * The per-request timeout of the client (or of the call) ran out. Timeouts are
 * never retried.
 *
 * @example
 * ```ts
 * import { ContreeClient, ContreeTimeoutError } from "@contree/sdk";
 *
 * const client = new ContreeClient({ baseUrl: "http://127.0.0.1:8080", timeout: 5_000 });
 * try {
 *   await client.whoami({ timeout: 1 });
 * } catch (error) {
 *   if (error instanceof ContreeTimeoutError) console.error(`gave up after ${error.timeout} ms`);
 * }
 * ```
 */
export class ContreeTimeoutError extends ContreeError {
  /** The timeout that ran out, in milliseconds. */
  readonly timeout: number;

  /** Creates the error for a timeout of `timeout` milliseconds. */
  constructor(timeout: number) {
    super(`request timed out after ${timeout} ms`);
    this.timeout = timeout;
  }
}

/**
 * A 2xx answer whose body does not match the wire schema: a required field is
 * missing or has the wrong type, or the body is not JSON.
 *
 * @example
 * ```ts
 * import { ResponseValidationError } from "@contree/sdk";
 *
 * function report(error: unknown) {
 *   if (error instanceof ResponseValidationError) console.error(error.path); // e.g. "files[0].size"
 * }
 * ```
 */
export class ResponseValidationError extends ContreeError {
  /** The path of the offending field, e.g. `files[0].size`; `""` for the whole body. */
  readonly path: string;

  /** Creates the error for the field at `path`. */
  constructor(path: string, problem: string, where: string) {
    super(`invalid response from ${where}: ${path === "" ? "body" : path}: ${problem}`);
    this.path = path;
  }
}

/**
 * The event stream failed in-band (an `sse_error` frame), broke a framing rule (a frame over
 * 4 MiB), or could not be resumed: `followOperationEvents` gave up reconnecting (the failure
 * it gave up on is the `cause`). `lastEventId` is the id of the last event delivered before
 * it, to resume from with `Last-Event-Id`; `undefined` when none was.
 *
 * @example
 * ```ts
 * import { SSEStreamError } from "@contree/sdk";
 *
 * const resumeFrom = (error: unknown) => error instanceof SSEStreamError ? error.lastEventId : undefined;
 * ```
 */
export class SSEStreamError extends ContreeError {
  /** The id of the last event delivered before the failure. */
  readonly lastEventId: number | undefined;

  /** Creates the error; `options.cause` keeps the underlying failure. */
  constructor(message: string, options?: ErrorOptions & { lastEventId?: number }) {
    super(message, options);
    this.lastEventId = options?.lastEventId;
  }
}
