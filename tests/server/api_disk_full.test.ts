// A full disk: the data directory on a small tmpfs. Uploads that do not fit answer 507,
// runs that cannot be snapshotted fail cleanly, and the server keeps working.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backend, startBackend } from "./_backend.ts";
import { call, request, run } from "./_api.ts";

describe("server on a full disk", () => {
  let b: Backend;
  let mount: string;

  before(async () => {
    mount = mkdtempSync(join(tmpdir(), "contree-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=24m", "tmpfs", mount]);
    b = await startBackend({ dataDir: join(mount, "data") });
  });
  after(async () => {
    await b?.stop();
    if (mount) {
      execFileSync("umount", ["-l", mount]);
      rmSync(mount, { recursive: true, force: true });
    }
  });

  it("answers 507 to an upload that does not fit and keeps serving", async () => {
    const big = new Uint8Array(32 * 1024 * 1024);
    const res = await call(b, "POST", "/v1/files", { body: big });
    assert.equal(res.status, 507);
    assert.equal(res.body.status, 507);
    assert.match(res.body.error, /storage|space|full/i);
    assert.deepEqual(readdirSync(join(b.dataDir, "blobs", "tmp")), []);
    const small = await call(b, "POST", "/v1/files", { body: new Uint8Array([1, 2, 3]) });
    assert.equal(small.status, 201);
  });

  it("leaves no partial image when a run fills the disk", async () => {
    const op = await run(b, {
      command: "echo start > /start; head -c 40000000 /dev/zero > /fill; echo rc=$?",
      shell: true,
    });
    assert.ok(["SUCCESS", "FAILED"].includes(op.status), op.status);
    if (op.status === "SUCCESS" && op.result_image_uuid) {
      // Whatever the image holds is what the command managed to write, and it is readable.
      const start = await request(
        b,
        "GET",
        `/v1/inspect/${op.result_image_uuid}/download?path=/start`,
      );
      assert.equal(await start.text(), "start\n");
    } else {
      assert.equal(op.result_image_uuid, null);
      assert.equal(typeof op.error, "string");
    }
    const after = await run(b, { command: "echo still works", shell: true, disposable: true });
    assert.equal(after.status, "SUCCESS");
    const images = await call(b, "GET", "/v1/images?limit=1000");
    for (const image of images.body.images) {
      const listing = await call(b, "GET", `/v1/inspect/${image.uuid}/list?path=/`);
      assert.equal(listing.status, 200);
    }
  });
});
