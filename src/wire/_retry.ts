// The retry policy's mechanics: which failures to replay and how long to wait.
import { DEFAULT_RETRY_DELAYS, type RetryOptions } from "./retry.ts";

/** A resolved policy. */
export interface RetryPolicy {
  maxAttempts: number;
  delays: readonly number[];
  deadline: number;
  retryUnsafe: boolean;
}

/** Fills in the defaults. */
export function retryPolicy(options: RetryOptions | undefined): RetryPolicy {
  const delays = options?.delays ?? DEFAULT_RETRY_DELAYS;
  return {
    maxAttempts: options?.maxAttempts ?? 10,
    delays: delays.length > 0 ? delays : [0],
    deadline: options?.deadline ?? 120_000,
    retryUnsafe: options?.retryUnsafe ?? false,
  };
}

const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE"]);

/** Whether a method may be replayed after a network error or a 410/5xx. */
export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

/** 5xx answers that will not change on a replay: Not Implemented, HTTP Version Not Supported. */
const PERMANENT = new Set([501, 505]);

/** Whether an answer with `status` to `method` is worth replaying. */
export function isRetryableStatus(policy: RetryPolicy, method: string, status: number): boolean {
  if (status === 425 || status === 429) return true;
  if ((status !== 410 && status < 500) || PERMANENT.has(status)) return false;
  return isIdempotent(method) || policy.retryUnsafe;
}

/**
 * How long connections refused outright are retried, in milliseconds: long enough to ride
 * out a server restarting, short enough that a wrong URL fails at once.
 */
export const REFUSED_BUDGET = 1_500;

const REFUSED_CODES = new Set(["ECONNREFUSED", "ConnectionRefused"]);

/**
 * Whether a failure (or one of its causes) is a refused TCP connection, as Node (`code:
 * ECONNREFUSED`), Bun (`code: ConnectionRefused`) and Deno (the message) report it.
 */
export function isConnectionRefused(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Object && depth < 8; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === "string" && REFUSED_CODES.has(code)) return true;
    if (typeof message === "string" && /connection refused|ECONNREFUSED/i.test(message)) {
      return true;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The wait before attempt number `retry` (0-based), in milliseconds. */
export function retryDelay(policy: RetryPolicy, retry: number, retryAfter?: number): number {
  if (retryAfter !== undefined) return retryAfter * 1000;
  return policy.delays[Math.min(retry, policy.delays.length - 1)];
}

/** Parses `Retry-After` (delta-seconds or an HTTP-date) into seconds. */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

/** Waits `ms` milliseconds; rejects with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
