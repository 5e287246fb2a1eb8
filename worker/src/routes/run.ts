/**
 * `POST /images/:ref/run`: a command in a new instance, through the SDK. JSON by default; with
 * `Accept: text/event-stream`, output is streamed live and a client that goes away cancels the
 * run upstream.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import {
  Contree,
  ContreeImage,
  type ContreeResult,
  OperationCancelledError,
  OperationFailedError,
  OperationTimedOutError,
  type RunOptions,
} from "../../../mod.ts";
import { type GatewayEnv, requireWrite } from "../_auth.ts";
import { Problem, problemBody } from "../_problem.ts";
import { RefParams, RunBody, type RunRequest } from "../_schemas.ts";
import { toProblem } from "../_upstream.ts";
import { requireJson, valid } from "../_validate.ts";
import type { ImageRef } from "../_paths.ts";

/**
 * The outcome of a run as the gateway shows it.
 *
 * @example
 * ```ts
 * import type { RunResultJson } from "./run.ts";
 *
 * const failed = (result: RunResultJson) => result.timedOut || result.exitCode !== 0;
 * ```
 */
export interface RunResultJson {
  /** The operation that ran the command. */
  operation: string;
  /** The command's exit code; `null` when it timed out. */
  exitCode: number | null;
  /** The signal that ended it, or `null`. */
  signal: number | null;
  /** Whether the run's `timeout` cut it short. */
  timedOut: boolean;
  /** Wall time in milliseconds, when known. */
  elapsedMs: number | null;
  /** stdout as UTF-8 (invalid bytes replaced); absent in event streams, where it came live. */
  stdout?: string;
  /** stderr, likewise. */
  stderr?: string;
  /** Which streams the server cut at its output cap. */
  truncated: { stdout: boolean; stderr: boolean };
  /** The result image; `null` for disposable or timed-out runs. */
  image: { uuid: string; tag: string | null } | null;
}

/**
 * How often a quiet event stream gets a comment frame (3 bytes), in ms. It keeps proxies and
 * clients from timing out, and it is how a gone client is noticed where the runtime learns of a
 * closed connection only when it writes (workerd): behind `wrangler dev`'s proxy, which itself
 * notices only when it forwards a frame, a disconnect takes two frames to reach the gateway, so
 * the run is cancelled upstream about a second after its client left.
 */
const KEEPALIVE_MS = 500;
const encoder = new TextEncoder();

function sdkImage(contree: Contree, ref: ImageRef): ContreeImage {
  return new ContreeImage(contree, "uuid" in ref ? { uuid: ref.uuid } : { tag: ref.tag });
}

/**
 * The SDK options of a validated body (the field names match). Runs are disposable unless the
 * body says `disposable: false`, as in the SDK.
 */
function runOptions(body: RunRequest, signal: AbortSignal): RunOptions {
  return { ...body, signal };
}

function resultJson(image: ContreeImage<unknown, unknown>): RunResultJson {
  const result = image.result as ContreeResult<unknown, unknown>;
  const json: RunResultJson = {
    operation: result.operationUuid,
    exitCode: result.exitCode,
    signal: result.signal ?? null,
    timedOut: false,
    elapsedMs: result.elapsed,
    truncated: { stdout: !!result.truncated.stdout, stderr: !!result.truncated.stderr },
    image: image.uuid ? { uuid: image.uuid, tag: image.tag ?? null } : null,
  };
  if (typeof result.stdout === "string") json.stdout = result.stdout;
  if (typeof result.stderr === "string") json.stderr = result.stderr;
  return json;
}

function timedOutJson(error: OperationTimedOutError, live: boolean): RunResultJson {
  const json: RunResultJson = {
    operation: error.operationUuid,
    exitCode: null,
    signal: null,
    timedOut: true,
    elapsedMs: null,
    truncated: { stdout: false, stderr: false },
    image: null,
  };
  if (!live) {
    json.stdout = error.stdout;
    json.stderr = error.stderr;
  }
  return json;
}

function runProblem(error: unknown): Problem {
  if (error instanceof OperationCancelledError) {
    return new Problem(409, "the run was cancelled upstream", { cause: error });
  }
  if (error instanceof OperationFailedError) {
    return new Problem(502, "the run failed upstream", { cause: error });
  }
  return toProblem(error, "no such image");
}

/** Runs `work` past the response where the runtime allows it (Workers' `waitUntil`). */
function keepAlive(c: Context<GatewayEnv>, work: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    // Deno and Bun keep running promises anyway: there is no execution context there.
  }
}

/** Aborts `controller` when the client goes away (where the runtime reports it). */
function onDisconnect(c: Context<GatewayEnv>, controller: AbortController): void {
  const signal = c.req.raw.signal;
  const abort = () => controller.abort(new DOMException("the client went away", "AbortError"));
  if (signal.aborted) abort();
  else signal.addEventListener("abort", abort, { once: true });
}

/**
 * The run route, with the SDK over the gateway's wire client.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { runRoutes } from "./run.ts";
 *
 * const app = new Hono().route("/", runRoutes());
 * ```
 */
export function runRoutes(): Hono<GatewayEnv> {
  return new Hono<GatewayEnv>().post(
    "/images/:ref/run",
    requireWrite(),
    valid("param", RefParams),
    requireJson(),
    valid("json", RunBody),
    async (c) => {
      const client = c.get("client");
      // One SDK client per request: it owns an AbortController, and Workers bind those to the
      // request that made them. It is a thin layer over the shared wire client.
      const contree = new Contree(client, { operationTimeout: 3600 });
      const image = sdkImage(contree, c.req.valid("param").ref);
      const body = c.req.valid("json");
      const controller = new AbortController();
      onDisconnect(c, controller);
      const live = (c.req.header("accept") ?? "").includes("text/event-stream");
      if (!live) {
        try {
          return c.json(resultJson(await image.run(runOptions(body, controller.signal))));
        } catch (error) {
          if (error instanceof OperationTimedOutError) return c.json(timedOutJson(error, false));
          throw runProblem(error);
        }
      }
      return await stream(c, image, body, controller);
    },
  );
}

/** The event-stream form of a run: answers once the operation exists, then streams. */
async function stream(
  c: Context<GatewayEnv>,
  image: ContreeImage,
  body: RunRequest,
  controller: AbortController,
): Promise<Response> {
  let sse!: ReadableStreamDefaultController<Uint8Array>;
  let open = true;
  const send = (frame: string) => {
    if (!open) return;
    try {
      sse.enqueue(encoder.encode(frame));
    } catch {
      open = false;
    }
  };
  const event = (name: string, data: unknown) =>
    send(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  const sink = (name: "stdout" | "stderr") => {
    const decoder = new TextDecoder();
    return new WritableStream<Uint8Array>({
      write(chunk) {
        const text = decoder.decode(chunk, { stream: true });
        if (text !== "") event(name, { text });
      },
      close() {
        const text = decoder.decode();
        if (text !== "") event(name, { text });
      },
    });
  };
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      sse = c;
    },
    cancel() {
      open = false;
      controller.abort(new DOMException("the client went away", "AbortError"));
    },
  });
  const options = {
    ...runOptions(body, controller.signal),
    stdout: sink("stdout"),
    stderr: sink("stderr"),
  };
  const run = image.run(options).start();
  try {
    await run.whenSpawned();
  } catch (error) {
    await run.then(() => {}, () => {});
    throw runProblem(error);
  }
  const keepalive = setInterval(() => send(":\n\n"), KEEPALIVE_MS);
  const work = run.then(
    (result) => event("result", resultJson(result)),
    (error) => {
      if (controller.signal.aborted) return;
      if (error instanceof OperationTimedOutError) {
        return event("result", timedOutJson(error, true));
      }
      event("error", problemBody(runProblem(error), c.get("requestId")));
    },
  ).finally(() => {
    clearInterval(keepalive);
    if (open) {
      open = false;
      sse.close();
    }
  });
  keepAlive(c, work);
  send(`: operation ${run.operationUuid}\n\n`);
  return new Response(readable, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    },
  });
}
