// The image's WORKDIR: a run without `cwd` (and its subprocesses) starts in the WorkingDir of
// the imported image's config, result images keep it, images without one start at `/`; and a
// data directory from before the `workdir` column opens with `workdir: ""`.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { ImageRepo, openDatabase } from "../../server/store/mod.ts";
import { type Backend, startBackend } from "./_backend.ts";
import { call, events, run, spawn, text, waitOp } from "./_api.ts";
import { buildImage, busyboxTar, type Registry, startRegistry, tarOf } from "./_registry.ts";

describe("image WORKDIR", () => {
  let registry: Registry;
  let b: Backend;
  let app: string;

  /** Imports `team/wd:TAG` from the registry and returns the image UUID. */
  const importTag = async (tag: string): Promise<string> => {
    const res = await call(b, "POST", "/v1/images/import", {
      json: { registry: { url: `docker://${registry.host}/team/wd:${tag}` }, timeout: 120 },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const op = await waitOp(b, res.body.uuid);
    assert.equal(op.status, "SUCCESS", op.error);
    return op.result_image_uuid;
  };
  const pwd = async (body: Record<string, unknown>): Promise<string> => {
    const op = await run(b, { command: "pwd", disposable: true, ...body });
    assert.equal(op.status, "SUCCESS", op.error);
    return text(op.metadata.result.stdout);
  };

  before(async () => {
    registry = await startRegistry();
    const layers = [
      await busyboxTar(),
      tarOf([
        { name: "srv", type: "dir" },
        { name: "srv/app", type: "dir" },
        { name: "srv/app/marker", content: "app\n" },
      ]),
    ];
    // Same layers and env, different WorkingDir: three different images.
    for (const [tag, workdir] of [["app", "/srv/app"], ["none", ""], ["gone", "/no/such/dir"]]) {
      await registry.pushImage("team/wd", tag, buildImage({ layers, workdir }));
    }
    b = await startBackend({ args: ["--insecure-registry", "127.0.0.1"] });
    app = await importTag("app");
  });
  after(async () => {
    await b?.dispose();
    await registry?.stop();
  });

  it("starts a run without cwd in the image's WORKDIR, an explicit cwd where it says", async () => {
    assert.equal(await pwd({ image: app }), "/srv/app\n");
    assert.equal(await pwd({ image: app, cwd: "" }), "/srv/app\n");
    assert.equal(await pwd({ image: app, cwd: "/" }), "/\n");
    assert.equal(await pwd({ image: app, cwd: "/srv" }), "/srv\n");
    const uuid = await spawn(b, { image: app, command: "cat marker", shell: true });
    const op = await waitOp(b, uuid);
    assert.equal(text(op.metadata.result.stdout), "app\n");
    const spawned = (await events(b, uuid)).find((e) => e.type === "spawn");
    assert.equal(spawned?.data.cwd, "/srv/app");
  });

  it("starts subprocesses without cwd in the image's WORKDIR", async () => {
    const uuid = await spawn(b, { image: app, command: "sleep", args: ["300"], disposable: true });
    try {
      const started = await call(b, "POST", `/v1/operations/${uuid}/subprocesses`, {
        json: { command: "pwd" },
      });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const path = `/v1/operations/${uuid}/subprocesses/${started.body.spid}`;
      let process = (await call(b, "GET", path)).body;
      while (process.state.exit_code === -1) {
        await new Promise((r) => setTimeout(r, 25));
        process = (await call(b, "GET", path)).body;
      }
      assert.equal(text(process.stdout), "/srv/app\n");
    } finally {
      await call(b, "DELETE", `/v1/operations/${uuid}`);
      await waitOp(b, uuid);
    }
  });

  it("keeps the WORKDIR in result images, across chains", async () => {
    const first = await run(b, { image: app, command: "echo one > one.txt", shell: true });
    assert.equal(first.status, "SUCCESS", first.error);
    assert.notEqual(first.result_image_uuid, app);
    const second = await run(b, {
      image: first.result_image_uuid,
      command: "echo two > two.txt",
      shell: true,
      cwd: "/",
    });
    assert.equal(second.status, "SUCCESS", second.error);
    assert.equal(await pwd({ image: first.result_image_uuid }), "/srv/app\n");
    assert.equal(await pwd({ image: second.result_image_uuid }), "/srv/app\n");
    const listed = await run(b, {
      image: second.result_image_uuid,
      command: "ls",
      disposable: true,
    });
    assert.equal(text(listed.metadata.result.stdout), "marker\none.txt\n");
  });

  it("tells images apart by WORKDIR and starts images without one at /", async () => {
    const none = await importTag("none");
    assert.notEqual(none, app);
    assert.equal(await importTag("app"), app);
    assert.equal(await pwd({ image: none }), "/\n");
    assert.equal(await pwd({ image: "tag:busybox:latest" }), "/\n");
  });

  it("fails with 125 when the WORKDIR does not exist in the image", async () => {
    const op = await run(b, { image: await importTag("gone"), command: "pwd", disposable: true });
    assert.equal(op.metadata.result.state.exit_code, 125);
    assert.match(text(op.metadata.result.stderr), /\/no\/such\/dir/);
  });
});

describe("openDatabase on a data directory from before the workdir column", () => {
  it('adds the column; old images read workdir ""', async () => {
    const dir = await Deno.makeTempDir({ prefix: "contree-db-" });
    const path = join(dir, "meta.db");
    try {
      const old = new DatabaseSync(path);
      old.exec(`CREATE TABLE images (
        uuid TEXT PRIMARY KEY,
        tag TEXT UNIQUE,
        created_at TEXT NOT NULL,
        operation_uuid TEXT,
        parent TEXT,
        layers TEXT NOT NULL,
        env TEXT NOT NULL DEFAULT '{}'
      )`);
      const uuid = crypto.randomUUID();
      old.prepare(
        `INSERT INTO images (uuid, tag, created_at, operation_uuid, parent, layers, env)
         VALUES (?, 'old:1', '2026-01-01T00:00:00.000Z', NULL, NULL, '["l1"]', '{"A":"1"}')`,
      ).run(uuid);
      old.close();

      const db = openDatabase(path);
      const images = new ImageRepo(db);
      const image = images.get(uuid);
      assert.equal(image?.workdir, "");
      assert.deepEqual(image?.env, { A: "1" });
      assert.equal(images.byContent(["l1"], { A: "1" }, "")?.uuid, uuid);
      assert.equal(images.byContent(["l1"], { A: "1" }, "/srv"), undefined);
      const moved = crypto.randomUUID();
      images.insert({ ...image!, uuid: moved, tag: null, workdir: "/srv" });
      db.close();

      // Opening a migrated database again changes nothing.
      const again = openDatabase(path);
      const reopened = new ImageRepo(again);
      assert.equal(reopened.byTag("old:1")?.workdir, "");
      assert.equal(reopened.get(moved)?.workdir, "/srv");
      assert.equal(reopened.byContent(["l1"], { A: "1" }, "/srv")?.uuid, moved);
      again.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
