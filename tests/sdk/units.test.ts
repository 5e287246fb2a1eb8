// The SDK pieces that need no server: OCI references, the state machine, preparing runs,
// session snapshots and the memory store.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Contree,
  ContreeImage,
  ContreeImageStateError,
  ContreeSession,
  ContreeSessionError,
  DisposableImageRunError,
  ImageState,
  MemorySessionStore,
  parseOciReference,
} from "../../src/sdk/mod.ts";
import { assertTransition } from "../../src/sdk/_transitions.ts";

const offline = () => new Contree({ baseUrl: "http://127.0.0.1:9", retry: false });

describe("OCI references", () => {
  it("normalises Docker Hub names", () => {
    assert.deepEqual(parseOciReference("busybox"), {
      url: "docker://docker.io/library/busybox:latest",
      tag: "busybox:latest",
    });
    assert.deepEqual(parseOciReference("ubuntu:22.04"), {
      url: "docker://docker.io/library/ubuntu:22.04",
      tag: "ubuntu:22.04",
    });
    assert.deepEqual(parseOciReference("docker.io/user/app:1"), {
      url: "docker://docker.io/user/app:1",
      tag: "user/app:1",
    });
    assert.deepEqual(parseOciReference("user/app"), {
      url: "docker://docker.io/user/app:latest",
      tag: "user/app:latest",
    });
    assert.equal(
      parseOciReference("docker://docker.io/library/busybox:latest").tag,
      "busybox:latest",
    );
  });

  it("keeps other registries, ports and localhost in the tag", () => {
    assert.deepEqual(parseOciReference("docker://ghcr.io/user/img:1"), {
      url: "docker://ghcr.io/user/img:1",
      tag: "ghcr.io/user/img:1",
    });
    assert.deepEqual(parseOciReference("localhost:5000/team/app"), {
      url: "docker://localhost:5000/team/app:latest",
      tag: "localhost:5000/team/app:latest",
    });
    assert.equal(parseOciReference("localhost/app:2").url, "docker://localhost/app:2");
  });

  it("pins digests without a tag and refuses other schemes and junk", () => {
    assert.deepEqual(parseOciReference("alpine@sha256:abc"), {
      url: "docker://docker.io/library/alpine@sha256:abc",
      tag: undefined,
    });
    assert.throws(() => parseOciReference("https://example.com/x"), TypeError);
    assert.throws(() => parseOciReference(""), TypeError);
    assert.throws(() => parseOciReference("a//b"), TypeError);
    assert.throws(() => parseOciReference("has space"), TypeError);
  });
});

describe("image states", () => {
  it("has the seed's states and transitions", () => {
    assert.deepEqual(Object.values(ImageState), [
      "PULLED",
      "PREPARED",
      "EXECUTING",
      "SUCCEEDED",
      "FAILED",
    ]);
    const legal: [ImageState, ImageState][] = [
      ["PULLED", "PREPARED"],
      ["PREPARED", "PREPARED"],
      ["PREPARED", "EXECUTING"],
      ["EXECUTING", "SUCCEEDED"],
      ["EXECUTING", "FAILED"],
      ["SUCCEEDED", "PREPARED"],
    ];
    for (const [from, to] of legal) assertTransition(from, to, undefined);
    for (const to of Object.values(ImageState)) {
      assert.throws(() => assertTransition("FAILED", to, "u"), ContreeImageStateError);
    }
    assert.throws(
      () => assertTransition("PULLED", "EXECUTING", "u"),
      (error: unknown) =>
        error instanceof ContreeImageStateError && error.state === "PULLED" &&
        error.imageUuid === "u" && error.expected.join() === "PREPARED",
    );
  });

  it("prepares runs without a request, from a pulled or a succeeded image", async () => {
    const contree = offline();
    const image = await contree.images.use("busybox:latest");
    assert.equal(image.state, ImageState.PULLED);
    const run = image.run({ shell: "true" });
    assert.equal(run.state, ImageState.PREPARED);
    assert.equal(run.with({ env: { A: "1" } }).state, ImageState.PREPARED);
    const result = new ContreeImage(contree, {
      uuid: "00000000-0000-0000-0000-0000000000aa",
      result: {
        stdout: "",
        stderr: "",
        exitCode: 0,
        signal: undefined,
        elapsed: 1,
        truncated: {},
        cost: undefined,
        operationUuid: "op",
        exit: {
          pid: 1,
          code: 0,
          signal: -1,
          timed_out: false,
          duration_ms: 1,
          resources: {} as never,
        },
      },
    });
    assert.equal(result.state, ImageState.SUCCEEDED);
    assert.equal(result.run({ shell: "true" }).state, ImageState.PREPARED);
    assert.equal(String(result), `ContreeImage(uuid=${result.uuid}, tag=-, state=SUCCEEDED)`);
    await contree.close();
  });

  it("refuses to run a disposable result", () => {
    const contree = offline();
    const disposed = new ContreeImage(contree, {});
    assert.throws(() => disposed.run({ shell: "true" }), DisposableImageRunError);
    assert.throws(() => disposed.ref, DisposableImageRunError);
    assert.throws(() => disposed.popen("true"), DisposableImageRunError);
  });
});

describe("session snapshots", () => {
  const contree = offline();
  const snapshot = () =>
    contree.images.use("00000000-0000-0000-0000-0000000000bb").then((image) =>
      image.session({ id: "s1" }).toJSON()
    );

  it("start at the image with one step on main", async () => {
    const json = await snapshot();
    assert.equal(json.version, 1);
    assert.equal(json.branch, "main");
    assert.deepEqual(json.branches, { main: { head: 0, tip: 0 } });
    assert.equal(json.steps[0].image, "00000000-0000-0000-0000-0000000000bb");
    const session = ContreeSession.restore(contree, json);
    assert.equal(session.id, "s1");
    assert.equal(session.head.uuid, "00000000-0000-0000-0000-0000000000bb");
  });

  it("are validated on restore", async () => {
    const good = await snapshot();
    const bad: unknown[] = [
      null,
      { ...good, version: 2 },
      { ...good, steps: [] },
      { ...good, branch: "other" },
      { ...good, branches: { main: { head: 5, tip: 5 } } },
      { ...good, steps: [{ ...good.steps[0], step: 3 }] },
      { ...good, steps: [good.steps[0], { ...good.steps[0], step: 1, parent: 1 }] },
    ];
    for (const value of bad) {
      assert.throws(() => ContreeSession.restore(contree, value), ContreeSessionError);
    }
  });

  it("are copied by the memory store", async () => {
    const store = new MemorySessionStore();
    const json = await snapshot();
    await store.save(json);
    json.branch = "changed";
    assert.equal(((await store.load("s1")) as { branch: string }).branch, "main");
    await store.delete("s1");
    assert.equal(await store.load("s1"), undefined);
  });
});
