// Imports from a real OCI registry on loopback through the SDK: importFrom(), oci() and their
// failures, against the real local backend.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { OperationFailedError } from "../../src/sdk/mod.ts";
import { type Registry, startRegistry } from "./_registry.ts";
import { useBackend } from "./_setup.ts";

describe("imports", () => {
  let registry: Registry;
  before(async () => {
    registry = await startRegistry();
    await registry.push("sdk/hello", "1", { "hello.txt": "hello from the registry\n" });
    await registry.push("sdk/other", "2", { "other.txt": "other\n" });
  });
  const t = useBackend(() => ["--insecure-registry", registry.host]);
  after(() => registry?.stop());

  const imports = async () =>
    (await t.contree.api.listOperations({ kind: "image_import", limit: 1000 })).length;

  it("importFrom() imports and tags the image from the reference", async () => {
    const image = await t.contree.images.importFrom(`${registry.host}/sdk/hello:1`);
    assert.equal(image.tag, `${registry.host}/sdk/hello:1`);
    assert.ok(image.uuid);
    assert.equal(await image.readText("/hello.txt"), "hello from the registry\n");
    const found = await t.contree.images.use(image.tag, { strict: true });
    assert.equal(found.uuid, image.uuid);
    assert.equal(await image.parent(), undefined);
  });

  it("importFrom() takes an explicit tag", async () => {
    const image = await t.contree.images.importFrom(`docker://${registry.host}/sdk/other:2`, {
      tag: "sdk/other:latest",
      timeout: 120,
    });
    assert.equal(image.tag, "sdk/other:latest");
    assert.equal(await image.readText("/other.txt"), "other\n");
  });

  it("oci() uses an image already imported, and imports only once", async () => {
    const first = await t.contree.images.oci(`${registry.host}/sdk/other:2`);
    const count = await imports();
    const second = await t.contree.images.oci(`${registry.host}/sdk/other:2`);
    assert.equal(second.uuid, first.uuid);
    assert.equal(await imports(), count);
  });

  it("rejects with OperationFailedError for a missing image", async () => {
    await assert.rejects(
      t.contree.images.importFrom(`${registry.host}/sdk/absent:1`),
      (error: unknown) => error instanceof OperationFailedError && error.reason !== undefined,
    );
  });

  it("aborting an import rejects with the signal's reason", async () => {
    await assert.rejects(
      t.contree.images.importFrom(`${registry.host}/sdk/hello:1`, { signal: AbortSignal.abort() }),
      { name: "AbortError" },
    );
  });
});
