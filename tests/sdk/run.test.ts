// Runs against the real local backend: preparing, executing, output, input, files, chaining,
// branching, disposables, streaming, cancellation and timeouts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ContreeImage,
  ContreeImageStateError,
  DisposableImageRunError,
  ImageState,
  OperationCancelledError,
  OperationFailedError,
  OperationTimedOutError,
  type OutputChunk,
  RunOptionsError,
} from "../../src/sdk/mod.ts";
import { executing, pattern, terminal, text, useBackend } from "./_setup.ts";

describe("run", () => {
  const t = useBackend();

  it("prepares without a request and executes when awaited", async () => {
    const prepared = t.busybox.run({ shell: "echo hi; echo oops >&2" });
    assert.equal(prepared.state, ImageState.PREPARED);
    assert.equal(prepared.operationUuid, undefined);
    const done = await prepared;
    assert.ok(done instanceof ContreeImage);
    assert.equal(done.state, ImageState.SUCCEEDED);
    assert.equal(done.stdout, "hi\n");
    assert.equal(done.stderr, "oops\n");
    assert.equal(done.exitCode, 0);
    assert.equal(typeof done.elapsed, "number");
    assert.equal(done.result.stdout, "hi\n");
    assert.equal(prepared.state, ImageState.SUCCEEDED);
    assert.equal(prepared.image, done);
  });

  it("wait() executes like await", async () => {
    const done = await t.busybox.run({ shell: "echo waited" }).wait();
    assert.equal(done.stdout, "waited\n");
  });

  it("treats a non-zero exit as a result, not an error", async () => {
    const done = await t.busybox.run({ shell: "echo partial; exit 7" });
    assert.equal(done.exitCode, 7);
    assert.equal(done.stdout, "partial\n");
  });

  it("gives a result with operation, elapsed time, exit payload and cost", async () => {
    const { result } = await t.busybox.run({ shell: "true" });
    assert.match(result.operationUuid, /^[0-9a-f-]{36}$/);
    assert.equal(result.exit.code, 0);
    assert.equal(result.signal, undefined);
    assert.ok(result.elapsed >= 0);
    assert.deepEqual(result.truncated, {});
    const op = await t.contree.api.getOperation(result.operationUuid);
    assert.equal(op.status, "SUCCESS");
  });

  it("throws a typed state error when results are read before completion", () => {
    const prepared = t.busybox.run({ shell: "true" });
    for (const read of [() => prepared.result, () => prepared.stdout, () => prepared.exitCode]) {
      assert.throws(
        read,
        (error: unknown) =>
          error instanceof ContreeImageStateError && error.state === ImageState.PREPARED,
      );
    }
    assert.throws(() => t.busybox.result, ContreeImageStateError);
    assert.throws(() => t.busybox.stderr, ContreeImageStateError);
    assert.throws(() => t.busybox.elapsed, ContreeImageStateError);
  });

  it("runs command with args, and an argv array", async () => {
    const direct = await t.busybox.run({ command: "echo", args: ["a b", "$HOME"] });
    assert.equal(direct.stdout, "a b $HOME\n");
    const argv = await t.busybox.run(["printf", "%s|", "x", "y z"]);
    assert.equal(argv.stdout, "x|y z|");
  });

  it("refuses a run without a command", () => {
    assert.throws(() => t.busybox.run({}), RunOptionsError);
    assert.throws(() => t.busybox.run([]), RunOptionsError);
  });

  it("passes env, cwd, hostname, uid and gid", async () => {
    const done = await t.busybox.run({
      shell: 'echo "$GREETING $(pwd) $(hostname) $(id -u):$(id -g)"',
      env: { GREETING: "hello" },
      cwd: "/tmp",
      hostname: "sdk-test",
      uid: 1000,
      gid: 1001,
    });
    assert.equal(done.stdout, "hello /tmp sdk-test 1000:1001\n");
  });

  it("reaches the network only with network: true", async () => {
    // Interfaces besides loopback: none by default, pasta's with networking.
    const shell = "ip -o link | grep -vc ': lo:'";
    assert.equal((await t.busybox.run({ shell })).stdout, "0\n");
    assert.equal((await t.busybox.run({ shell, network: true })).stdout, "1\n");
    assert.equal((await t.busybox.run({ shell, network: false })).stdout, "0\n");
    // @ts-expect-error: not a boolean
    assert.throws(() => t.busybox.run({ shell, network: "yes" }), RunOptionsError);
  });

  it("takes stdin as a string, bytes, a Blob or a stream", async () => {
    const cat = t.busybox.run({ command: "cat" });
    assert.equal((await cat.with({ stdin: "text ✓\n" })).stdout, "text ✓\n");
    assert.equal((await cat.with({ stdin: new Uint8Array([104, 105]) })).stdout, "hi");
    assert.equal((await cat.with({ stdin: new Blob(["bl", "ob"]) })).stdout, "blob");
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("str"));
        controller.enqueue(new TextEncoder().encode("eam"));
        controller.close();
      },
    });
    assert.equal((await cat.with({ stdin: stream })).stdout, "stream");
  });

  it("returns byte-exact binary output with stdout: bytes", async () => {
    const data = pattern(300_000);
    const done = await t.busybox.run({ command: "cat", stdin: data, stdout: "bytes" });
    assert.ok(done.stdout instanceof Uint8Array);
    assert.deepEqual(done.stdout, data);
    assert.equal(done.stderr, "");
  });

  it("feeds a WritableStream as output arrives and closes it", async () => {
    const chunks: Uint8Array[] = [];
    let closed = false;
    const sink = new WritableStream<Uint8Array>({
      write(chunk) {
        chunks.push(chunk);
      },
      close() {
        closed = true;
      },
    });
    const done = await t.busybox.run({
      shell: "for i in 1 2 3; do echo line $i; done; echo err >&2",
      stdout: sink,
    });
    assert.equal(done.stdout, undefined);
    assert.equal(done.stderr, "err\n");
    assert.equal(text(new Uint8Array(chunks.flatMap((c) => [...c]))), "line 1\nline 2\nline 3\n");
    assert.ok(closed);
  });

  it("sends stdout and stderr to one shared WritableStream", async () => {
    const parts: string[] = [];
    const sink = new WritableStream<Uint8Array>({ write: (c) => void parts.push(text(c)) });
    await t.busybox.run({ shell: "echo a; sleep 0.2; echo b >&2", stdout: sink, stderr: sink });
    assert.equal(parts.join(""), "a\nb\n");
  });

  it("discards output", async () => {
    const done = await t.busybox.run({
      shell: "echo a; echo b >&2",
      stdout: "discard",
      stderr: "discard",
    });
    assert.equal(done.stdout, undefined);
    assert.equal(done.stderr, undefined);
  });

  it("reports server truncation at truncateOutputAt", async () => {
    const done = await t.busybox.run({ shell: "yes | head -c 5000", truncateOutputAt: 100 });
    assert.equal(done.stdout.length, 100);
    assert.equal(done.result.truncated.stdout?.bytesEmitted, 100);
    assert.equal(done.result.truncated.stdout?.bytesDropped, 4900);
  });

  it("is disposable by default: the result has no image and cannot run", async () => {
    const done = await t.busybox.run({ shell: "touch /x" });
    assert.equal(done.uuid, undefined);
    assert.equal(done.tag, undefined);
    assert.throws(() => done.run({ shell: "true" }), DisposableImageRunError);
    assert.throws(() => done.session(), DisposableImageRunError);
    await assert.rejects(done.ls("/"), DisposableImageRunError);
  });

  it("chains non-disposable runs and branches from one image", async () => {
    const base = await t.busybox.run({ shell: "echo v1 > /state", disposable: false });
    assert.ok(base.uuid);
    assert.notEqual(base.uuid, t.busybox.uuid);
    const [a, b] = await Promise.all([
      base.run({ shell: "echo a >> /state", disposable: false }),
      base.run({ shell: "echo b >> /state", disposable: false }),
    ]);
    assert.notEqual(a.uuid, b.uuid);
    assert.equal(await a.readText("/state"), "v1\na\n");
    assert.equal(await b.readText("/state"), "v1\nb\n");
    assert.equal(await base.readText("/state"), "v1\n");
    const grandchild = await a.run({ shell: "cat /state", disposable: false });
    assert.equal(grandchild.stdout, "v1\na\n");
  });

  it("gives back the same image when a non-disposable run changes nothing", async () => {
    const same = await t.busybox.run({ shell: "cat /etc/passwd > /dev/null", disposable: false });
    assert.equal(same.uuid, t.busybox.uuid);
    const changed = await t.busybox.run({ shell: "touch /new", disposable: false });
    assert.notEqual(changed.uuid, t.busybox.uuid);
  });

  it("never keeps the source tag on a result", async () => {
    const tagged = await t.contree.images.use("busybox:latest");
    const done = await tagged.run({ shell: "touch /changed", disposable: false });
    assert.equal(tagged.tag, "busybox:latest");
    assert.equal(done.tag, undefined);
    assert.ok(done.uuid);
  });

  it("tags the result image with tag", async () => {
    const done = await t.busybox.run({
      shell: "echo t > /t",
      disposable: false,
      tag: "sdk/tagged:1",
    });
    assert.equal(done.tag, "sdk/tagged:1");
    const found = await t.contree.images.use("sdk/tagged:1", { strict: true });
    assert.equal(found.uuid, done.uuid);
  });

  it("refuses tag on a disposable run", () => {
    assert.throws(() => t.busybox.run({ shell: "true", tag: "sdk/never" }), RunOptionsError);
  });

  it("executes once however often awaited; again() is a new operation", async () => {
    const prepared = t.busybox.run({ shell: "cat /proc/sys/kernel/random/uuid" });
    const first = await prepared;
    assert.equal(await prepared, first);
    const second = await prepared.again();
    assert.notEqual(first.result.operationUuid, second.result.operationUuid);
    assert.notEqual(first.stdout, second.stdout);
  });

  it("starts without waiting and completes the started run in place", async () => {
    const prepared = t.busybox.run({ shell: "sleep 0.3; echo late" });
    assert.throws(() => prepared.whenSpawned(), ContreeImageStateError);
    const started = prepared.start();
    assert.equal(started, prepared);
    assert.equal(started.state, ImageState.EXECUTING);
    const uuid = await started.whenSpawned();
    assert.equal(started.operationUuid, uuid);
    assert.throws(() => started.stdout, ContreeImageStateError);
    const image = await started;
    assert.equal(started.state, ImageState.SUCCEEDED);
    assert.equal(started.stdout, "late\n");
    assert.equal(started.image, image);
    assert.equal(image.result.operationUuid, uuid);
    assert.equal((await started).result.operationUuid, uuid);
  });

  it("streams stdout and stderr chunks live with for await", async () => {
    const chunks: OutputChunk[] = [];
    const run = t.busybox.run({
      shell: "echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three",
    });
    for await (const chunk of run) chunks.push(chunk);
    assert.deepEqual(
      chunks.map((c) => [c.stream, c.text]),
      [["stdout", "one\n"], ["stderr", "two\n"], ["stdout", "three\n"]],
    );
  });

  it("streams a started run from its start and then has its result", async () => {
    const started = t.busybox.run({ shell: "echo a; echo b" }).start();
    await started;
    let seen = "";
    for await (const chunk of started) seen += text(chunk.data);
    assert.equal(seen, "a\nb\n");
    assert.equal(started.stdout, "a\nb\n");
  });

  it("cancels the execution when a loop over a prepared run breaks early", async () => {
    const run = t.busybox.run({ shell: "echo first; sleep 60; echo never" });
    let operation: string | undefined;
    for await (const chunk of run) {
      assert.equal(text(chunk.data), "first\n");
      const ops = await t.contree.api.listOperations({ status: "EXECUTING" });
      operation = ops.find((op) => op.kind === "instance")?.uuid;
      break;
    }
    assert.ok(operation);
    assert.equal((await terminal(t.contree, operation)).status, "CANCELLED");
  });

  it("aborts mid-run: rejects with AbortError and the operation ends CANCELLED", async () => {
    const controller = new AbortController();
    const started = t.busybox.run({ shell: "sleep 60", signal: controller.signal }).start();
    const uuid = await started.whenSpawned();
    await executing(t.contree, uuid);
    controller.abort();
    await assert.rejects(started.wait(), { name: "AbortError" });
    assert.equal(started.state, ImageState.FAILED);
    assert.equal((await terminal(t.contree, uuid)).status, "CANCELLED");
  });

  it("rejects at once with an already aborted signal", async () => {
    await assert.rejects(
      t.busybox.run({ shell: "true", signal: AbortSignal.abort() }).wait(),
      { name: "AbortError" },
    );
  });

  it("cancel() stops a started run", async () => {
    const started = t.busybox.run({ shell: "sleep 60" }).start();
    const uuid = await started.whenSpawned();
    await started.cancel();
    assert.equal(started.state, ImageState.FAILED);
    await assert.rejects(started.wait(), { name: "AbortError" });
    assert.equal((await terminal(t.contree, uuid)).status, "CANCELLED");
  });

  it("rejects with OperationCancelledError when someone else cancels the operation", async () => {
    const started = t.busybox.run({ shell: "sleep 60" }).start();
    const uuid = await started.whenSpawned();
    await executing(t.contree, uuid);
    await t.contree.api.cancelOperation(uuid);
    await assert.rejects(
      started.wait(),
      (error: unknown) => error instanceof OperationCancelledError && error.operationUuid === uuid,
    );
  });

  it("rejects with OperationFailedError when the operation fails", async () => {
    const error = await t.busybox.run({ command: "true", files: { "/etc": new Uint8Array([1]) } })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof OperationFailedError, String(error));
    assert.match(error.reason ?? "", /directory/);
  });

  it("throws a typed timeout error carrying the partial output", async () => {
    const error = await t.busybox.run({
      shell: "echo started; echo warn >&2; sleep 30",
      timeout: 1,
    })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof OperationTimedOutError, String(error));
    assert.equal(error.timeout, 1);
    assert.equal(error.stdout, "started\n");
    assert.equal(error.stderr, "warn\n");
    assert.match(error.operationUuid, /^[0-9a-f-]{36}$/);
  });

  it("rounds a fractional timeout up to whole seconds", async () => {
    const done = await t.busybox.run({ shell: "sleep 1.2; echo ok", timeout: 1.5 });
    assert.equal(done.stdout, "ok\n");
    const op = await t.contree.api.getOperation(done.result.operationUuid);
    assert.equal((op.metadata as { timeout?: number }).timeout, 2);
  });

  it("places files from bytes, Blob, stream and uploaded file, with mode, uid and gid", async () => {
    const uploaded = await t.contree.files.upload("uploaded\n");
    const done = await t.busybox.run({
      shell: "cat /f/a /f/b /f/c /f/d; stat -c '%a %u %g' /f/a /f/owned; /f/script",
      files: {
        "/f/a": new TextEncoder().encode("bytes\n"),
        "/f/b": new Blob(["blob\n"]),
        "/f/c": new Response("stream\n").body!,
        "/f/d": uploaded,
        "/f/owned": { content: new Uint8Array([1]), mode: "0640", uid: 12, gid: 34 },
        "/f/script": {
          content: new TextEncoder().encode("#!/bin/sh\necho script ran\n"),
          mode: 0o755,
        },
      },
    });
    assert.equal(done.stdout, "bytes\nblob\nstream\nuploaded\n644 0 0\n640 12 34\nscript ran\n");
  });

  it("uploads identical contents once and skips contents the server has", async () => {
    const unique = `dedup ${crypto.randomUUID()}\n`;
    const before = (await t.contree.files.list({ limit: Infinity })).length;
    const done = await t.busybox.run({
      shell: "cat /one /two",
      files: { "/one": new Blob([unique]), "/two": new TextEncoder().encode(unique) },
    });
    assert.equal(done.stdout, unique + unique);
    await t.busybox.run({ shell: "true", files: { "/three": new Blob([unique]) } });
    assert.equal((await t.contree.files.list({ limit: Infinity })).length, before + 1);
  });

  it("refuses relative file destinations", () => {
    assert.throws(
      () => t.busybox.run({ shell: "true", files: { "rel.txt": new Uint8Array([1]) } }),
      RunOptionsError,
    );
  });

  it("keeps env in the result image with preserveEnv", async () => {
    const kept = await t.busybox.run({
      shell: "touch /kept",
      env: { KEPT: "yes" },
      preserveEnv: true,
      disposable: false,
    });
    const dropped = await t.busybox.run({
      shell: "touch /dropped",
      env: { KEPT: "yes" },
      disposable: false,
    });
    assert.equal((await kept.run({ shell: 'echo "[$KEPT]"' })).stdout, "[yes]\n");
    assert.equal((await dropped.run({ shell: 'echo "[$KEPT]"' })).stdout, "[]\n");
  });

  it("runs from a tag-only image, resolved by the server", async () => {
    const lazy = await t.contree.images.use("tag:busybox:latest");
    assert.equal(lazy.uuid, undefined);
    assert.equal((await lazy.run({ shell: "echo tagged" })).stdout, "tagged\n");
  });

  it("exposes the configured options, stdin included", () => {
    const run = t.busybox.run({ command: "cat", stdin: "in" });
    assert.equal(run.options.stdin, "in");
    assert.equal(run.with({ stdin: "other" }).options.stdin, "other");
    assert.equal(run.options.command, "cat");
  });
});
