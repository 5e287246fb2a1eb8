// The contract between the backend's event logs and the client: real runs (output, stderr,
// truncation, a size cap, a subprocess, a cancel, a registry import) write their events, and
// every event read back over the API parses with the client's own schemas
// (`parseOperationEvent`), never as an unknown event.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type OperationEvent, parseOperationEvent } from "../../src/wire/mod.ts";
import { type InProcessBackend, openInProcess } from "./_in_process.ts";
import { call, parseFrames, request, spawn, waitOp, waitOutput } from "./_api.ts";
import { buildImage, busyboxTar, type Registry, startRegistry } from "./_registry.ts";

describe("event contract", () => {
  let b: InProcessBackend;
  let registry: Registry;
  const seen = new Set<string>();

  before(async () => {
    registry = await startRegistry("none");
    await registry.pushImage("team/app", "1", buildImage({ layers: [await busyboxTar()] }));
    b = await openInProcess({ insecureRegistries: ["127.0.0.1"] });
  });
  after(async () => {
    await b?.dispose();
    await registry?.stop();
  });

  /** Every event of an operation, parsed by the client; each must be a known event. */
  async function clientEvents(uuid: string): Promise<OperationEvent[]> {
    const res = await request(b, "GET", `/v1/operations/${uuid}/events`, {
      headers: { Accept: "text/event-stream" },
    });
    assert.equal(res.status, 200);
    const frames = parseFrames(await res.text()).filter((frame) => frame.data !== undefined);
    return frames.map((frame) => {
      const event = parseOperationEvent({
        event: frame.event ?? "message",
        id: frame.id,
        data: frame.data!,
      });
      assert.notEqual(event.type, "unknown", `not a valid ${frame.event} event: ${frame.data}`);
      assert.equal(event.type, frame.event);
      seen.add(event.type);
      return event;
    });
  }

  const run = async (body: Record<string, unknown>) => await waitOp(b, await spawn(b, body));

  it("output, stderr, exit and completion of a snapshotting run", async () => {
    const op = await run({
      command: "echo out; echo err >&2; printf '\\377' > /bin.dat",
      shell: true,
    });
    assert.equal(op.status, "SUCCESS");
    const types = (await clientEvents(op.uuid)).map((e) => e.type);
    for (const type of ["init", "spawn", "stdout", "stderr", "exit", "shutdown", "completion"]) {
      assert.ok(types.includes(type as OperationEvent["type"]), `${type} in ${types}`);
    }
  });

  it("truncated output and binary chunks", async () => {
    const op = await run({
      command: "head -c 5000 /dev/urandom; yes | head -c 5000",
      shell: true,
      truncate_output_at: 1000,
      disposable: true,
    });
    const events = await clientEvents(op.uuid);
    assert.ok(events.some((e) => e.type === "truncated"));
  });

  it("a size cap failure", async () => {
    const op = await run({
      command: "head -c 200000 /dev/zero > /big",
      shell: true,
      resources_limits: { max_layer_bytes: 1000 },
    });
    assert.equal(op.status, "FAILED");
    const events = await clientEvents(op.uuid);
    assert.ok(events.some((e) => e.type === "size_cap"));
  });

  it("a subprocess's events, and a cancelled run", async () => {
    const uuid = await spawn(b, { command: "echo ready; sleep 60", shell: true });
    await waitOutput(b, uuid, "ready");
    const started = await call(b, "POST", `/v1/operations/${uuid}/subprocesses`, {
      json: { command: "echo sub; echo suberr >&2; exit 3", shell: true },
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const spid = started.body.spid;
    const deadline = Date.now() + 60_000;
    while (
      (await call(b, "GET", `/v1/operations/${uuid}/subprocesses/${spid}`)).body.state
        .exit_code === -1
    ) {
      assert.ok(Date.now() < deadline, "the subprocess did not exit");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.equal((await call(b, "DELETE", `/v1/operations/${uuid}`)).status, 202);
    assert.equal((await waitOp(b, uuid)).status, "CANCELLED");
    const events = await clientEvents(uuid);
    const sub = events.filter((e) => e.type !== "unknown" && e.spid === spid).map((e) => e.type);
    assert.deepEqual(new Set(sub), new Set(["spawn", "stdout", "stderr", "exit"]));
    const shutdown = events.find((e) => e.type === "shutdown");
    assert.equal(shutdown?.type === "shutdown" && shutdown.data.reason, "cancelled");
  });

  it("import progress and completion of a registry import", async () => {
    const res = await call(b, "POST", "/v1/images/import", {
      json: { registry: { url: `docker://${registry.host}/team/app:1` }, timeout: 120 },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const op = await waitOp(b, res.body.uuid);
    assert.equal(op.status, "SUCCESS", op.error);
    const events = await clientEvents(op.uuid);
    assert.ok(events.some((e) => e.type === "stdout" && e.spid === 0));
    assert.equal(events.at(-1)?.type, "completion");
  });

  it("covered every event type the backend writes", () => {
    for (
      const type of [
        "init",
        "spawn",
        "stdout",
        "stderr",
        "exit",
        "truncated",
        "size_cap",
        "shutdown",
        "completion",
      ]
    ) assert.ok(seen.has(type), `${type} was never checked`);
  });
});
