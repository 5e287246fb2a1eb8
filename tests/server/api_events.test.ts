// The SSE event stream: framing, order, live delivery, resume, filters, keepalive,
// gzip with sync flushes, and replay after a restart.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { createGunzip, gunzipSync } from "node:zlib";
import { type Backend, startBackend } from "./_backend.ts";
import { call, events, type OpEvent, parseFrames, request, run, spawn, waitOp } from "./_api.ts";

/** Reads a follow stream frame by frame. */
async function* follow(b: Backend, uuid: string, query = "?follow=1") {
  const res = await request(b, "GET", `/v1/operations/${uuid}/events${query}`, {
    headers: { Accept: "text/event-stream", "Accept-Encoding": "identity" },
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
  assert.equal(res.headers.get("cache-control"), "no-cache");
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of res.body!) {
    buffer += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end + 2);
      buffer = buffer.slice(end + 2);
      yield parseFrames(block)[0];
    }
  }
}

describe("server event stream", () => {
  let b: Backend;

  before(async () => {
    b = await startBackend({ args: ["--keepalive", "1"] });
  });
  after(async () => {
    await b?.dispose();
  });

  it("frames every event with id, event and one-line data, in lifecycle order", async () => {
    const op = await run(b, { command: "echo out; echo err >&2", shell: true });
    const res = await request(b, "GET", `/v1/operations/${op.uuid}/events`);
    const body = await res.text();
    const frames = parseFrames(body);
    for (const frame of frames) {
      const data = JSON.parse(frame.data!);
      assert.equal(String(data.id), frame.id);
      assert.equal(data.type, frame.event);
      assert.equal(typeof data.ts, "string");
    }
    const log: OpEvent[] = frames.map((f) => JSON.parse(f.data!));
    assert.deepEqual(log.map((e) => e.id), log.map((_, i) => i));
    const types = log.map((e) => e.type);
    assert.deepEqual(types.slice(0, 2), ["init", "spawn"]);
    assert.deepEqual(types.slice(-3), ["exit", "shutdown", "completion"]);
    assert.deepEqual(types.slice(2, -3).sort(), ["stderr", "stdout"]);
    assert.deepEqual(
      log.map((e) => e.spid),
      log.map((e) => ["init", "shutdown", "completion"].includes(e.type) ? 0 : 1),
    );
    const [init, spawnEvent] = log;
    assert.match(init.data.started_at as string, /\.\d{9}Z$/);
    assert.equal(spawnEvent.data.command, "/bin/sh");
    assert.deepEqual(spawnEvent.data.args, ["-c", "echo out; echo err >&2"]);
    assert.equal(spawnEvent.data.shell, true);
    assert.equal(spawnEvent.data.truncate_at, 1048576);
    assert.equal(spawnEvent.data.timeout, 60);
    const exit = log.at(-3)!;
    assert.equal(exit.data.code, 0);
    assert.equal(exit.data.signal, -1);
    assert.equal(exit.data.timed_out, false);
    assert.equal(typeof exit.data.duration_ms, "number");
    assert.equal(Object.keys(exit.data.resources as object).length, 15);
    const completion = log.at(-1)!;
    assert.deepEqual(Object.keys(completion.data).sort(), [
      "duration_ms",
      "error",
      "image_size_bytes",
      "result_image_uuid",
      "status",
    ]);
    assert.equal(completion.data.status, "SUCCESS");
    assert.equal(completion.data.result_image_uuid, op.result_image_uuid);
    assert.equal(completion.data.error, null);
    const stdout = log.find((e) => e.type === "stdout")!;
    assert.deepEqual(stdout.data, { value: "out\n", encoding: "ascii" });
  });

  it("redacts secret-looking env values in the spawn event", async () => {
    const op = await run(b, {
      command: "true",
      env: { API_TOKEN: "t0p", DB_PASSWORD: "pw", PLAIN: "visible" },
      disposable: true,
    });
    const spawnEvent = (await events(b, op.uuid)).find((e) => e.type === "spawn")!;
    const env = spawnEvent.data.env as Record<string, string>;
    assert.equal(env.PLAIN, "visible");
    assert.notEqual(env.API_TOKEN, "t0p");
    assert.notEqual(env.DB_PASSWORD, "pw");
  });

  it("resumes after Last-Event-Id and filters by spid and since", async () => {
    const op = await run(b, { command: "echo a; echo b", shell: true, disposable: true });
    const all = await events(b, op.uuid);
    const res = await request(b, "GET", `/v1/operations/${op.uuid}/events`, {
      headers: { "Last-Event-Id": "2" },
    });
    const resumed = parseFrames(await res.text()).map((f) => JSON.parse(f.data!));
    assert.deepEqual(resumed, all.filter((e) => e.id > 2));
    const main = await events(b, op.uuid, "?spid=1");
    assert.deepEqual(main, all.filter((e) => e.spid === 1));
    const since = await events(b, op.uuid, "?since=3");
    assert.deepEqual(since, all.filter((e) => e.id >= 3));
    assert.equal((await call(b, "GET", "/v1/operations/nope/events")).status, 404);
  });

  it("delivers output live, before the process ends, and ends after completion", async () => {
    const uuid = await spawn(b, { command: "echo first; sleep 60", shell: true, disposable: true });
    const seen: OpEvent[] = [];
    let statusAtFirst = "";
    for await (const frame of follow(b, uuid)) {
      if (!frame.data) continue;
      const event: OpEvent = JSON.parse(frame.data);
      seen.push(event);
      if (event.type === "stdout") {
        assert.equal(event.data.value, "first\n");
        statusAtFirst = (await call(b, "GET", `/v1/operations/${uuid}`)).body.status;
        assert.equal((await call(b, "DELETE", `/v1/operations/${uuid}`)).status, 202);
      }
    }
    assert.equal(statusAtFirst, "EXECUTING");
    assert.equal(seen.at(-1)!.type, "completion");
    assert.equal(seen.at(-1)!.data.status, "CANCELLED");
  });

  it("follows a pending operation from its start", async () => {
    const uuid = await spawn(b, { command: "echo hi", shell: true, disposable: true });
    const types: string[] = [];
    for await (const frame of follow(b, uuid)) if (frame.event) types.push(frame.event);
    assert.equal(types[0], "init");
    assert.equal(types.at(-1), "completion");
  });

  it("sends keepalive comments while idle", async () => {
    const uuid = await spawn(b, { command: "sleep 3", shell: true, disposable: true });
    let keepalives = 0;
    for await (const frame of follow(b, uuid)) if (frame.comment === "keepalive") keepalives++;
    assert.ok(keepalives >= 1);
  });

  it("gzips the stream incrementally: events decode before the end", async () => {
    const uuid = await spawn(b, { command: "echo early; sleep 60", shell: true, disposable: true });
    const result = await new Promise<{ early: string; raw: Uint8Array }>((resolve, reject) => {
      const req = httpRequest(`${b.url}/v1/operations/${uuid}/events?follow=`, {
        headers: { Authorization: `Bearer ${b.token}`, "Accept-Encoding": "gzip" },
      }, (res) => {
        assert.equal(res.headers["content-encoding"], "gzip");
        const gunzip = createGunzip();
        const raw: Uint8Array[] = [];
        let decoded = "";
        let early = "";
        res.on("data", (chunk: Uint8Array) => {
          raw.push(chunk);
          gunzip.write(chunk);
        });
        gunzip.on("data", async (data: Uint8Array) => {
          decoded += new TextDecoder().decode(data);
          if (!early && decoded.includes('"early\\n"')) {
            early = (await call(b, "GET", `/v1/operations/${uuid}`)).body.status;
            await call(b, "DELETE", `/v1/operations/${uuid}`);
          }
        });
        res.on("end", () => {
          const all = new Uint8Array(raw.reduce((n, c) => n + c.byteLength, 0));
          let offset = 0;
          for (const c of raw) {
            all.set(c, offset);
            offset += c.byteLength;
          }
          resolve({ early, raw: all });
        });
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(result.early, "EXECUTING");
    const text = new TextDecoder().decode(gunzipSync(result.raw));
    assert.match(text, /event: completion/);
  });

  it("replays finished logs after a restart", async () => {
    const op = await run(b, { command: "echo persisted", shell: true });
    const before = await events(b, op.uuid);
    await b.restart();
    const afterRestart = await events(b, op.uuid);
    assert.deepEqual(afterRestart, before);
    const stored = await waitOp(b, op.uuid);
    assert.equal(stored.status, "SUCCESS");
  });
});
