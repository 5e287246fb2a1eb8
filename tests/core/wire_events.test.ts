// The SSE parser, the typed events, and the event-stream endpoints against the wire double.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ContreeApiError,
  ContreeClient,
  ContreeNetworkError,
  isCompletion,
  type OperationEvent,
  OperationEventDecoder,
  parseOperationEvent,
  parseSSE,
  SSE_MAX_FRAME_BYTES,
  type SSEMessage,
  SSEParser,
  SSEStreamError,
  UnauthorizedError,
} from "../../mod.ts";
import {
  type EventsContext,
  frame,
  IMAGE,
  LOG,
  type Part,
  replay,
  SSE_ERROR,
  streamed,
  WireDouble,
} from "./_wire_double.ts";

const encoder = new TextEncoder();

function chunks(...parts: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(parts.map((p) => typeof p === "string" ? encoder.encode(p) : p));
}

// Lets the client read what was sent before the connection breaks: Bun's fetch drops the
// data that arrives in the same read as a transport error.
const pause = () => new Promise((resolve) => setTimeout(resolve, 50));

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe("SSE parser", () => {
  const text = 'id: 1\nevent: ping\ndata: a\ndata:b\n\n: comment\n\ndata: {"x": 1}\nretry: 30\n\n';
  const expected: SSEMessage[] = [
    { event: "ping", data: "a\nb", id: "1" },
    { event: "message", data: '{"x": 1}', retry: 30 },
  ];

  it("parses LF, CRLF and CR line endings", async () => {
    for (const eol of ["\n", "\r\n", "\r"]) {
      const body = chunks(text.replaceAll("\n", eol));
      assert.deepEqual(await collect(parseSSE(body)), expected, JSON.stringify(eol));
    }
  });

  it("parses input split at every byte, also between CR and LF", async () => {
    for (const eol of ["\n", "\r\n"]) {
      const bytes = encoder.encode(text.replaceAll("\n", eol) + "data: héllo\n\n");
      const body = chunks(...Array.from(bytes, (b) => new Uint8Array([b])));
      const messages = await collect(body.pipeThrough(new SSEParser()));
      assert.deepEqual(messages, [...expected, { event: "message", data: "héllo" }]);
    }
  });

  it("skips comments, data-less frames and an unfinished frame at EOF", async () => {
    const body = chunks(": keepalive\n\n", "event: nothing\n\n", "data: kept\n\n", "data: lost");
    assert.deepEqual(await collect(parseSSE(body)), [{ event: "message", data: "kept" }]);
  });

  it("fails on a frame over 4 MiB, after the frames before it", async () => {
    const big = "data: " + "x".repeat(SSE_MAX_FRAME_BYTES) + "\n\n";
    const seen: SSEMessage[] = [];
    await assert.rejects(async () => {
      for await (const message of parseSSE(chunks("data: ok\n\n", big))) seen.push(message);
    }, SSEStreamError);
    assert.deepEqual(seen, [{ event: "message", data: "ok" }]);
    // Also when the frame grows over many chunks without a line end.
    const slices = Array.from({ length: 5 }, () => "x".repeat(SSE_MAX_FRAME_BYTES / 4));
    await assert.rejects(collect(parseSSE(chunks("data: ", ...slices))), SSEStreamError);
  });
});

describe("operation events", () => {
  it("types every known event", () => {
    const events = LOG.map((event) =>
      parseOperationEvent({ event: "", data: JSON.stringify(event) })
    );
    assert.deepEqual(events.map((e) => e.type), ["init", "spawn", "stdout", "exit", "completion"]);
    const exit = events[3];
    assert.ok(exit.type === "exit" && exit.data.resources.max_rss_kb === 0);
  });

  it("passes unknown types, malformed payloads and non-JSON data through raw", () => {
    const unknown = parseOperationEvent({
      event: "telemetry",
      id: "9",
      data: '{"id": 9, "ts": "t", "type": "telemetry", "data": {"cpu": 1}}',
    });
    assert.deepEqual(unknown, {
      type: "unknown",
      eventType: "telemetry",
      id: 9,
      ts: "t",
      spid: undefined,
      data: { cpu: 1 },
    });
    const malformed = parseOperationEvent({
      event: "stdout",
      data: '{"id": 3, "ts": "t", "spid": 1, "type": "stdout", "data": {"value": 5}}',
    });
    assert.equal(malformed.type, "unknown");
    assert.ok(
      malformed.type === "unknown" && malformed.eventType === "stdout" && malformed.id === 3,
    );
    const raw = parseOperationEvent({ event: "note", id: "4", data: "plain text" });
    assert.deepEqual(raw, {
      type: "unknown",
      eventType: "note",
      id: 4,
      ts: undefined,
      spid: undefined,
      data: "plain text",
    });
  });
});

describe("OperationEventDecoder", () => {
  const bytes = encoder.encode(LOG.map(frame).join(""));

  it("decodes typed events from chunks split anywhere, tracking the last id", () => {
    for (const size of [1, 7, 64, bytes.length]) {
      const decoder = new OperationEventDecoder();
      const events: OperationEvent[] = [];
      for (let i = 0; i < bytes.length; i += size) {
        events.push(...decoder.push(bytes.subarray(i, i + size)));
      }
      assert.deepEqual(events.map((e) => e.type), [
        "init",
        "spawn",
        "stdout",
        "exit",
        "completion",
      ]);
      assert.equal(decoder.lastEventId, 4);
    }
  });

  it("decodes a character split across chunks, and CRLF and CR line endings", () => {
    const event = { ...LOG[2], data: { value: "héllo ✓\n", encoding: "ascii" } };
    for (const eol of ["\n", "\r\n", "\r"]) {
      const text = frame(event).replace(/\n/g, eol);
      const all = encoder.encode(text);
      const decoder = new OperationEventDecoder();
      const events = Array.from(all, (_, i) => decoder.push(all.subarray(i, i + 1))).flat();
      assert.equal(events.length, 1, JSON.stringify(eol));
      assert.ok(events[0].type === "stdout" && events[0].data.value === "héllo ✓\n");
    }
  });

  it("returns the events before an sse_error, then holds and throws the failure", () => {
    const decoder = new OperationEventDecoder(-1);
    const events = decoder.push(encoder.encode(frame(LOG[0]) + SSE_ERROR + frame(LOG[1])));
    assert.deepEqual(events.map((e) => e.id), [0]);
    assert.ok(decoder.failure instanceof SSEStreamError);
    assert.equal(decoder.failure.lastEventId, 0);
    assert.throws(() => decoder.push(encoder.encode(frame(LOG[2]))), SSEStreamError);
  });

  it("fails on a frame over 4 MiB counted in bytes, also when the text is not ASCII", () => {
    const decoder = new OperationEventDecoder(3);
    // 1.5 M three-byte characters: 4.5 MB, though only 1.5 M UTF-16 units.
    decoder.push(encoder.encode("data: " + "✓".repeat(1_500_000)));
    assert.ok(decoder.failure instanceof SSEStreamError);
    assert.equal(decoder.failure.lastEventId, 3);
    const small = new OperationEventDecoder();
    assert.equal(small.push(encoder.encode(`data: ${"✓".repeat(1_000_000)}\n\n`)).length, 1);
    assert.equal(small.failure, undefined);
  });
});

describe("lenient event shapes", () => {
  const parse = (event: Record<string, unknown>) =>
    parseOperationEvent({ event: String(event.type), data: JSON.stringify(event) });
  const base = { id: 7, ts: "2026-06-08T20:00:00Z", spid: 0, type: "completion" };

  it("reads an older completion (duration in seconds, result_image) and keeps unknown fields", () => {
    const event = parse({
      ...base,
      data: { status: "SUCCESS", error: null, duration: 1.5, result_image: IMAGE, region: "eu" },
    });
    assert.ok(event.type === "completion");
    assert.equal(event.data.status, "SUCCESS");
    assert.equal(event.data.duration_ms, 1500);
    assert.equal(event.data.result_image_uuid, IMAGE);
    assert.equal(event.data.error, null);
    assert.equal(event.data.region, "eu");
    assert.equal(event.data.duration, 1.5);
  });

  it("reads a completion with only a status", () => {
    const event = parse({ ...base, spid: undefined, data: { status: "CANCELLED" } });
    assert.ok(event.type === "completion");
    assert.deepEqual(event.data, { status: "CANCELLED" });
    assert.equal(event.spid, undefined);
  });

  it("keeps a completion it cannot read as an unknown event that still ends the log", () => {
    const event = parse({ ...base, data: { state: "done" } });
    assert.ok(event.type === "unknown");
    assert.equal(event.eventType, "completion");
    assert.equal(event.problem, "data.status: missing required field");
    assert.equal(isCompletion(event), true);
    assert.equal(isCompletion(parse(LOG[2])), false);
  });

  it("never turns a known event into unknown over a missing or null optional field", () => {
    const stdout = parse({
      id: 2,
      ts: "t",
      spid: null,
      type: "stdout",
      data: { value: "hi", encoding: "ascii", truncated: null },
    });
    assert.deepEqual(stdout, {
      id: 2,
      ts: "t",
      type: "stdout",
      data: { value: "hi", encoding: "ascii" },
    });
    const init = LOG[0] as { data: Record<string, unknown> };
    assert.equal(parse({ ...init, data: { ...init.data, hostname: null } }).type, "init");
    const spawn = LOG[1] as { data: Record<string, unknown> };
    const { env: _env, ...noEnv } = spawn.data;
    assert.equal(parse({ ...spawn, data: noEnv }).type, "spawn");
  });

  it("names the offending field of a malformed known event", () => {
    const problem = (event: Record<string, unknown>) => {
      const parsed = parse(event);
      return parsed.type === "unknown" ? parsed.problem : parsed.type;
    };
    const stdout = LOG[2] as Record<string, unknown>;
    assert.equal(
      problem({ ...stdout, data: { value: 5, encoding: "ascii" } }),
      "data.value: expected string, received number",
    );
    assert.equal(
      problem({ ...stdout, data: { value: "x" } }),
      "data.encoding: missing required field",
    );
    assert.equal(problem({ ...stdout, id: "2" }), "id: expected number, received string");
    assert.equal(problem({ ...stdout, data: [] }), "data: expected object, received array");
    assert.equal(
      problem({ ...base, data: { status: "RUNNING" } }),
      "data.status: not a terminal status: RUNNING",
    );
    assert.equal(
      problem({ ...base, data: { status: "FAILED", duration_ms: "1" } }),
      "data.duration_ms: expected number, received string",
    );
    const exit = LOG[3] as { data: Record<string, unknown> };
    assert.match(problem({ ...exit, data: { ...exit.data, code: "0" } })!, /^data\.code: /);
    assert.equal(
      problem({ ...exit, data: { ...exit.data, code: undefined } }),
      "data.code: missing required field",
    );
  });
});

describe("event stream endpoints", () => {
  const double = new WireDouble();
  let client: ContreeClient;
  const ids = (events: OperationEvent[]) => events.map((e) => e.id);
  const eventRequests = (op: string) => double.seen("GET", `/operations/${op}/events`);

  before(async () => {
    await double.start();
    client = new ContreeClient({ baseUrl: double.url, token: "tok", retry: { delays: [1, 2, 5] } });
    const once = (
      ...first: ((ctx: EventsContext) => Response | Promise<Response>)[]
    ) => [...first, replay];
    double.addOp("op-ok", { statuses: ["SUCCESS"] });
    double.addOp("op-ack", {
      statuses: ["EXECUTING"],
      events: [() =>
        streamed([
          frame(LOG[0]),
          frame(LOG[1]),
          Promise.race([double.ackReceived, new Promise((r) => setTimeout(r, 5_000))]),
          ...LOG.slice(2).map(frame),
        ], { headers: { "content-type": "text/event-stream" } })],
    });
    for (const id of ["op-sse-error", "op-sse-error-follow"]) {
      double.addOp(id, {
        statuses: ["EXECUTING"],
        events: once(() => streamed([frame(LOG[0]), frame(LOG[1]), SSE_ERROR])),
      });
    }
    double.addOp("op-big", {
      statuses: ["EXECUTING"],
      events: [() => streamed([frame(LOG[0]), `data: ${"x".repeat(SSE_MAX_FRAME_BYTES)}\n\n`])],
    });
    double.addOp("op-dies", {
      statuses: ["EXECUTING"],
      events: once(() =>
        streamed([frame(LOG[0]), frame(LOG[1]), frame(LOG[2]).slice(0, 25), pause(), { die: true }])
      ),
    });
    double.addOp("op-dup", {
      statuses: ["EXECUTING"],
      // The server ignores Last-Event-Id and sends the whole log every time.
      events: [
        () => streamed(LOG.slice(0, 3).map(frame)),
        () => streamed(LOG.map(frame)),
      ],
    });
    double.addOp("op-gone", {
      statuses: ["EXECUTING"],
      events: once(
        () =>
          Response.json({ error: "operation finished; events not yet durable", status: 410 }, {
            status: 410,
            headers: { "retry-after": "0" },
          }),
        () =>
          Response.json({ error: "events are not ready yet" }, {
            status: 425,
            headers: { "retry-after": "0" },
          }),
        () => Response.json({ error: "boom" }, { status: 502 }),
      ),
    });
    double.addOp("op-no-events", {
      statuses: ["PENDING", "EXECUTING", "SUCCESS"],
      events: [() => Response.json({ error: "not found", status: 404 }, { status: 404 })],
    });
    double.addOp("op-truncated", {
      statuses: ["EXECUTING"],
      events: once(() =>
        streamed([frame(LOG[0]), frame(LOG[1]), pause()], {
          headers: { "x-double-truncate-gzip": "1" },
        })
      ),
    });
    double.addOp("op-keepalive", {
      statuses: ["EXECUTING"],
      events: once(() => streamed([": keepalive\n\n", ": keepalive\n\n", ": keepalive\n\n"])),
    });
    double.addOp("op-terminal-eof", {
      statuses: ["SUCCESS"],
      events: [(ctx) => ctx.follow ? streamed(LOG.slice(0, 3).map(frame)) : replay(ctx)],
    });
    double.addOp("op-terminal-no-completion", {
      statuses: ["FAILED"],
      log: LOG.slice(0, 4),
    });
    double.addOp("op-forever", {
      statuses: ["EXECUTING"],
      events: [() => streamed([frame(LOG[0]), ": keepalive\n\n", new Promise(() => {})])],
    });
    const older = {
      ...LOG[4],
      data: { status: "FAILED", error: "boom", duration: 0.2, result_image: null },
    };
    double.addOp("op-older-completion", {
      statuses: ["EXECUTING"],
      log: [...LOG.slice(0, 4), older],
    });
    double.addOp("op-odd-completion", {
      statuses: ["EXECUTING"],
      log: [...LOG.slice(0, 4), { ...LOG[4], data: { outcome: "ok" } }],
    });
    // Each connection delivers the next event only, then dies mid-frame.
    double.addOp("op-one-at-a-time", {
      statuses: ["EXECUTING"],
      events: [(ctx) => {
        const next = ctx.log.filter((e) => (e.id as number) > (ctx.lastEventId ?? -1));
        const parts: Part[] = [frame(next[0])];
        if (next.length > 1) parts.push(frame(next[1]).slice(0, 10), pause(), { die: true });
        return streamed(parts);
      }],
    });
    double.addOp("op-sse-error-always", {
      statuses: ["EXECUTING"],
      events: [(ctx) => replay({ ...ctx, log: LOG.slice(0, 2) }, [SSE_ERROR])],
    });
    double.addOp("op-never", {
      statuses: ["EXECUTING", "EXECUTING", "SUCCESS"],
      events: [
        () => streamed([frame(LOG[0]), frame(LOG[1])]),
        () => Response.json({ error: "down" }, { status: 503, headers: { "retry-after": "0" } }),
      ],
    });
    double.addOp("op-denied", {
      statuses: ["EXECUTING"],
      events: [() => Response.json({ error: "bad token" }, { status: 401 })],
    });
  });
  after(() => double.close());

  it("replays the log over one connection with typed events", async () => {
    const events = await collect(client.operationEvents("op-ok"));
    assert.deepEqual(ids(events), [0, 1, 2, 3, 4]);
    assert.deepEqual(events.map((e) => e.type), ["init", "spawn", "stdout", "exit", "completion"]);
    const request = eventRequests("op-ok").at(-1)!;
    assert.equal(request.headers.get("accept"), "text/event-stream");
    assert.equal(request.url.search, "");
  });

  it("passes follow, spid, since and Last-Event-Id", async () => {
    const events = await collect(
      client.operationEvents("op-ok", { follow: true, spid: 1, since: 3, lastEventId: 1 }),
    );
    assert.deepEqual(ids(events), [2, 3, 4]);
    const request = eventRequests("op-ok").at(-1)!;
    assert.equal(request.url.search, "?follow=1&spid=1&since=3");
    assert.equal(request.headers.get("last-event-id"), "1");
  });

  it("delivers gzip-flushed events before the end of the stream", async () => {
    const seen: number[] = [];
    for await (const event of client.operationEvents("op-ack", { follow: true })) {
      seen.push(event.id!);
      // The double sends the rest only once it hears from us.
      if (event.id === 1) await fetch(`${double.url}/v1/ack`).then((res) => res.body?.cancel());
    }
    assert.equal(double.acked, true);
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
    assert.match(eventRequests("op-ack")[0].headers.get("accept-encoding")!, /gzip/);
  });

  it("raises an in-band sse_error and an oversized frame as SSEStreamError", async () => {
    const seen: number[] = [];
    await assert.rejects(
      async () => {
        for await (const event of client.operationEvents("op-sse-error")) seen.push(event.id!);
      },
      (error) =>
        error instanceof SSEStreamError && /upstream event source closed/.test(error.message),
    );
    assert.deepEqual(seen, [0, 1]);
    await assert.rejects(collect(client.operationEvents("op-big")), SSEStreamError);
  });

  it("follows across a stream that dies mid-frame, resuming after the last id", async () => {
    const events = await collect(client.followOperationEvents("op-dies"));
    assert.deepEqual(ids(events), [0, 1, 2, 3, 4]);
    const [first, second] = eventRequests("op-dies");
    assert.equal(first.url.search, "?follow=1");
    assert.equal(first.headers.get("last-event-id"), null);
    assert.equal(second.headers.get("last-event-id"), "1");
  });

  it("never yields an event twice when the server repeats them", async () => {
    const events = await collect(client.followOperationEvents("op-dup"));
    assert.deepEqual(ids(events), [0, 1, 2, 3, 4]);
  });

  it("reconnects after an in-band sse_error", async () => {
    const events = await collect(client.followOperationEvents("op-sse-error-follow"));
    assert.deepEqual(ids(events), [0, 1, 2, 3, 4]);
    assert.equal(eventRequests("op-sse-error-follow").at(-1)!.headers.get("last-event-id"), "1");
  });

  it("retries 410, 425 and 5xx on the events endpoint", async () => {
    const events = await collect(client.followOperationEvents("op-gone"));
    assert.deepEqual(ids(events), [0, 1, 2, 3, 4]);
    assert.equal(eventRequests("op-gone").length, 4);
  });

  it("falls back to polling when the endpoint answers 404: the output held, its exit, then a completion", async () => {
    const events = await collect(client.followOperationEvents("op-no-events"));
    assert.deepEqual(ids(events), [0, 1, 2]);
    const [stdout, exit, completion] = events;
    assert.ok(stdout.type === "stdout" && stdout.spid === 1);
    assert.deepEqual(stdout.data, { value: "aGkK", encoding: "base64", truncated: false });
    assert.ok(exit.type === "exit" && exit.spid === 1);
    assert.equal(exit.data.code, 0);
    assert.equal(exit.data.signal, -1);
    assert.equal(exit.data.pid, 42);
    assert.equal(exit.data.timed_out, false);
    assert.equal(exit.data.duration_ms, 200);
    assert.equal(exit.data.resources.max_rss_kb, 1024);
    assert.equal(completion.type, "completion");
    assert.ok(completion.type === "completion");
    assert.equal(completion.data.status, "SUCCESS");
    assert.equal(completion.data.result_image_uuid, IMAGE);
    assert.equal(completion.data.duration_ms, 1500);
    assert.equal(eventRequests("op-no-events").length, 1);
    assert.equal(double.seen("GET", "/operations/op-no-events").length, 3);
  });

  it("reconnects after a gzip stream cut before its trailer", async () => {
    const events = await collect(client.followOperationEvents("op-truncated"));
    assert.deepEqual(ids(events), [0, 1, 2, 3, 4]);
    assert.equal(eventRequests("op-truncated").at(-1)!.headers.get("last-event-id"), "1");
  });

  it("reconnects after a keepalive-only stream ends, probing the operation", async () => {
    const events = await collect(client.followOperationEvents("op-keepalive"));
    assert.deepEqual(ids(events), [0, 1, 2, 3, 4]);
    assert.equal(eventRequests("op-keepalive").length, 2);
    assert.equal(double.seen("GET", "/operations/op-keepalive").length, 1);
  });

  it("replays the log once without follow when the operation is already terminal", async () => {
    const events = await collect(client.followOperationEvents("op-terminal-eof"));
    assert.deepEqual(ids(events), [0, 1, 2, 3, 4]);
    const requests = eventRequests("op-terminal-eof");
    assert.equal(requests.length, 2);
    assert.equal(requests[1].url.search, "");
    assert.equal(requests[1].headers.get("last-event-id"), "2");
  });

  it("never makes up a completion: a terminal log without one fails loudly", async () => {
    const seen: number[] = [];
    await assert.rejects(
      async () => {
        for await (const event of client.followOperationEvents("op-terminal-no-completion")) {
          seen.push(event.id!);
        }
      },
      (error) =>
        error instanceof SSEStreamError && error.lastEventId === 3 &&
        error.cause instanceof ContreeNetworkError &&
        /ended before its completion/.test(error.message),
    );
    assert.deepEqual(seen, [0, 1, 2, 3]);
    // The first connection follows; once the operation is known finished, the log is replayed
    // without follow, resuming after the last id, until the policy's attempts run out.
    const requests = eventRequests("op-terminal-no-completion");
    assert.equal(requests.length, 1 + 10);
    assert.equal(requests[0].url.search, "?follow=1");
    assert.ok(
      requests.slice(1).every((r) => r.url.search === "" && r.headers.get("last-event-id") === "3"),
    );
  });

  it("ends the follow on a completion of an older shape", async () => {
    const events = await collect(client.followOperationEvents("op-older-completion"));
    assert.deepEqual(ids(events), [0, 1, 2, 3, 4]);
    const last = events.at(-1)!;
    assert.ok(last.type === "completion");
    assert.deepEqual(
      [last.data.status, last.data.error, last.data.duration_ms, last.data.result_image_uuid],
      ["FAILED", "boom", 200, null],
    );
    assert.equal(eventRequests("op-older-completion").length, 1);
    assert.equal(double.seen("GET", "/operations/op-older-completion").length, 0);
  });

  it("ends the follow on a completion it cannot read, passing it on raw", async () => {
    const events = await collect(client.followOperationEvents("op-odd-completion"));
    assert.deepEqual(ids(events), [0, 1, 2, 3, 4]);
    const last = events.at(-1)!;
    assert.ok(last.type === "unknown" && last.eventType === "completion");
    assert.deepEqual(last.data, { outcome: "ok" });
    assert.equal(eventRequests("op-odd-completion").length, 1);
  });

  it("does not count connections that delivered new events against the attempts", async () => {
    const strict = new ContreeClient({
      baseUrl: double.url,
      token: "tok",
      retry: { delays: [1], maxAttempts: 2 },
    });
    const events = await collect(strict.followOperationEvents("op-one-at-a-time"));
    assert.deepEqual(ids(events), [0, 1, 2, 3, 4]);
    const cursors = eventRequests("op-one-at-a-time").map((r) => r.headers.get("last-event-id"));
    assert.deepEqual(cursors, [null, "0", "1", "2", "3"]);
  });

  it("gives up after the policy's attempts without progress, with the last id and the cause", async () => {
    const seen: number[] = [];
    await assert.rejects(
      async () => {
        for await (const event of client.followOperationEvents("op-never")) seen.push(event.id!);
      },
      (error) => {
        assert.ok(error instanceof SSEStreamError);
        assert.equal(error.lastEventId, 1);
        assert.ok(error.cause instanceof ContreeApiError && error.cause.status === 503);
        assert.match(error.message, /op-never.*10 attempt/);
        return true;
      },
    );
    assert.deepEqual(seen, [0, 1]);
    const requests = eventRequests("op-never");
    // The first connection made progress; ten more without any.
    assert.equal(requests.length, 11);
    assert.ok(requests.slice(1).every((r) => r.headers.get("last-event-id") === "1"));
  });

  it("carries the last event id on an in-band sse_error", async () => {
    await assert.rejects(
      collect(client.operationEvents("op-sse-error-always")),
      (error) => error instanceof SSEStreamError && error.lastEventId === 1,
    );
    // Also when the connection resumed after the last event: the cursor it resumed from.
    await assert.rejects(
      collect(client.operationEvents("op-sse-error-always", { lastEventId: 1 })),
      (error) => error instanceof SSEStreamError && error.lastEventId === 1,
    );
  });

  it("resumes from a given Last-Event-Id and filters by spid", async () => {
    const events = await collect(
      client.followOperationEvents("op-ok", { lastEventId: 2, spid: 1 }),
    );
    assert.deepEqual(ids(events), [3, 4]);
    assert.equal(eventRequests("op-ok").at(-1)!.url.search, "?follow=1&spid=1");
  });

  it("raises auth errors instead of retrying", async () => {
    await assert.rejects(collect(client.followOperationEvents("op-denied")), UnauthorizedError);
  });

  it("aborting a follow cancels the connection at once", async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (
        const event of client.followOperationEvents("op-forever", {}, { signal: controller.signal })
      ) {
        seen.push(event.id!);
        setTimeout(() => controller.abort(), 10);
      }
    }, (error) => error instanceof DOMException && error.name === "AbortError");
    assert.deepEqual(seen, [0]);
    const controller2 = new AbortController();
    const iterator = client.operationEvents("op-forever", { follow: true }, {
      signal: controller2.signal,
    })[
      Symbol.asyncIterator
    ]();
    assert.equal((await iterator.next()).value?.id, 0);
    const pending = iterator.next();
    controller2.abort();
    await assert.rejects(
      pending,
      (error) => error instanceof DOMException && error.name === "AbortError",
    );
  });
});
