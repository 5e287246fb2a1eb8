// A run is a Promise that executes once, against the real local backend: every await, then,
// catch, finally and loop sees the same operation (counted on the server), `again()` runs anew,
// live chunks carry text decoded across split UTF-8, and bad options throw from run() itself.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type Contree,
  type ContreeImage,
  ContreeRun,
  ContreeSessionBusyError,
  ImageState,
  OperationFailedError,
  type OutputChunk,
  RunOptionsError,
} from "../../src/sdk/mod.ts";
import { useBackend } from "./_setup.ts";

/** The instance operations the server has recorded. */
async function operations(contree: Contree): Promise<string[]> {
  const uuids: string[] = [];
  for await (const op of contree.api.iterOperations({ kind: "instance" })) uuids.push(op.uuid);
  return uuids;
}

/** The operations recorded since `before`. */
async function newOperations(contree: Contree, before: string[]): Promise<string[]> {
  const known = new Set(before);
  return (await operations(contree)).filter((uuid) => !known.has(uuid));
}

describe("a run executes once", () => {
  const t = useBackend();

  it("is a real Promise that sends nothing until first used", async () => {
    const before = await operations(t.contree);
    const run = t.busybox.run({ shell: "echo lazy" });
    // Type checkers see a Promise too (checked by `deno check`).
    const typed: Promise<ContreeImage<string, string>> = run;
    assert.equal(typed, run);
    assert.ok(run instanceof Promise);
    assert.ok(run instanceof ContreeRun);
    assert.equal(Object.prototype.toString.call(run), "[object Promise]");
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(await newOperations(t.contree, before), []);
    assert.equal(run.state, ImageState.PREPARED);
    const derived = run.then((image) => image.stdout);
    assert.equal(derived.constructor, Promise);
    assert.ok(!(derived instanceof ContreeRun));
    assert.equal(await derived, "lazy\n");
    assert.equal(run.state, ImageState.SUCCEEDED);
  });

  it("runs once under Promise.all, however often it is listed", async () => {
    const session = t.busybox.session();
    const before = await operations(t.contree);
    const run = session.run({ shell: "echo x >> /count; wc -l < /count" });
    const [a, b, c] = await Promise.all([run, run, run]);
    assert.equal(a, b);
    assert.equal(b, c);
    assert.equal(a.stdout, "1\n");
    assert.deepEqual(await newOperations(t.contree, before), [a.result.operationUuid]);
    assert.equal(await session.readText("/count"), "x\n");
    assert.equal(session.history.length, 2);
  });

  it("gives then() and a later await the same execution", async () => {
    const before = await operations(t.contree);
    const run = t.busybox.run({ shell: "cat /proc/sys/kernel/random/uuid" });
    const seen: string[] = [];
    const chained = run.then((image) => seen.push(image.stdout));
    const awaited = await run;
    await chained;
    assert.deepEqual(seen, [awaited.stdout]);
    assert.equal(await run, awaited);
    assert.equal((await run.wait()).stdout, awaited.stdout);
    assert.equal(await Promise.race([run, new Promise(() => {})]), awaited);
    assert.deepEqual(await newOperations(t.contree, before), [awaited.result.operationUuid]);
  });

  it("awaits the execution a loop started, and replays a finished run from the start", async () => {
    const before = await operations(t.contree);
    const run = t.busybox.run({ shell: "echo one; echo two >&2; echo three" });
    const live: string[] = [];
    for await (const chunk of run) live.push(`${chunk.stream}:${chunk.text}`);
    const image = await run;
    assert.equal(image.stdout, "one\nthree\n");
    assert.equal(image.stderr, "two\n");
    const replayed: string[] = [];
    for await (const chunk of run) replayed.push(`${chunk.stream}:${chunk.text}`);
    assert.deepEqual(replayed, live);
    const joined = (stream: string) =>
      live.filter((chunk) => chunk.startsWith(stream)).map((chunk) => chunk.slice(7)).join("");
    assert.equal(joined("stdout:"), "one\nthree\n");
    assert.equal(joined("stderr:"), "two\n");
    assert.deepEqual(await newOperations(t.contree, before), [image.result.operationUuid]);
  });

  it("follows the execution an await started when iterated", async () => {
    const before = await operations(t.contree);
    const run = t.busybox.run({ shell: "echo a; sleep 0.2; echo b" });
    const pending = run.wait();
    let seen = "";
    for await (const chunk of run) seen += chunk.text;
    assert.equal(seen, "a\nb\n");
    assert.equal((await pending).stdout, "a\nb\n");
    assert.equal((await newOperations(t.contree, before)).length, 1);
  });

  it("settles catch and finally with the one failure", async () => {
    const before = await operations(t.contree);
    const run = t.busybox.run({ command: "true", files: { "/etc": new Uint8Array([1]) } });
    let finallyCalls = 0;
    const [caught, , rejected] = await Promise.all([
      run.catch((error: unknown) => error),
      run.finally(() => finallyCalls++).catch(() => {}),
      run.then(() => undefined, (error: unknown) => error),
    ]);
    assert.ok(caught instanceof OperationFailedError, String(caught));
    assert.equal(rejected, caught);
    assert.equal(finallyCalls, 1);
    await assert.rejects(run, (error: unknown) => error === caught);
    assert.equal(run.state, ImageState.FAILED);
    assert.deepEqual(await newOperations(t.contree, before), [caught.operationUuid]);
  });

  it("starts once: start() is idempotent and returns the run", async () => {
    const before = await operations(t.contree);
    const run = t.busybox.run({ shell: "sleep 0.2; echo started" });
    assert.equal(run.start(), run);
    assert.equal(run.state, ImageState.EXECUTING);
    const uuid = await run.whenSpawned();
    assert.equal(run.start(), run);
    assert.equal(await run.start().whenSpawned(), uuid);
    assert.equal((await run).result.operationUuid, uuid);
    assert.deepEqual(await newOperations(t.contree, before), [uuid]);
  });

  it("runs again only when asked: again() and with() are new runs", async () => {
    const before = await operations(t.contree);
    const run = t.busybox.run({ shell: "cat /proc/sys/kernel/random/uuid" });
    const first = await run;
    const again = run.again();
    assert.equal(again.state, ImageState.PREPARED);
    const second = await again;
    const third = await run.with({ env: { X: "1" } });
    assert.equal(await run, first);
    assert.notEqual(second.stdout, first.stdout);
    assert.notEqual(third.stdout, second.stdout);
    assert.equal(
      (await newOperations(t.contree, before)).sort().join(),
      [first, second, third].map((image) => image.result.operationUuid).sort().join(),
    );
  });

  it("lets a session run be awaited twice and refuses a second one while it runs", async () => {
    const session = t.busybox.session();
    const run = session.run({ shell: "sleep 0.3; echo >> /steps" });
    const other = session.run({ shell: "echo never >> /steps" });
    run.start();
    assert.throws(() => other.start(), ContreeSessionBusyError);
    await assert.rejects(other, ContreeSessionBusyError);
    assert.equal(other.state, ImageState.FAILED);
    await Promise.all([run, run]);
    await run;
    assert.equal(await session.readText("/steps"), "\n");
    assert.equal(session.history.length, 2);
  });
});

describe("live chunks carry text", () => {
  const t = useBackend();

  it("decodes a character split across chunks, per stream", async () => {
    // "€" is e2 82 ac and "😀" f0 9f 98 80: each written in two parts, to both streams.
    const run = t.busybox.run({
      shell: [
        String.raw`printf '\342'; printf '\360\237' >&2; sleep 0.3`,
        String.raw`printf '\202\254 ok\n'; printf '\230\200\n' >&2`,
      ].join("; "),
    });
    const chunks: OutputChunk[] = [];
    for await (const chunk of run) chunks.push(chunk);
    const stdout = chunks.filter((chunk) => chunk.stream === "stdout");
    const stderr = chunks.filter((chunk) => chunk.stream === "stderr");
    // The split must have reached us as separate chunks for this test to mean anything.
    assert.deepEqual(Array.from(stdout[0].data), [0xe2]);
    assert.deepEqual(Array.from(stderr[0].data), [0xf0, 0x9f]);
    assert.equal(stdout[0].text, "");
    assert.equal(stderr[0].text, "");
    assert.equal(stdout.map((chunk) => chunk.text).join(""), "€ ok\n");
    assert.equal(stderr.map((chunk) => chunk.text).join(""), "😀\n");
    assert.equal((await run).stdout, "€ ok\n");
  });

  it("ends a stream cut inside a character with a replacement character", async () => {
    const chunks: OutputChunk[] = [];
    for await (const chunk of t.busybox.run({ shell: String.raw`printf 'end \342\202'` })) {
      chunks.push(chunk);
    }
    assert.equal(chunks.map((chunk) => chunk.text).join(""), "end \ufffd");
    assert.equal(chunks.reduce((n, chunk) => n + chunk.data.length, 0), 6);
  });
});

describe("invalid run options throw from run() itself", () => {
  const t = useBackend();

  const cases: [string, Record<string, unknown>, string][] = [
    ["both shell and command", { shell: "true", command: "true" }, "shell"],
    ["neither shell nor command", {}, "command"],
    ["an empty command", { command: "" }, "command"],
    ["args with shell", { shell: "true", args: ["x"] }, "args"],
    ["a relative cwd", { shell: "pwd", cwd: "tmp" }, "cwd"],
    [
      "a relative file destination",
      { shell: "true", files: { "rel.txt": new Uint8Array() } },
      'files["rel.txt"]',
    ],
    ["a file of the wrong type", { shell: "true", files: { "/x": 42 } }, 'files["/x"]'],
    [
      "a bad file mode",
      { shell: "true", files: { "/x": { content: new Blob(), mode: "rwx" } } },
      'files["/x"].mode',
    ],
    ["a timeout as text", { shell: "true", timeout: "10" }, "timeout"],
    ["a negative timeout", { shell: "true", timeout: -1 }, "timeout"],
    ["a non-string env value", { shell: "true", env: { A: 1 } }, "env.A"],
    ["an unknown output target", { shell: "true", stdout: "json" }, "stdout"],
    ["a negative uid", { shell: "true", uid: -1 }, "uid"],
    ["a numeric stdin", { command: "cat", stdin: 5 }, "stdin"],
    ["a tag on a disposable run", { shell: "true", tag: "sdk/never" }, "tag"],
    ["a signal that is not one", { shell: "true", signal: "stop" }, "signal"],
  ];

  it("names the field, before any request", async () => {
    const before = await operations(t.contree);
    for (const [what, options, field] of cases) {
      assert.throws(
        // deno-lint-ignore no-explicit-any
        () => t.busybox.run(options as any),
        (error: unknown) => {
          assert.ok(error instanceof RunOptionsError, `${what}: ${error}`);
          assert.equal(error.field, field, what);
          assert.ok(error.message.includes(field), error.message);
          return true;
        },
        what,
      );
    }
    assert.throws(() => t.busybox.run([]), RunOptionsError);
    // deno-lint-ignore no-explicit-any
    assert.throws(() => t.busybox.run(null as any), RunOptionsError);
    assert.deepEqual(await newOperations(t.contree, before), []);
  });

  it("checks with(), session runs and popen the same way", async () => {
    const before = await operations(t.contree);
    const run = t.busybox.run({ shell: "true" });
    assert.throws(() => run.with({ cwd: "relative" }), { name: "RunOptionsError" });
    const session = t.busybox.session();
    assert.throws(() => session.run({ shell: "true", command: "true" }), RunOptionsError);
    // A session keeps images, so a tag is fine there, but not with disposable: true.
    assert.throws(
      () => session.run({ shell: "true", tag: "sdk/x", disposable: true }),
      (error: unknown) => error instanceof RunOptionsError && error.field === "tag",
    );
    assert.throws(() => t.busybox.popen("pwd", { cwd: "tmp" }), RunOptionsError);
    assert.deepEqual(await newOperations(t.contree, before), []);
    assert.equal(session.busy, false);
  });
});
