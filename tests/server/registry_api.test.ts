// POST /v1/images/import and `main.ts import-archive` end to end: a real backend imports from
// a real registry (basic auth, plain HTTP allowed by --insecure-registry), runs a command in
// the imported image, re-imports to the same image, masks the password, reports failures.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type Backend, startBackend } from "./_backend.ts";
import { call, events, run, text, waitOp } from "./_api.ts";
import {
  buildImage,
  busyboxTar,
  changeLayers,
  PASSWORD,
  type Registry,
  startRegistry,
  tarOf,
  USER,
  writeDockerSave,
} from "./_registry.ts";

describe("image import through the API", () => {
  let registry: Registry;
  let b: Backend;
  let url: string;

  before(async () => {
    registry = await startRegistry("basic");
    const image = buildImage({
      layers: [await busyboxTar(), ...changeLayers()],
      env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "FROM_IMAGE=yes"],
    });
    await registry.pushImage("team/app", "1", image);
    url = `docker://${registry.host}/team/app:1`;
    b = await startBackend({ args: ["--insecure-registry", "127.0.0.1"] });
  });
  after(async () => {
    await b.dispose();
    await registry.stop();
  });

  const importOp = async (body: Record<string, unknown>) => {
    const res = await call(b, "POST", "/v1/images/import", { json: body });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.headers.get("location"), `/v1/operations/${res.body.uuid}`);
    return await waitOp(b, res.body.uuid);
  };
  const credentials = { username: USER, password: PASSWORD };

  it("imports, tags, and runs commands in the image with its env", async () => {
    const op = await importOp({ registry: { url, credentials }, tag: "team/app:1", timeout: 120 });
    assert.equal(op.status, "SUCCESS", op.error);
    assert.equal(op.kind, "image_import");
    assert.deepEqual(op.result, { image: op.result_image_uuid, tag: "team/app:1" });
    assert.deepEqual(op.metadata.registry.credentials, { username: USER, password: "<MASKED>" });
    assert.ok(op.image_size > 1_000_000);
    const log = await events(b, op.uuid);
    assert.equal(log.at(-1)?.type, "completion");
    const output = log.filter((e) => e.type === "stdout").map((e) => text(e.data as never)).join(
      "",
    );
    assert.match(output, /^image sha256:[0-9a-f]{64} \(4 layers/);
    assert.doesNotMatch(JSON.stringify(log), new RegExp(PASSWORD));
    const ran = await run(b, {
      image: "tag:team/app:1",
      command: "cat /data/keep.txt; ls /data/opq; echo $FROM_IMAGE; test -e /etc/motd || echo gone",
      shell: true,
      disposable: true,
    });
    assert.equal(text(ran.metadata.result.stdout), "keep v2\nnew.txt\nyes\ngone\n");
  });

  it("re-imports an unchanged image as the same image", async () => {
    const first = await importOp({ registry: { url, credentials } });
    const again = await importOp({ registry: { url, credentials }, tag: "team/app:again" });
    assert.equal(again.status, "SUCCESS");
    assert.equal(again.result_image_uuid, first.result_image_uuid);
    assert.equal(again.result.tag, "team/app:again");
  });

  it("fails clearly: bad body or reference (400), wrong credentials, unknown tag", async () => {
    for (
      const body of [
        {},
        { registry: { url: "" } },
        { registry: { url: "http://x/y:z" } },
        { registry: { url }, tag: "Bad Tag" },
      ]
    ) {
      const res = await call(b, "POST", "/v1/images/import", { json: body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(typeof res.body.error, "string");
    }
    const wrong = await importOp({
      registry: { url, credentials: { username: USER, password: "nope-wrong" } },
    });
    assert.equal(wrong.status, "FAILED");
    assert.match(wrong.error, /refused the credentials/);
    assert.equal(wrong.result_image_uuid, null);
    const unknown = await importOp({ registry: { url: url.replace(":1", ":nope"), credentials } });
    assert.equal(unknown.status, "FAILED");
    assert.match(unknown.error, /not found/);
  });

  it("cancels a running import", async () => {
    const noise = crypto.getRandomValues(new Uint8Array(64 << 10));
    const big = new Uint8Array(128 << 20);
    for (let i = 0; i < big.length; i += noise.length) big.set(noise, i);
    await registry.pushImage(
      "team/big",
      "1",
      buildImage({ layers: [tarOf([{ name: "big.bin", content: big }])], compression: "none" }),
    );
    const res = await call(b, "POST", "/v1/images/import", {
      json: { registry: { url: `docker://${registry.host}/team/big:1`, credentials } },
    });
    const uuid = res.body.uuid;
    while ((await call(b, "GET", `/v1/operations/${uuid}`)).body.status === "PENDING") {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal((await call(b, "DELETE", `/v1/operations/${uuid}`)).status, 202);
    const op = await waitOp(b, uuid);
    assert.equal(op.status, "CANCELLED");
    assert.equal(op.result_image_uuid, null);
  });
});

describe("main.ts import-archive", () => {
  it("imports a docker save tarball into a data directory, tagged", async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "contree-cli-import-" });
    try {
      const archive = `${dataDir}.tar`;
      await writeDockerSave(archive, buildImage({ layers: [await busyboxTar()] }), "bb:1");
      const deno = fileURLToPath(new URL("../../node_modules/.bin/deno", import.meta.url));
      const cli = (...args: string[]) =>
        new Deno.Command(deno, {
          args: ["run", "-A", "server/main.ts", ...args],
          cwd: fileURLToPath(new URL("../../", import.meta.url)),
          stdout: "piped",
          stderr: "piped",
        }).output();
      const out = await cli("import-archive", archive, "--tag", "bb:1", "--data-dir", dataDir);
      const stdout = new TextDecoder().decode(out.stdout);
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      assert.match(stdout, /imported .* \(sha256:[0-9a-f]{64}\) as [0-9a-f-]{36} tagged bb:1\n$/);
      const missing = await cli(
        "import-archive",
        `${archive}.nope`,
        "--tag",
        "x:1",
        "--data-dir",
        dataDir,
      );
      assert.equal(missing.code, 1);
      assert.match(new TextDecoder().decode(missing.stderr), /^error: cannot open/);
      await Deno.remove(archive);
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  });
});
