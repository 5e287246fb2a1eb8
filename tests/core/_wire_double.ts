// A ConTree wire double for the client tests: a Hono app reproducing the API's shapes and
// its hard cases (gzip frames, broken streams, in-band errors, 410/425, retries, truncation).
import { Hono } from "hono";
import { createHash } from "node:crypto";
import { serve, type Served } from "./_serve.ts";

export const IMAGE = "87654321-9abc-baba-deda-0123456789ab";
export const TS = "2024-01-01T12:00:00+00:00";

export const WHOAMI = {
  token_uuid: "tok-1",
  token_expiration: null,
  permissions: { spawn: true, list: true },
  limits: { instance_max_timeout: 3600 },
  operations_stat: {},
  extra_field: "ignored",
};

const RESOURCES = Object.fromEntries(
  [
    "user_time_us",
    "sys_time_us",
    "max_rss_kb",
    "shared_memory",
    "unshared_memory",
    "swaps",
    "minor_faults",
    "major_faults",
    "voluntary_ctx_switches",
    "involuntary_ctx_switches",
    "block_input_ops",
    "block_output_ops",
    "ipc_msgs_sent",
    "ipc_msgs_received",
    "signals_received",
  ].map((name) => [name, 0]),
);

/** The log of a typical run: init, spawn, stdout, exit, completion (ids 0..4). */
export const LOG: Record<string, unknown>[] = [
  {
    id: 0,
    ts: "2026-06-08T20:00:00Z",
    spid: 0,
    type: "init",
    data: {
      started_at: "2026-06-08T20:00:00.000000000Z",
      runtime_path: "/run/contreeinitd",
      verbose: false,
      init_pid: 1,
    },
  },
  {
    id: 1,
    ts: "2026-06-08T20:00:00.10Z",
    spid: 1,
    type: "spawn",
    data: {
      pid: 4242,
      command: "/bin/sh",
      args: ["-c", "echo hi"],
      shell: true,
      cwd: "/",
      uid: 0,
      gid: 0,
      timeout: 60,
      truncate_at: 1048576,
      env: { PATH: "/usr/bin:/bin" },
    },
  },
  {
    id: 2,
    ts: "2026-06-08T20:00:00.11Z",
    spid: 1,
    type: "stdout",
    data: { value: "hi\n", encoding: "ascii" },
  },
  {
    id: 3,
    ts: "2026-06-08T20:00:00.12Z",
    spid: 1,
    type: "exit",
    data: {
      pid: 4242,
      code: 0,
      signal: -1,
      timed_out: false,
      duration_ms: 12,
      resources: RESOURCES,
    },
  },
  {
    id: 4,
    ts: "2026-06-08T20:00:00.20Z",
    spid: 0,
    type: "completion",
    data: {
      status: "SUCCESS",
      result_image_uuid: IMAGE,
      error: null,
      duration_ms: 200,
      image_size_bytes: 0,
    },
  },
];

/** One SSE frame of an event. */
export function frame(event: Record<string, unknown>): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

export const SSE_ERROR =
  ": stream ended with error, retry since last event id\n\nevent: sse_error\ndata: upstream event source closed unexpectedly\n\n";

/** A part of a scripted body: text (one chunk each), a wait, or a failure (connection dropped). */
export type Part = string | Uint8Array | Promise<unknown> | { die: true };

/** A streamed response made of parts, each sent as one chunk. */
export function streamed(parts: Part[], init: ResponseInit = {}): Response {
  const queue = [...parts];
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (queue.length > 0) {
        const part = queue.shift()!;
        if (part instanceof Promise) {
          await part;
          continue;
        }
        if (typeof part === "object" && "die" in part) {
          controller.error(new Error("dropped by the double"));
          return;
        }
        controller.enqueue(typeof part === "string" ? encoder.encode(part) : part);
        return;
      }
      controller.close();
    },
  });
  return new Response(body, init);
}

function sse(parts: Part[], extra: Record<string, string> = {}): Response {
  return streamed(parts, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache", ...extra },
  });
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** A scripted answer to one route, used once before the route's normal behaviour. */
export interface Fault {
  status?: number;
  /** JSON body (default `{"error": "fault", "status": <status>}`). */
  json?: unknown;
  /** Raw text body instead of JSON. */
  text?: string;
  headers?: Record<string, string>;
  /** Drop the connection without answering. */
  drop?: boolean;
  /** Wait before answering (ms). */
  delay?: number;
  /** End the gzip encoding without its trailer. */
  truncateGzip?: boolean;
}

/** What an event-stream connection sees. */
export interface EventsContext {
  lastEventId: number | undefined;
  follow: boolean;
  connection: number;
  log: Record<string, unknown>[];
}

/** An operation of the double. */
export interface Op {
  kind?: string;
  /** Statuses answered by successive GET /operations/{id}; the last repeats. */
  statuses: string[];
  log?: Record<string, unknown>[];
  /** Answers of successive /events connections; the last repeats. Default: the log after the cursor. */
  events?: ((ctx: EventsContext) => Response | Promise<Response>)[];
}

/** The log after the cursor, as one stream. */
export function replay(ctx: EventsContext, extra: Part[] = []): Response {
  const after = ctx.log.filter((e) =>
    ctx.lastEventId === undefined || (e.id as number) > ctx.lastEventId
  );
  return sse([...after.map(frame), ...extra]);
}

export interface Recorded {
  method: string;
  url: URL;
  rawPath: string;
  headers: Headers;
  body: Uint8Array;
}

const encoder = new TextEncoder();

export class WireDouble {
  served!: Served;
  requests: Recorded[] = [];
  faults = new Map<string, Fault[]>();
  files = new Map<string, { uuid: string; sha256: string; size: number }>();
  uploads = 0;
  images = Array.from({ length: 25 }, (_, i) => ({
    uuid: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`,
    tag: i % 2 === 0 ? `app/img:${i}` : null,
    created_at: TS,
    operation_uuid: null,
  }));
  ops = new Map<string, Op & { polls: number; connections: number }>();
  acked = false;
  #ack: () => void = () => {};
  ackReceived = new Promise<void>((resolve) => this.#ack = resolve);
  bigFile = new Uint8Array(0);

  get url(): string {
    return this.served.url;
  }

  /** Queues faults for `METHOD /path` (pathname as requested, without the query). */
  fail(route: string, ...faults: Fault[]): void {
    this.faults.set(route, [...(this.faults.get(route) ?? []), ...faults]);
  }

  addOp(uuid: string, op: Op): void {
    this.ops.set(uuid, { ...op, polls: 0, connections: 0 });
  }

  /** Requests whose pathname ends with `suffix`. */
  seen(method: string, suffix: string): Recorded[] {
    return this.requests.filter((r) => r.method === method && r.url.pathname.endsWith(suffix));
  }

  async start(): Promise<this> {
    const app = this.#app();
    this.served = await serve(async (request) => {
      const url = new URL(request.url);
      const body = new Uint8Array(await request.arrayBuffer());
      const rawPath = request.url.slice(url.origin.length).split("?")[0];
      this.requests.push({ method: request.method, url, rawPath, headers: request.headers, body });
      const fault = this.faults.get(`${request.method} ${rawPath}`)?.shift();
      if (fault) return await this.#fault(fault);
      return await app.fetch(
        new Request(request.url, {
          method: request.method,
          headers: request.headers,
          body: request.method === "GET" || request.method === "HEAD" ? undefined : body,
        }),
      );
    });
    return this;
  }

  close(): Promise<void> {
    return this.served.close();
  }

  async #fault(fault: Fault): Promise<Response> {
    if (fault.delay) await new Promise((resolve) => setTimeout(resolve, fault.delay));
    if (fault.drop) throw new Error("drop");
    const status = fault.status ?? 500;
    const headers: Record<string, string> = { ...fault.headers };
    if (fault.truncateGzip) headers["x-double-truncate-gzip"] = "1";
    if (fault.text !== undefined) {
      return new Response(fault.text, {
        status,
        headers: { "content-type": "text/plain", ...headers },
      });
    }
    return json(fault.json ?? { error: `fault ${status}`, status }, status, headers);
  }

  #app(): Hono {
    const app = new Hono().basePath("/v1");
    const op = (id: string) => this.ops.get(id);
    const page = <T>(items: T[], limit: string | undefined, offset: string | undefined) => {
      const n = Number(limit ?? 100);
      if (!(n >= 1 && n <= 1000)) return undefined;
      const start = Number(offset ?? 0);
      return items.slice(start, start + n);
    };
    const limitError = () => json({ error: "limit must be between 1 and 1000", status: 400 }, 400);

    app.get("/whoami", () => json(WHOAMI));

    app.get("/images", (c) => {
      const prefix = c.req.query("tag");
      const tagged = c.req.query("tagged");
      const items = this.images.filter((img) =>
        (prefix === undefined || (img.tag ?? "").startsWith(prefix)) &&
        (tagged === undefined || tagged === "0" || img.tag !== null)
      );
      const out = page(items, c.req.query("limit"), c.req.query("offset"));
      return out ? json({ images: out }) : limitError();
    });
    app.patch("/images/:uuid/tag", async (c) => {
      const { tag } = await c.req.json();
      return json({ uuid: c.req.param("uuid"), tag, created_at: TS, operation_uuid: null });
    });
    app.delete("/images/:uuid/tag", () => json(null, 204));
    app.post(
      "/images/import",
      () => json({ uuid: "op-import" }, 201, { location: "/v1/operations/op-import" }),
    );

    app.post("/files", async (c) => {
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      this.uploads++;
      const file = { uuid: `file-${this.uploads}`, sha256, size: bytes.length };
      this.files.set(sha256, file);
      return json(file, 201);
    });
    app.get("/files", (c) => {
      const files = [...this.files.values()].map((f) => ({ ...f, created_at: TS, updated_at: TS }));
      const out = page(files, c.req.query("limit"), c.req.query("offset"));
      return out ? json({ files: out }) : limitError();
    });
    app.get("/files/:sha", (c) => {
      const file = this.files.get(c.req.param("sha"));
      return file
        ? json({ ...file, created_at: TS, updated_at: TS })
        : json({ error: "file not found", status: 404 }, 404);
    });

    app.post("/instances", async (c) => {
      const body = await c.req.json();
      return json({ uuid: "op-spawned", ...body }, 201, { location: "/v1/operations/op-spawned" });
    });

    app.get("/operations", (c) => {
      const all = Array.from({ length: 7 }, (_, i) => ({
        uuid: `op-${i}`,
        kind: "instance",
        status: "SUCCESS",
        error: null,
        created_at: TS,
        duration: 1.5,
      }));
      const out = page(all, c.req.query("limit"), c.req.query("offset"));
      return out ? json(out) : limitError();
    });
    app.get("/operations/:id", (c) => {
      const id = c.req.param("id");
      const state = op(id);
      if (!state) return json({ error: "operation not found", status: 404 }, 404);
      const status = state.statuses[Math.min(state.polls++, state.statuses.length - 1)];
      const kind = state.kind ?? "instance";
      return json(
        {
          uuid: id,
          kind,
          status,
          error: null,
          created_at: TS,
          duration: 1.5,
          metadata: kind === "instance"
            ? {
              command: "echo hi",
              image: IMAGE,
              shell: true,
              result: {
                resources: { elapsed_time: 0.2, max_rss: 1024 },
                state: { exit_code: 0, pid: 42 },
                stdout: { value: "aGkK", encoding: "base64", truncated: false },
                stderr: { value: "", encoding: "ascii" },
              },
            }
            : {
              registry: { url: "docker://docker.io/library/busybox:latest" },
              tag: "busybox:latest",
            },
          result_image_uuid: status === "SUCCESS" ? IMAGE : null,
          result: { image: status === "SUCCESS" ? IMAGE : null, tag: null },
        },
        200,
        { "retry-after": "1" },
      );
    });
    app.delete("/operations/:id", (c) => {
      const state = op(c.req.param("id"));
      return state?.statuses.at(-1) === "SUCCESS"
        ? json({ error: "operation is not cancellable", status: 409 }, 409)
        : json(null, 202);
    });
    app.get("/operations/:id/events", async (c) => {
      const state = op(c.req.param("id"));
      if (!state) return json({ error: "operation not found", status: 404 }, 404);
      const header = c.req.header("last-event-id");
      const follow = c.req.query("follow");
      const ctx: EventsContext = {
        lastEventId: header === undefined ? undefined : Number(header),
        follow: follow !== undefined && follow !== "0",
        connection: state.connections++,
        log: state.log ?? LOG,
      };
      const script = state.events ?? [replay];
      return await script[Math.min(ctx.connection, script.length - 1)](ctx);
    });
    app.post("/operations/:id/subprocesses", () => json({ spid: 2 }, 201));
    app.get("/operations/:id/subprocesses/:spid", () =>
      json({
        state: { exit_code: -1, signal: -1, pid: 7 },
        stdout: { value: "partial", encoding: "ascii" },
      }));
    app.delete("/operations/:id/subprocesses/:spid", () => json(null, 204));
    app.post("/operations/:id/subprocesses/:spid/stdin", () => json(null, 204));

    app.get("/inspect/", (c) => {
      const tag = c.req.query("tag");
      if (!tag) return json({ error: "tag is required", status: 400 }, 400);
      const image = this.images.find((img) => img.tag === tag);
      if (!image) return json({ error: "tag not found", status: 404 }, 404);
      return new Response(null, { status: 302, headers: { location: `${image.uuid}/` } });
    });
    app.get(
      "/inspect/:uuid/",
      (c) => json({ uuid: c.req.param("uuid"), tag: null, created_at: TS }),
    );
    app.get("/inspect/:uuid/list", (c) => {
      const path = c.req.query("path") ?? "/";
      if (c.req.query("text") !== undefined) {
        return new Response(`-rw-r--r-- root root 1024 passwd\n`);
      }
      return json({
        path,
        files: [{
          size: 1024,
          path: "passwd",
          owner: "root",
          group: 0,
          uid: 0,
          gid: 0,
          mode: 33188,
          mtime: 1640995200,
          nlink: 1,
          is_dir: false,
          is_regular: true,
          is_symlink: false,
          is_socket: false,
          is_fifo: false,
          symlink_to: "",
        }],
      });
    });
    const download = (path: string): Response => {
      if (path === "/etc") {
        return json({ error: "the path is not usable inside the image", status: 422 }, 422);
      }
      if (path === "/big") {
        const chunk = 64 * 1024;
        const parts: Uint8Array[] = [];
        for (let i = 0; i < this.bigFile.length; i += chunk) {
          parts.push(this.bigFile.subarray(i, i + chunk));
        }
        return streamed(parts, { headers: { "content-length": String(this.bigFile.length) } });
      }
      if (path === "/endless") {
        return new Response(
          new ReadableStream({
            async pull(controller) {
              await new Promise((resolve) => setTimeout(resolve, 1));
              controller.enqueue(new Uint8Array(64 * 1024));
            },
          }),
        );
      }
      if (path === "/stall") return streamed(["0123456789", new Promise(() => {})]);
      if (path === "/drip") {
        // Six chunks 100 ms apart: slow, but never idle for long.
        const gap = () => new Promise((resolve) => setTimeout(resolve, 100));
        return streamed(Array.from({ length: 6 }, (_, i) => [gap(), `drip ${i}\n`]).flat());
      }
      if (path !== "/etc/hosts") return json({ error: "file not found", status: 404 }, 404);
      const bytes = encoder.encode("127.0.0.1 localhost\n");
      return new Response(bytes, { headers: { "content-length": String(bytes.length) } });
    };
    app.get("/inspect/:uuid/download", (c) => download(c.req.query("path") ?? ""));
    app.get("/inspect/:uuid/archive", (c) => {
      const path = c.req.query("path");
      if (path === "/stall") return streamed(["etc/\0", new Promise(() => {})]);
      if (path !== "/etc") return json({ error: "path not found", status: 404 }, 404);
      return streamed(["etc/hosts\0", "tar-bytes".repeat(1000), "end-of-archive"], {
        headers: { "content-type": "application/x-tar" },
      });
    });
    app.get("/inspect/:uuid/grep", (c) =>
      json({
        path: c.req.queries("path")?.[0] ?? "/",
        patterns: c.req.queries("pattern") ?? [],
        matches: [{
          path: "/etc/passwd",
          line_number: 1,
          absolute_offset: 0,
          line_text: "root:x:0:0:root:/root:/bin/sh",
          line_bytes: 29,
          submatches: [{ text: "root", start: 0, end: 4 }],
          type: "match",
        }],
        truncated: false,
      }));
    app.get("/ack", () => {
      this.acked = true;
      this.#ack();
      return json({ ok: true });
    });
    return app;
  }
}
