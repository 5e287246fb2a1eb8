// The HTTP layer of the wire client: URLs, headers, timeouts, aborts, retries and error mapping.
import {
  apiError,
  ContreeApiError,
  ContreeError,
  ContreeNetworkError,
  ContreeTimeoutError,
} from "./errors.ts";
import {
  isConnectionRefused,
  isIdempotent,
  isRetryableStatus,
  parseRetryAfter,
  REFUSED_BUDGET,
  retryDelay,
  type RetryPolicy,
  sleep,
} from "./_retry.ts";
import type { Content } from "./hash.ts";
import type { RequestOptions } from "./types.ts";

/** Query values: flags are sent as `1` when true and omitted when false; arrays repeat the key. */
export type Query = Record<
  string,
  string | number | boolean | readonly string[] | null | undefined
>;

/** What to send. */
export interface RequestSpec {
  method: "GET" | "HEAD" | "POST" | "PATCH" | "PUT" | "DELETE";
  /** Path after `/v1`, already encoded. */
  path: string;
  query?: Query;
  json?: unknown;
  body?: Content;
  headers?: Record<string, string>;
  /** Statuses handed to the reader instead of raising, e.g. 404 for existence checks. */
  pass?: readonly number[];
  /** Do not follow redirects (3xx are then handed to the reader). */
  manualRedirect?: boolean;
  /** Use the retry policy (default true). */
  retry?: boolean;
  /**
   * For streamed answers: fail the body with a ContreeTimeoutError when no byte arrives for
   * the timeout while it is read (default true). Event streams, which idle between
   * keepalives, turn it off.
   */
  idle?: boolean;
}

/** The transport's settings. */
export interface HttpConfig {
  baseUrl: string;
  headers: Record<string, string>;
  fetch: (input: string, init: RequestInit) => Promise<Response>;
  timeout: number;
  /** Whether streamed bodies are watched for idle stretches (see `RequestSpec.idle`). */
  idle: boolean;
  retry: RetryPolicy | undefined;
}

/** Percent-encodes a path parameter with nothing kept safe. */
export function pathParam(value: string | number): string {
  return encodeURIComponent(String(value)).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function encodeQueryPart(value: string): string {
  return encodeURIComponent(value).replace(/%2F/gi, "/");
}

function queryString(query: Query | undefined): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    const values = typeof value === "object" ? value : [value === true ? "1" : String(value)];
    for (const item of values) parts.push(`${encodeQueryPart(key)}=${encodeQueryPart(item)}`);
  }
  return parts.length === 0 ? "" : `?${parts.join("&")}`;
}

/**
 * A timer that aborts one attempt with a ContreeTimeoutError: over the whole exchange, or,
 * restarted whenever bytes move, over each stretch without any.
 */
class AttemptTimer {
  readonly controller = new AbortController();
  fired = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly ms: number) {
    this.restart();
  }

  /** (Re)starts the countdown of a whole timeout. */
  restart(): void {
    clearTimeout(this.#timer);
    if (this.fired || !(Number.isFinite(this.ms) && this.ms > 0)) return;
    this.#timer = setTimeout(() => {
      this.fired = true;
      this.controller.abort(new ContreeTimeoutError(this.ms));
    }, this.ms);
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}

/** Copies a chunk whose buffer it does not own whole, so that enqueueing it may transfer it. */
function owned(chunk: Uint8Array): Uint8Array {
  return chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength
    ? chunk
    : chunk.slice();
}

/** Size of the buffers a BYOB-read body fills for a default reader, like the runtimes' own. */
const CHUNK_BYTES = 64 * 1024;

/** A BYOB reader of `body` where the runtime's body is a byte stream (Deno's is, Bun's not). */
function byobReaderOf(body: ReadableStream<Uint8Array>): ReadableStreamBYOBReader | undefined {
  try {
    return body.getReader({ mode: "byob" });
  } catch {
    return undefined;
  }
}

/**
 * A byte stream over a response body that fails with a ContreeTimeoutError when a read waits
 * longer than the timer's timeout for the next chunk (time the consumer spends elsewhere does
 * not count). It keeps the original body reachable, and with it the Response (see
 * bodyKeepsResponse). Where the body is a byte stream, a BYOB reader's buffer is handed down
 * to it: the bytes land in the consumer's memory with no chunk allocated or copied.
 */
function idleTimeout(
  body: ReadableStream<Uint8Array>,
  timer: AttemptTimer,
): ReadableStream<Uint8Array> {
  const byob = byobReaderOf(body);
  const reader = byob ?? body.getReader();
  const failure = () => timer.controller.signal.reason as ContreeTimeoutError;
  // A fired timer aborts the fetch, which errors or ends the pending read.
  timer.controller.signal.addEventListener(
    "abort",
    () => reader.cancel(failure()).catch(() => {}),
    { once: true },
  );
  /** The next bytes: into the consumer's buffer, a new one, or as the body hands them. */
  const next = (request: ReadableStreamBYOBRequest | null) => {
    if (!byob) return (reader as ReadableStreamDefaultReader<Uint8Array>).read();
    const view = request?.view;
    return byob.read(
      view
        ? new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
        : new Uint8Array(CHUNK_BYTES),
    );
  };
  return new ReadableStream({
    type: "bytes",
    async pull(controller: ReadableByteStreamController) {
      const request = controller.byobRequest;
      timer.restart();
      let read: ReadableStreamReadResult<Uint8Array>;
      try {
        read = await next(request);
      } catch (error) {
        throw timer.fired ? failure() : error;
      } finally {
        timer.clear();
      }
      if (timer.fired) throw failure();
      if (read.done) {
        controller.close();
        // A BYOB read moved the request's buffer: give it back (empty) in the new view.
        if (request && byob && read.value) request.respondWithNewView(read.value);
        else controller.byobRequest?.respond(0);
      } else if (request && byob) {
        request.respondWithNewView(read.value);
      } else {
        // A buffer of our own (BYOB path) may move as it is; the body's own may be shared.
        controller.enqueue(byob ? read.value : owned(read.value));
      }
    },
    cancel(reason) {
      timer.clear();
      return reader.cancel(reason);
    },
  });
}

/**
 * A request body stream that restarts the timer whenever the transport takes a chunk, so
 * that an upload fails only when no byte moves for the timeout.
 */
function touching(
  body: ReadableStream<Uint8Array>,
  timer: AttemptTimer,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      timer.restart();
      const next = await reader.read();
      timer.restart();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** Statuses whose Response cannot have a body. */
const NULL_BODY = new Set([204, 205, 304]);

async function errorFromResponse(res: Response, method: string, url: string) {
  const text = await res.text().catch(() => "");
  let body: unknown = text;
  let message = text.trim();
  try {
    body = JSON.parse(text);
    const error = (body as { error?: unknown } | null)?.error;
    if (typeof error === "string") message = error;
    else if (error !== undefined) message = JSON.stringify(error);
  } catch {
    // Not JSON: the raw text is the message.
  }
  const headers = res.headers;
  return apiError({
    status: res.status,
    message: message || `${res.status} ${res.statusText}`.trim(),
    body,
    retryAfter: parseRetryAfter(headers.get("retry-after")),
    requestId: headers.get("x-request-id") ?? headers.get("request-id") ??
      headers.get("traceparent") ?? undefined,
    method,
    url,
  });
}

/** Sends requests with the client's headers, timeout and retry policy. */
const RESPONSE = Symbol("response");

/**
 * Makes the body hold its Response. Deno hangs a fetch's abort on the Response object: once
 * only the body is kept, a garbage collection unhooks the signal and aborting it no longer
 * ends the transfer (a stream left open until the peer closes it).
 */
function bodyKeepsResponse(res: Response): Response {
  if (res.body) Object.defineProperty(res.body, RESPONSE, { value: res });
  return res;
}

export class Http {
  readonly #config: HttpConfig;

  constructor(config: HttpConfig) {
    this.#config = config;
  }

  /** The full URL of a path (after `/v1`) with its query. */
  url(path: string, query?: Query): string {
    return `${this.#config.baseUrl}/v1${path}${queryString(query)}`;
  }

  /**
   * Sends a request and hands a 2xx (or passed) response to `read`, all within
   * the per-attempt timeout; failures are retried per the policy.
   */
  send<T>(
    spec: RequestSpec,
    opts: RequestOptions | undefined,
    read: (res: Response) => Promise<T>,
  ) {
    return this.#run(spec, opts, read, false);
  }

  /**
   * Sends a request whose answer's body is streamed by the caller: the timeout covers the
   * wait for the response headers, then (unless `spec.idle` is false) every wait for the
   * next chunk of the body; the caller's signal stays linked to the body, so aborting it
   * cancels the transfer at once.
   */
  stream(spec: RequestSpec, opts: RequestOptions | undefined): Promise<Response> {
    return this.#run(spec, opts, (res) => Promise.resolve(bodyKeepsResponse(res)), true);
  }

  async #run<T>(
    spec: RequestSpec,
    opts: RequestOptions | undefined,
    read: (res: Response) => Promise<T>,
    streaming: boolean,
  ): Promise<T> {
    const config = this.#config;
    const url = this.url(spec.path, spec.query);
    const where = `${spec.method} ${url}`;
    const replayable = !(spec.body instanceof ReadableStream);
    const policy = spec.retry === false || !replayable ? undefined : config.retry;
    const started = Date.now();
    const userSignal = opts?.signal;
    for (let attempt = 1;; attempt++) {
      if (userSignal?.aborted) throw userSignal.reason;
      const timer = new AttemptTimer(opts?.timeout ?? config.timeout);
      const signal = userSignal
        ? AbortSignal.any([userSignal, timer.controller.signal])
        : timer.controller.signal;
      let failure: ContreeError;
      let refused = false;
      // Whether the timer went on to watch a streamed body.
      let watching = false;
      try {
        let res = await config.fetch(url, this.#init(spec, signal, timer));
        if (streaming) {
          timer.clear();
          if (
            config.idle && spec.idle !== false && res.body !== null && !NULL_BODY.has(res.status)
          ) {
            const { status, statusText, headers } = res;
            const body = bodyKeepsResponse(res).body!;
            res = new Response(idleTimeout(body, timer), { status, statusText, headers });
            watching = true;
          }
        }
        const passed = res.ok || spec.pass?.includes(res.status) ||
          (spec.manualRedirect === true &&
            ((res.status >= 300 && res.status < 400) || res.type === "opaqueredirect"));
        if (passed) return await read(res);
        failure = await errorFromResponse(res, spec.method, url);
      } catch (error) {
        if (timer.fired) throw new ContreeTimeoutError(timer.ms);
        if (userSignal?.aborted) throw userSignal.reason;
        if (error instanceof ContreeError) throw error;
        refused = isConnectionRefused(error);
        const detail = refused
          ? "connection refused"
          : error instanceof Error
          ? error.message
          : String(error);
        failure = new ContreeNetworkError(`${where} failed: ${detail}`, { cause: error });
      } finally {
        if (!watching) timer.clear();
      }
      if (policy === undefined) throw failure;
      const retryable = failure instanceof ContreeApiError
        ? isRetryableStatus(policy, spec.method, failure.status)
        : isIdempotent(spec.method);
      if (!retryable || attempt >= policy.maxAttempts) throw failure;
      const delay = retryDelay(
        policy,
        attempt - 1,
        failure instanceof ContreeApiError ? failure.retryAfter : undefined,
      );
      const elapsed = Date.now() - started + delay;
      // Nothing listens at the address: worth a short wait (a restarting server), not more.
      if (elapsed > policy.deadline || (refused && elapsed > REFUSED_BUDGET)) throw failure;
      await sleep(delay, userSignal);
    }
  }

  #init(spec: RequestSpec, signal: AbortSignal, timer: AttemptTimer): RequestInit {
    const headers: Record<string, string> = { ...this.#config.headers, ...spec.headers };
    let body: BodyInit | undefined;
    if (spec.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(spec.json);
    } else if (spec.body !== undefined) {
      headers["content-type"] = "application/octet-stream";
      body = spec.body instanceof ReadableStream
        ? touching(spec.body, timer)
        : spec.body as BodyInit;
    }
    const init: RequestInit & { duplex?: "half" } = {
      method: spec.method,
      headers,
      body,
      signal,
      redirect: spec.manualRedirect ? "manual" : "follow",
    };
    if (body instanceof ReadableStream) init.duplex = "half";
    return init;
  }
}
