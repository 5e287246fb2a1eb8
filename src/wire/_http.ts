// The HTTP layer of the wire client: URLs, headers, timeouts, aborts, retries and error mapping.
import {
  apiError,
  ContreeApiError,
  ContreeError,
  ContreeNetworkError,
  ContreeTimeoutError,
} from "./errors.ts";
import {
  isIdempotent,
  isRetryableStatus,
  parseRetryAfter,
  retryDelay,
  type RetryPolicy,
  sleep,
} from "./_retry.ts";
import type { Content } from "./hash.ts";
import type { RequestOptions } from "./client.ts";

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
}

/** The transport's settings. */
export interface HttpConfig {
  baseUrl: string;
  headers: Record<string, string>;
  fetch: (input: string, init: RequestInit) => Promise<Response>;
  timeout: number;
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

/** A timer that aborts one attempt with a ContreeTimeoutError. */
class AttemptTimer {
  readonly controller = new AbortController();
  fired = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly ms: number) {
    if (Number.isFinite(ms) && ms > 0) {
      this.#timer = setTimeout(() => {
        this.fired = true;
        this.controller.abort(new ContreeTimeoutError(ms));
      }, ms);
    }
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}

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
   * Sends a request whose body is streamed by the caller: the timeout covers the
   * wait for the response headers only, and the caller's signal stays linked to
   * the body, so aborting it cancels the transfer at once.
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
      try {
        const res = await config.fetch(url, this.#init(spec, signal));
        if (streaming) timer.clear();
        const passed = res.ok || spec.pass?.includes(res.status) ||
          (spec.manualRedirect === true &&
            ((res.status >= 300 && res.status < 400) || res.type === "opaqueredirect"));
        if (passed) return await read(res);
        failure = await errorFromResponse(res, spec.method, url);
      } catch (error) {
        if (timer.fired) throw new ContreeTimeoutError(timer.ms);
        if (userSignal?.aborted) throw userSignal.reason;
        if (error instanceof ContreeError) throw error;
        const detail = error instanceof Error ? error.message : String(error);
        failure = new ContreeNetworkError(`${where} failed: ${detail}`, { cause: error });
      } finally {
        timer.clear();
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
      if (Date.now() - started + delay > policy.deadline) throw failure;
      await sleep(delay, userSignal);
    }
  }

  #init(spec: RequestSpec, signal: AbortSignal): RequestInit {
    const headers: Record<string, string> = { ...this.#config.headers, ...spec.headers };
    let body: BodyInit | undefined;
    if (spec.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(spec.json);
    } else if (spec.body !== undefined) {
      headers["content-type"] = "application/octet-stream";
      body = spec.body as BodyInit;
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
