// The runtime-specific SDK additions in local/: clients from the environment or a profile,
// downloads to disk and the file session store, against the real local backend.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { ContreeSession } from "../../src/sdk/mod.ts";
import { contreeFromEnv, contreeFromProfile } from "../../local/contree.ts";
import { download } from "../../local/download.ts";
import { FileSessionStore } from "../../local/session_store.ts";
import { NotFoundError } from "../../src/wire/mod.ts";
import { pattern, useBackend } from "./_setup.ts";

describe("local additions", () => {
  const t = useBackend();
  const dir = mkdtempSync(join(tmpdir(), "contree-sdk-local-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

  it("contreeFromEnv() builds a client from environment variables", async () => {
    const contree = contreeFromEnv({
      env: { CONTREE_TOKEN: t.backend.token, CONTREE_URL: t.backend.url },
      operationTimeout: 42,
    });
    assert.equal(contree.operationTimeout, 42);
    assert.equal((await contree.whoami()).permissions.list, true);
    await contree.close();
    assert.throws(() => contreeFromEnv({ env: {} }), /token/);
  });

  it("contreeFromProfile() builds a client from auth.ini", async () => {
    const path = join(dir, "auth.ini");
    writeFileSync(
      path,
      `[DEFAULT]\nprofile = local\n\n[profile:local]\ntype = jwt\nurl = ${t.backend.url}\ntoken = ${t.backend.token}\n`,
    );
    const contree = await contreeFromProfile(undefined, { path, env: {}, listBatchSize: 7 });
    assert.equal(contree.listBatchSize, 7);
    const image = await contree.images.use("busybox:latest", { strict: true });
    assert.equal(image.uuid, t.busybox.uuid);
    await contree.close();
    await assert.rejects(contreeFromProfile("missing", { path, env: {} }), /missing/);
  });

  it("download() streams a file to disk, byte-exact", async () => {
    const data = pattern(150_000);
    const image = await t.busybox.run({
      shell: "true",
      files: { "/srv/blob.bin": data },
      disposable: false,
    });
    const target = join(dir, "blob-copy.bin");
    assert.equal(await download(image, "/srv/blob.bin", target), target);
    assert.deepEqual(new Uint8Array(readFileSync(target)), data);
  });

  it("download() defaults to the base name in the current directory", async () => {
    const cwd = process.cwd();
    const here = mkdtempSync(join(dir, "cwd-"));
    process.chdir(here);
    try {
      assert.equal(await download(t.busybox, "/etc/passwd"), "passwd");
      assert.match(readFileSync(join(here, "passwd"), "utf8"), /^root:/);
    } finally {
      process.chdir(cwd);
    }
  });

  it("download() leaves no file behind when the path is missing", async () => {
    const target = join(dir, "never.bin");
    await assert.rejects(download(t.busybox, "/no/such/file", target), NotFoundError);
    assert.ok(!readdirSync(dir).some((name) => name.startsWith("never.bin")));
  });

  it("download() takes a session, reading at HEAD", async () => {
    const session = t.busybox.session();
    await session.run({ shell: "echo head > /h" });
    const target = join(dir, "h.txt");
    await download(session, "/h", target);
    assert.equal(readFileSync(target, "utf8"), "head\n");
  });

  it("FileSessionStore keeps sessions across store instances", async () => {
    const storeDir = join(dir, "sessions");
    const session = t.busybox.session({ store: new FileSessionStore(storeDir), id: "a/b c" });
    await session.run({ shell: "echo 1 > /f" });
    await session.run({ shell: "echo 2 >> /f" });
    await session.rollback();
    const reopened = await ContreeSession.load(t.contree, "a/b c", {
      store: new FileSessionStore(storeDir),
    });
    assert.equal(reopened.step, 1);
    assert.equal(await reopened.readText("/f"), "1\n");
    await reopened.forward();
    assert.equal(await reopened.readText("/f"), "1\n2\n");
    const store = new FileSessionStore(storeDir);
    assert.deepEqual(readdirSync(storeDir), ["a%2Fb%20c.json"]);
    await store.delete("a/b c");
    assert.equal(await store.load("a/b c"), undefined);
    await store.delete("a/b c");
  });
});
