/** `/v1/operations`: listing, status, cancel, events, and the processes of running instances. */
import { type Context, Hono } from "hono";
import { parseExecRequest, parseStdinInput, processResult } from "../../ops/mod.ts";
import { parseSignal } from "../../sandbox/mod.ts";
import { OPERATION_STATUSES, type OperationStatus } from "../../../src/wire/mod.ts";
import type { OperationKind } from "../../store/mod.ts";
import { readJson } from "../body.ts";
import type { ApiContext } from "../context.ts";
import { errorResponse, HttpError } from "../http_error.ts";
import { flag, page, parseTime, timeWindow } from "../query.ts";
import { operationJson, operationSummaryJson } from "../render.ts";
import { eventStream } from "../sse.ts";

const KINDS: readonly OperationKind[] = ["instance", "image_import"];

function intParam(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new HttpError(400, `${name} must be an integer`);
  return n;
}

/** The `:spid` of a process route. */
function spidParam(c: Context): number {
  const spid = intParam(c.req.param("spid"), "spid");
  if (spid === undefined || spid < 0) throw new HttpError(400, "spid must be an integer >= 0");
  return spid;
}

/**
 * Operation listing (a bare array, newest first), status, cancel (202; 409 when already
 * terminal), the SSE event stream, and the processes of a running instance:
 *
 * - `POST …/subprocesses` (`ExecSpec`) starts a process in the instance's sandbox: 201
 *   `{"spid": N}` (N >= 2, increasing); 400 naming the invalid field; 404 unknown
 *   operation; 409 `operation is not running` unless ASSIGNED or EXECUTING with its sandbox
 *   up (an ASSIGNED one is waited for).
 * - `GET …/subprocesses/{spid}`: its `InstanceResult` folded from its events (`exit_code`
 *   and `signal` -1 while it runs); spid 1 is the main command; 404 unknown.
 * - `DELETE …/subprocesses/{spid}?signal=NAME|NUMBER` (default `KILL`): signals the
 *   process and its process group, 202; 409 once it has exited; 400 for spid 1 (cancel
 *   the operation instead) or an unknown signal.
 * - `POST …/subprocesses/{spid}/stdin` (`ClosableStreamRepr`, `close` default false):
 *   writes to its stdin, 204 once the process's pipe took the bytes; 409 when the stdin is
 *   closed or the process exited. Spid 1 works when the spawn's stdin had `close: false`.
 *
 * @example
 * ```ts
 * app.route("/v1", operationRoutes(ctx));
 * ```
 */
export function operationRoutes(ctx: ApiContext): Hono {
  const { operations, images } = ctx.store;
  const get = (uuid: string) => {
    const op = operations.get(uuid);
    if (!op) throw new HttpError(404, "operation not found");
    return op;
  };
  return new Hono()
    .get("/operations", (c) => {
      const status = c.req.query("status") || undefined;
      if (status !== undefined && !OPERATION_STATUSES.includes(status as OperationStatus)) {
        throw new HttpError(400, `status must be one of ${OPERATION_STATUSES.join(", ")}`);
      }
      const kind = c.req.query("kind") || undefined;
      if (kind !== undefined && !KINDS.includes(kind as OperationKind)) {
        throw new HttpError(400, `kind must be one of ${KINDS.join(", ")}`);
      }
      const list = operations.list({
        ...page(c),
        ...timeWindow(c),
        status: status as OperationStatus | undefined,
        kind: kind as OperationKind | undefined,
      });
      return c.json(list.map(operationSummaryJson));
    })
    .get("/operations/:uuid", (c) => {
      flag(c, "inflight");
      return c.json(operationJson(get(c.req.param("uuid")), images));
    })
    .delete("/operations/:uuid", (c) => {
      switch (ctx.engine.cancel(c.req.param("uuid"))) {
        case "not_found":
          throw new HttpError(404, "operation not found");
        case "not_cancellable":
          return errorResponse(c, 409, "operation is not cancellable");
        case "cancelling":
          return c.body(null, 202);
      }
    })
    .get("/operations/:uuid/events", (c) => {
      const op = get(c.req.param("uuid"));
      const lastId = intParam(
        c.req.header("Last-Event-Id") ?? c.req.query("last_event_id"),
        "Last-Event-Id",
      );
      const since = c.req.query("since");
      const sinceId = since !== undefined && /^\d+$/.test(since) ? Number(since) : undefined;
      const afterId = Math.max(lastId ?? -1, sinceId !== undefined ? sinceId - 1 : -1);
      const body = eventStream(ctx.hub, op.uuid, {
        afterId,
        follow: flag(c, "follow"),
        spid: intParam(c.req.query("spid"), "spid"),
        since: since && sinceId === undefined ? parseTime(since, "since") : undefined,
        keepaliveMs: ctx.keepaliveMs,
      });
      if (c.req.method === "HEAD") {
        body.cancel();
        return c.body(null, 200, { "Content-Type": "text/event-stream" });
      }
      return c.body(body, 200, {
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
      });
    })
    .get("/operations/:uuid/import", (c) => {
      const op = get(c.req.param("uuid"));
      if (op.kind !== "image_import") throw new HttpError(404, "not an image import operation");
      return c.json(operationJson(op, images));
    })
    .post("/operations/:uuid/subprocesses", async (c) => {
      const op = get(c.req.param("uuid"));
      const parsed = parseExecRequest(await readJson(c, ctx.maxBodyBytes), ctx.limits);
      if (!parsed.ok) throw new HttpError(400, parsed.error);
      const spid = await ctx.engine.exec(op.uuid, parsed.value);
      return c.json({ spid }, 201, {
        Location: `/v1/operations/${op.uuid}/subprocesses/${spid}`,
      });
    })
    .get("/operations/:uuid/subprocesses/:spid", (c) => {
      const op = get(c.req.param("uuid"));
      const spid = spidParam(c);
      const result = processResult(ctx.hub, op.uuid, spid);
      if (!result) throw new HttpError(404, `no subprocess ${spid}`);
      return c.json(result);
    })
    .delete("/operations/:uuid/subprocesses/:spid", (c) => {
      const op = get(c.req.param("uuid"));
      const spid = spidParam(c);
      const name = c.req.query("signal") || "KILL";
      const signo = parseSignal(name);
      if (signo === undefined) {
        throw new HttpError(400, `signal: unknown signal ${JSON.stringify(name)}`);
      }
      ctx.engine.signalProcess(op.uuid, spid, signo);
      return c.body(null, 202);
    })
    .post("/operations/:uuid/subprocesses/:spid/stdin", async (c) => {
      const op = get(c.req.param("uuid"));
      const spid = spidParam(c);
      const parsed = parseStdinInput(await readJson(c, ctx.maxBodyBytes));
      if (!parsed.ok) throw new HttpError(400, parsed.error);
      await ctx.engine.writeProcessStdin(op.uuid, spid, parsed.value);
      return c.body(null, 204);
    });
}
