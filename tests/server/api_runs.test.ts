// Runs against real sandboxes: images, chains, branches, stdin, files, timeouts, cancel,
// truncation, big output and queueing.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type InProcessBackend, openInProcess } from "./_in_process.ts";
import { call, events, request, run, spawn, text, waitOp, waitOutput } from "./_api.ts";

const MAX_CONCURRENT = 4;

describe("server runs", () => {
  let b: InProcessBackend;
  let base: string;

  before(async () => {
    b = await openInProcess({ maxConcurrent: MAX_CONCURRENT });
    base = (await call(b, "GET", "/v1/images?tag=busybox:latest")).body.images[0].uuid;
  });
  after(async () => {
    await b?.dispose();
  });

  it("runs a command and snapshots a new image whose parent is the input", async () => {
    const op = await run(b, { command: "echo one > /one.txt && echo done", shell: true });
    assert.equal(op.status, "SUCCESS");
    assert.equal(text(op.metadata.result.stdout), "done\n");
    assert.notEqual(op.result_image_uuid, base);
    assert.equal(op.result.image, op.result_image_uuid);
    const image = (await call(b, "GET", `/v1/inspect/${op.result_image_uuid}/`)).body;
    assert.equal(image.operation_uuid, op.uuid);

    const read = await run(b, {
      image: op.result_image_uuid,
      command: "cat",
      args: ["/one.txt"],
      disposable: true,
    });
    assert.equal(text(read.metadata.result.stdout), "one\n");
    assert.equal(read.result_image_uuid, null);
    assert.deepEqual(read.result, { image: null, tag: null });
  });

  it("chains and branches images independently", async () => {
    const root = await run(b, { command: "echo root > /f", shell: true });
    const left = await run(b, {
      image: root.result_image_uuid,
      command: "echo left >> /f",
      shell: true,
    });
    const right = await run(b, {
      image: root.result_image_uuid,
      command: "echo right >> /f",
      shell: true,
    });
    const deeper = await run(b, {
      image: left.result_image_uuid,
      command: "echo deeper >> /f",
      shell: true,
    });
    const cat = async (image: string) =>
      text(
        (await run(b, { image, command: "cat /f", shell: true, disposable: true }))
          .metadata.result.stdout,
      );
    assert.equal(await cat(root.result_image_uuid), "root\n");
    assert.equal(await cat(left.result_image_uuid), "root\nleft\n");
    assert.equal(await cat(right.result_image_uuid), "root\nright\n");
    assert.equal(await cat(deeper.result_image_uuid), "root\nleft\ndeeper\n");
  });

  it("flattens chains deeper than the layer store allows, keeping deletions", async () => {
    let image = (await run(b, { command: "echo gone > /gone; echo 0 > /n", shell: true }))
      .result_image_uuid;
    image = (await run(b, { image, command: "rm /gone", shell: true })).result_image_uuid;
    for (let i = 1; i <= 100; i++) {
      const op = await run(b, { image, command: `echo ${i} >> /n`, shell: true });
      assert.equal(op.status, "SUCCESS", op.error);
      image = op.result_image_uuid;
    }
    const check = await run(b, {
      image,
      command: "wc -l < /n; tail -n 1 /n; ls /gone 2>&1 || true",
      shell: true,
      disposable: true,
    });
    const [lines, last, gone] = text(check.metadata.result.stdout).trim().split("\n");
    assert.equal(lines.trim(), "101");
    assert.equal(last, "100");
    assert.match(gone, /No such file/);
    const listing = await call(b, "GET", `/v1/inspect/${image}/list?path=/`);
    assert.ok(!listing.body.files.some((f: { path: string }) => f.path === "gone"));
  });

  it("carries the env into the result image with preserve_env", async () => {
    const kept = await run(b, { command: "true", env: { KEPT: "yes" }, preserve_env: true });
    const dropped = await run(b, { command: "touch /x", env: { KEPT: "yes" } });
    assert.notEqual(kept.result_image_uuid, base);
    const show = async (image: string) =>
      text(
        (await run(b, { image, command: 'echo "[$KEPT]"', shell: true, disposable: true }))
          .metadata.result.stdout,
      );
    assert.equal(await show(kept.result_image_uuid), "[yes]\n");
    assert.equal(await show(dropped.result_image_uuid), "[]\n");
  });

  it("keeps the input image when a run changes nothing", async () => {
    const op = await run(b, { command: "true" });
    assert.equal(op.status, "SUCCESS");
    assert.equal(op.result_image_uuid, base);
  });

  it("leaves nothing behind for disposable runs", async () => {
    const before = (await call(b, "GET", "/v1/images?limit=1000")).body.images.length;
    const op = await run(b, { command: "echo x > /x", shell: true, disposable: true });
    assert.equal(op.status, "SUCCESS");
    assert.equal(op.result_image_uuid, null);
    const afterCount = (await call(b, "GET", "/v1/images?limit=1000")).body.images.length;
    assert.equal(afterCount, before);
  });

  it("reports a non-zero exit as SUCCESS with the exit code", async () => {
    const op = await run(b, { command: "echo oops >&2; exit 3", shell: true });
    assert.equal(op.status, "SUCCESS");
    assert.equal(op.metadata.result.state.exit_code, 3);
    assert.equal(text(op.metadata.result.stderr), "oops\n");
  });

  it("passes stdin, env, cwd, uid and binary output", async () => {
    const op = await run(b, {
      command: 'cat; echo "$GREETING"; pwd; id -u; printf "\\377\\000"',
      shell: true,
      stdin: { value: btoa("from stdin\n"), encoding: "base64" },
      env: { GREETING: "hello" },
      cwd: "/etc",
      uid: 1234,
      gid: 1234,
      disposable: true,
    });
    const out = op.metadata.result.stdout;
    assert.equal(out.encoding, "base64");
    const bytes = Uint8Array.from(atob(out.value), (c) => c.charCodeAt(0));
    assert.deepEqual([...bytes.slice(-2)], [255, 0]);
    assert.equal(
      new TextDecoder().decode(bytes.slice(0, -2)),
      "from stdin\nhello\n/etc\n1234\n",
    );
    const ascii = await run(b, {
      command: "cat",
      stdin: { value: "plain text\n" },
      disposable: true,
    });
    assert.deepEqual(ascii.metadata.result.stdout, {
      value: "plain text\n",
      encoding: "ascii",
      truncated: false,
    });
  });

  it("injects uploaded files with their modes and owners", async () => {
    const script = new TextEncoder().encode("#!/bin/sh\necho script ran\n");
    const up = await call(b, "POST", "/v1/files", { body: script });
    const data = await call(b, "POST", "/v1/files", { body: new TextEncoder().encode("data\n") });
    const op = await run(b, {
      command: "/opt/run.sh; cat /srv/data.txt; stat -c '%a %u %g' /opt/run.sh /srv/data.txt",
      shell: true,
      files: {
        "/opt/run.sh": { uuid: up.body.uuid, mode: "0755" },
        "/srv/data.txt": { uuid: data.body.uuid, mode: 0o604, uid: 7, gid: 8 },
      },
    });
    assert.equal(op.status, "SUCCESS", op.error);
    assert.equal(
      text(op.metadata.result.stdout),
      "script ran\ndata\n755 0 0\n604 7 8\n",
    );
    assert.equal(op.metadata.files["/opt/run.sh"].mode, "0755");
    assert.equal(op.metadata.files["/srv/data.txt"].mode, "0604");
    const missing = await call(b, "POST", "/v1/instances", {
      json: {
        image: base,
        command: "true",
        files: { "/x": { uuid: "00000000-0000-0000-0000-000000000000" } },
      },
    });
    assert.equal(missing.status, 404);
    assert.match(missing.body.error, /^files\["\/x"\]\.uuid/);
  });

  it("times out long runs with timed_out: true", async () => {
    const op = await run(b, { command: "echo before; sleep 30", shell: true, timeout: 1 });
    assert.equal(op.status, "SUCCESS");
    assert.equal(op.metadata.result.state.timed_out, true);
    assert.equal(text(op.metadata.result.stdout), "before\n");
    const exit = (await events(b, op.uuid)).find((e) => e.type === "exit")!;
    assert.equal(exit.data.timed_out, true);
  });

  it("cancels a running operation, then answers 409", async () => {
    const uuid = await spawn(b, { command: "echo ready; sleep 60", shell: true });
    await waitOutput(b, uuid, "ready");
    const res = await request(b, "DELETE", `/v1/operations/${uuid}`);
    assert.equal(res.status, 202);
    await res.body?.cancel();
    const op = await waitOp(b, uuid);
    assert.equal(op.status, "CANCELLED");
    assert.equal(op.result_image_uuid, null);
    const again = await call(b, "DELETE", `/v1/operations/${uuid}`);
    assert.equal(again.status, 409);
    assert.deepEqual(again.body, { error: "operation is not cancellable", status: 409 });
    const log = await events(b, uuid);
    assert.equal(log.at(-1)!.type, "completion");
    assert.equal(log.at(-1)!.data.status, "CANCELLED");
    assert.equal((await call(b, "DELETE", "/v1/operations/nope")).status, 404);
  });

  it("truncates output at truncate_output_at with truncated events", async () => {
    const op = await run(b, {
      command: "head -c 5000 /dev/zero | tr '\\0' a; head -c 10 /dev/zero | tr '\\0' e >&2",
      shell: true,
      truncate_output_at: 1000,
      disposable: true,
    });
    const { stdout, stderr } = op.metadata.result;
    assert.equal(stdout.value, "a".repeat(1000));
    assert.equal(stdout.truncated, true);
    assert.equal(stderr.value, "e".repeat(10));
    assert.equal(stderr.truncated, false);
    const log = await events(b, op.uuid);
    const outBytes = log.filter((e) => e.type === "stdout")
      .reduce((n, e) => n + text(e.data as { value: string; encoding: string }).length, 0);
    assert.equal(outBytes, 1000);
    const truncated = log.filter((e) => e.type === "truncated");
    assert.deepEqual(truncated.map((e) => e.data), [
      { stream: "stdout", bytes_emitted: 1000, bytes_dropped: 4000 },
    ]);
    assert.ok(
      log.findIndex((e) => e.type === "truncated") < log.findIndex((e) => e.type === "exit"),
    );
  });

  it("captures 50 MiB of output and stays responsive meanwhile", async () => {
    const size = 50 * 1024 * 1024;
    const uuid = await spawn(b, {
      command: `head -c ${size} /dev/zero | tr '\\0' x`,
      shell: true,
      truncate_output_at: 64 * 1024 * 1024,
      disposable: true,
    });
    const who = await call(b, "GET", "/v1/whoami");
    assert.equal(who.status, 200);
    const op = await waitOp(b, uuid);
    assert.equal(op.status, "SUCCESS");
    const out = op.metadata.result.stdout;
    assert.equal(out.encoding, "ascii");
    assert.equal(out.truncated, false);
    assert.equal(out.value.length, size);
    const log = await events(b, uuid, "?spid=1");
    const streamed = log.filter((e) => e.type === "stdout")
      .reduce((n, e) => n + (e.data.value as string).length, 0);
    assert.equal(streamed, size);
  });

  it("queues runs beyond the concurrency cap and runs them all", async () => {
    const blockers = [];
    for (let i = 0; i < MAX_CONCURRENT; i++) {
      blockers.push(
        await spawn(b, { command: "echo ready; sleep 120", shell: true, disposable: true }),
      );
    }
    for (const uuid of blockers) await waitOutput(b, uuid, "ready");
    const uuids = await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) => spawn(b, { command: `echo run-${i} > /n; cat /n`, shell: true }),
      ),
    );
    const pending = await Promise.all(
      uuids.map(async (uuid) => (await call(b, "GET", `/v1/operations/${uuid}`)).body.status),
    );
    assert.deepEqual(new Set(pending), new Set(["PENDING"]));
    for (const uuid of blockers) await call(b, "DELETE", `/v1/operations/${uuid}`);
    for (const uuid of blockers) assert.equal((await waitOp(b, uuid)).status, "CANCELLED");
    const ops = await Promise.all(uuids.map((uuid) => waitOp(b, uuid)));
    ops.forEach((op, i) => {
      assert.equal(op.status, "SUCCESS");
      assert.equal(text(op.metadata.result.stdout), `run-${i}\n`);
      assert.notEqual(op.result_image_uuid, base);
    });
    assert.equal(new Set(ops.map((op) => op.result_image_uuid)).size, 50);
  });

  it("cancels a pending operation", async () => {
    const blockers = [];
    for (let i = 0; i < MAX_CONCURRENT; i++) {
      blockers.push(
        await spawn(b, { command: "echo ready; sleep 120", shell: true, disposable: true }),
      );
    }
    const queued = await spawn(b, { command: "true" });
    assert.equal((await call(b, "GET", `/v1/operations/${queued}`)).body.status, "PENDING");
    assert.equal((await call(b, "DELETE", `/v1/operations/${queued}`)).status, 202);
    const op = await waitOp(b, queued);
    assert.equal(op.status, "CANCELLED");
    const log = await events(b, queued);
    assert.deepEqual(log.map((e) => [e.id, e.type]), [[0, "completion"]]);
    for (const uuid of blockers) await waitOutput(b, uuid, "ready");
    for (const uuid of blockers) await call(b, "DELETE", `/v1/operations/${uuid}`);
    for (const uuid of blockers) await waitOp(b, uuid);
  });
});
