/** `/v1/operations`: listing, status, cancel, events; subprocesses answer 501. */
import { Hono } from "hono";
import { OPERATION_STATUSES, type OperationKind, type OperationStatus } from "../../store/mod.ts";
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

/**
 * Operation listing (a bare array, newest first), status, cancel (202; 409 when already
 * terminal) and the SSE event stream. Subprocess routes answer 501 until they exist.
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
  const notSupported = () => {
    throw new HttpError(501, "subprocesses are not supported by this server yet");
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
    .post("/operations/:uuid/subprocesses", notSupported)
    .get("/operations/:uuid/subprocesses/:spid", notSupported)
    .delete("/operations/:uuid/subprocesses/:spid", notSupported)
    .post("/operations/:uuid/subprocesses/:spid/stdin", notSupported);
}
