// Small raw-HTTP helpers for the server tests (fetch only).

/**
 * Where requests go: a backend process (`startBackend`: `url` + `fetch`) or an app in this
 * process (`openInProcess`: its `fetch` is `app.request()`).
 */
export interface ApiTarget {
  /** Base URL (no trailing slash). */
  url: string;
  /** The bearer token. */
  token: string;
  /** Sends a request for a path (default: the global fetch on `url` + path). */
  fetch?: (path: string, init: RequestInit) => Promise<Response>;
}

/** A parsed SSE frame. */
export interface Frame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** An OperationEvent as sent in `data:`. */
export interface OpEvent {
  id: number;
  ts: string;
  spid: number;
  type: string;
  data: Record<string, unknown>;
}

/** Options of a request. */
export interface RequestOptions {
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  auth?: boolean;
}

/** Sends a request to the backend (authenticated unless `auth: false`). */
export function request(
  b: ApiTarget,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth !== false) headers.Authorization = `Bearer ${b.token}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  const init: RequestInit = { method, headers, body, redirect: "manual" };
  return b.fetch ? b.fetch(path, init) : fetch(`${b.url}${path}`, init);
}

/** Sends a request and decodes the JSON reply. */
export async function call(
  b: ApiTarget,
  method: string,
  path: string,
  options: RequestOptions = {},
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await request(b, method, path, options);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

/** Spawns a run and returns the operation UUID. */
export async function spawn(b: ApiTarget, body: Record<string, unknown>): Promise<string> {
  const res = await call(b, "POST", "/v1/instances", {
    json: { image: "tag:busybox:latest", ...body },
  });
  if (res.status !== 201) throw new Error(`spawn: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.uuid;
}

const TERMINAL = new Set(["SUCCESS", "FAILED", "CANCELLED"]);

/** Polls an operation until it is terminal (or `timeoutMs` passes) and returns it. */
// deno-lint-ignore no-explicit-any
export async function waitOp(b: ApiTarget, uuid: string, timeoutMs = 120_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const { status, body } = await call(b, "GET", `/v1/operations/${uuid}`);
    if (status !== 200) throw new Error(`operation ${uuid}: ${status} ${JSON.stringify(body)}`);
    if (TERMINAL.has(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`operation ${uuid} still ${body.status}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Spawns a run, waits for it and returns the finished operation. */
// deno-lint-ignore no-explicit-any
export async function run(b: ApiTarget, body: Record<string, unknown>): Promise<any> {
  return await waitOp(b, await spawn(b, body));
}

/** Decodes a StreamRepr to text. */
export function text(repr: { value: string; encoding: string }): string {
  return repr.encoding === "base64"
    ? new TextDecoder().decode(Uint8Array.from(atob(repr.value), (c) => c.charCodeAt(0)))
    : repr.value;
}

/** Parses SSE text into frames. */
export function parseFrames(body: string): Frame[] {
  return body.split(/\r?\n\r?\n/).filter((block) => block.trim() !== "").map((block) => {
    const frame: Frame = {};
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(":")) frame.comment = line.slice(1).trim();
      else {
        const i = line.indexOf(":");
        const key = line.slice(0, i) as "id" | "event" | "data";
        frame[key] = line.slice(i + 1).replace(/^ /, "");
      }
    }
    return frame;
  });
}

/** Reads the whole (non-follow) event log of an operation. */
export async function events(b: ApiTarget, uuid: string, query = ""): Promise<OpEvent[]> {
  const res = await request(b, "GET", `/v1/operations/${uuid}/events${query}`, {
    headers: { Accept: "text/event-stream" },
  });
  if (res.status !== 200) throw new Error(`events: ${res.status} ${await res.text()}`);
  return parseFrames(await res.text()).filter((f) => f.data).map((f) => JSON.parse(f.data!));
}

/**
 * Follows an operation's events until its stdout contains `needle` (the sandbox is then
 * fully up), or throws when the operation ends first.
 */
export async function waitOutput(b: ApiTarget, uuid: string, needle: string): Promise<void> {
  const res = await request(b, "GET", `/v1/operations/${uuid}/events?follow=1&spid=1`);
  const decoder = new TextDecoder();
  let seen = "";
  let buffer = "";
  for await (const chunk of res.body!) {
    buffer += decoder.decode(chunk, { stream: true });
    const blocks = buffer.split("\n\n");
    buffer = blocks.pop()!;
    for (const frame of parseFrames(blocks.join("\n\n"))) {
      if (frame.event !== "stdout") continue;
      seen += text(JSON.parse(frame.data!).data);
      // Leaving the loop cancels the stream.
      if (seen.includes(needle)) return;
    }
  }
  throw new Error(`operation ${uuid} ended without printing ${needle}`);
}
