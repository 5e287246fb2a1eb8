// Sessions against the real local backend: the moving HEAD, history, failures, concurrency,
// branches, navigation and serialisation.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ContreeSession,
  ContreeSessionBusyError,
  ContreeSessionError,
  MemorySessionStore,
  OperationTimedOutError,
} from "../../src/sdk/mod.ts";
import { useBackend } from "./_setup.ts";

describe("session", () => {
  const t = useBackend();

  it("advances HEAD with each run, non-disposable by default, and records history", async () => {
    const session = t.busybox.session();
    assert.equal(session.step, 0);
    assert.equal(session.head.uuid, t.busybox.uuid);
    const first = await session.run({ shell: "echo 1 > /n" });
    assert.ok(first.uuid);
    assert.equal(session.head.uuid, first.uuid);
    const second = await session.run(["sh", "-c", "echo 2 >> /n; cat /n"]);
    assert.equal(second.stdout, "1\n2\n");
    assert.equal(await session.readText("/n"), "1\n2\n");
    const history = session.history;
    assert.deepEqual(history.map((step) => step.step), [0, 1, 2]);
    assert.deepEqual(history.map((step) => step.command), [
      null,
      "echo 1 > /n",
      "sh -c echo 2 >> /n; cat /n",
    ]);
    assert.deepEqual(history.map((step) => step.image), [t.busybox.uuid, first.uuid, second.uuid]);
    assert.equal(history[2].operation, second.result.operationUuid);
    assert.equal(history[1].parent, 0);
  });

  it("starts from a tag-only image and pins it on first use", async () => {
    const lazy = await t.contree.images.use("busybox:latest");
    const session = lazy.session();
    assert.equal(session.history[0].image, "tag:busybox:latest");
    await session.run({ shell: "touch /pinned" });
    assert.equal(session.history[0].image, t.busybox.uuid);
  });

  it("runs with networking when a run asks for it", async () => {
    const session = t.busybox.session();
    const shell = "ip -o link | grep -vc ': lo:' > /interfaces; true";
    await session.run({ shell, network: true });
    assert.equal(await session.readText("/interfaces"), "1\n");
    await session.run({ shell });
    assert.equal(await session.readText("/interfaces"), "0\n");
  });

  it("does not advance on a disposable run", async () => {
    const session = t.busybox.session();
    const done = await session.run({ shell: "touch /gone", disposable: true });
    assert.equal(done.uuid, undefined);
    assert.equal(session.step, 0);
    assert.equal(await session.exists("/gone"), false);
  });

  it("stays at its last good image after a non-zero exit, a timeout or an abort", async () => {
    const session = t.busybox.session();
    await session.run({ shell: "echo good > /state" });
    const good = session.head.uuid;
    const failed = await session.run({ shell: "echo bad > /state; exit 1" });
    assert.equal(failed.exitCode, 1);
    assert.equal(session.head.uuid, good);
    await assert.rejects(
      session.run({ shell: "echo worse > /state; sleep 30", timeout: 1 }).wait(),
      OperationTimedOutError,
    );
    assert.equal(session.head.uuid, good);
    await assert.rejects(
      session.run({ shell: "sleep 30", signal: AbortSignal.timeout(300) }).wait(),
      { name: "TimeoutError" },
    );
    assert.equal(session.busy, false);
    assert.equal(await session.readText("/state"), "good\n");
    const after = await session.run({ shell: "cat /state" });
    assert.equal(after.stdout, "good\n");
    assert.equal(session.history.length, 3);
  });

  it("refuses a concurrent run, and moves, with a clear error", async () => {
    const session = t.busybox.session();
    const running = session.run({ shell: "sleep 0.5; touch /slow" }).start();
    assert.equal(session.busy, true);
    assert.throws(() => session.run({ shell: "true" }).start(), ContreeSessionBusyError);
    await assert.rejects(session.run({ shell: "true" }).wait(), ContreeSessionBusyError);
    await assert.rejects(session.rollback(0), ContreeSessionBusyError);
    await assert.rejects(session.branch("x"), ContreeSessionBusyError);
    await running;
    assert.equal(session.busy, false);
    assert.equal(await session.exists("/slow"), true);
  });

  it("rolls back, goes forward and jumps to any step", async () => {
    const session = t.busybox.session();
    for (const n of [1, 2, 3]) await session.run({ shell: `echo ${n} > /v` });
    assert.equal(session.step, 3);
    await session.rollback(2);
    assert.equal(await session.readText("/v"), "1\n");
    await session.forward();
    assert.equal(await session.readText("/v"), "2\n");
    await session.forward(1);
    assert.equal(await session.readText("/v"), "3\n");
    await assert.rejects(session.forward(), ContreeSessionError);
    const image = await session.goto(1);
    assert.equal(await image.readText("/v"), "1\n");
    assert.equal(session.step, 1);
    await session.forward(2);
    assert.equal(session.step, 3);
    await assert.rejects(session.rollback(4), ContreeSessionError);
    await assert.rejects(session.goto(99), ContreeSessionError);
    await session.rollback();
    await session.run({ shell: "echo new > /v" });
    await assert.rejects(session.forward(), ContreeSessionError);
    assert.deepEqual(session.history.map((step) => step.step), [0, 1, 2, 4]);
    assert.equal(session.steps.length, 5);
  });

  it("keeps named branches and switches between them", async () => {
    const session = t.busybox.session({ branch: "trunk" });
    await session.run({ shell: "echo base > /f" });
    await session.branch("feature");
    assert.deepEqual(Object.keys(session.branches).sort(), ["feature", "trunk"]);
    await session.run({ shell: "echo trunk >> /f" });
    const feature = await session.checkout("feature");
    assert.equal(session.currentBranch, "feature");
    assert.equal(await feature.readText("/f"), "base\n");
    await session.run({ shell: "echo feature >> /f" });
    assert.equal(await session.readText("/f"), "base\nfeature\n");
    await session.checkout("trunk");
    assert.equal(await session.readText("/f"), "base\ntrunk\n");
    await session.branch("from-start", { from: 0 });
    await session.branch("from-feature", { from: "feature" });
    await session.checkout("from-feature");
    assert.equal(await session.readText("/f"), "base\nfeature\n");
    await session.checkout("from-start");
    assert.equal(await session.exists("/f"), false);
    await assert.rejects(session.branch("trunk"), ContreeSessionError);
    await assert.rejects(session.branch("bad", { from: 42 }), ContreeSessionError);
    await assert.rejects(session.branch("bad", { from: "nope" }), ContreeSessionError);
    await assert.rejects(session.checkout("nope"), ContreeSessionError);
  });

  it("serialises with toJSON() and restores, also from its store", async () => {
    const store = new MemorySessionStore();
    const session = t.busybox.session({ store, id: "kept-session" });
    await session.run({ shell: "echo saved > /s" });
    await session.branch("other");
    const copy = ContreeSession.restore(t.contree, JSON.parse(JSON.stringify(session)));
    assert.equal(copy.id, "kept-session");
    assert.equal(copy.head.uuid, session.head.uuid);
    assert.deepEqual(copy.history, session.history);
    assert.deepEqual(copy.branches, session.branches);
    const loaded = await ContreeSession.load(t.contree, "kept-session", { store });
    assert.equal(await loaded.readText("/s"), "saved\n");
    await loaded.run({ shell: "echo more >> /s" });
    const reloaded = await ContreeSession.load(t.contree, "kept-session", { store });
    assert.equal(reloaded.step, loaded.step);
    assert.equal(session.step, 1);
    await assert.rejects(ContreeSession.load(t.contree, "nope", { store }), ContreeSessionError);
    assert.throws(
      () => ContreeSession.restore(t.contree, { ...session.toJSON(), branch: "missing" }),
      ContreeSessionError,
    );
    assert.throws(() => ContreeSession.restore(t.contree, { version: 2 }), ContreeSessionError);
  });

  it("reads and inspects files at HEAD", async () => {
    const session = t.busybox.session();
    await session.run({ shell: "mkdir /d && echo x > /d/x" });
    assert.deepEqual((await session.ls("/d")).map((entry) => entry.name), ["x"]);
    assert.deepEqual(await session.read("/d/x"), new TextEncoder().encode("x\n"));
    assert.equal(await new Response(await session.open("/d/x")).text(), "x\n");
    assert.ok((await new Response(await session.archive("/d")).arrayBuffer()).byteLength > 0);
    assert.equal(await session.exists("/d/x"), true);
    const found = await session.grep("x", { path: "/d" });
    assert.deepEqual(found.matches.map((match) => match.path), ["/d/x"]);
  });

  it("starts from a run result", async () => {
    const base = await t.busybox.run({ shell: "echo from-result > /r", disposable: false });
    const session = base.session();
    assert.equal(await session.readText("/r"), "from-result\n");
  });
});
