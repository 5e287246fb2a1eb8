// The Contree client, the images and files managers and image lineage, against the real
// local backend.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Contree, ContreeImage, ImageState } from "../../src/sdk/mod.ts";
import { ContreeClient, NotFoundError, sha256Hex } from "../../src/wire/mod.ts";
import { executing, terminal, useBackend } from "./_setup.ts";

describe("Contree client", () => {
  const t = useBackend();

  it("builds its wire client from options and reports whoami", async () => {
    const contree = new Contree({
      baseUrl: t.backend.url,
      token: t.backend.token,
      operationTimeout: 50,
    });
    assert.ok(contree.api instanceof ContreeClient);
    assert.equal(contree.operationTimeout, 50);
    assert.equal(contree.truncateOutputAt, 1048576);
    assert.equal(contree.listBatchSize, 100);
    const me = await contree.whoami();
    assert.equal(me.permissions.spawn, true);
    await contree.close();
  });

  it("wraps an existing ContreeClient", async () => {
    const api = new ContreeClient({ baseUrl: t.backend.url, token: t.backend.token });
    const contree = new Contree(api, { truncateOutputAt: 10 });
    assert.equal(contree.api, api);
    assert.equal(contree.truncateOutputAt, 10);
    const done = await (await contree.images.use("busybox:latest")).run({
      shell: "echo 0123456789abc",
    });
    assert.equal(done.stdout, "0123456789");
    await contree.close();
  });

  it("close() cancels runs in flight and refuses later calls; await using closes", async () => {
    let uuid = "";
    let pending: Promise<unknown> = Promise.resolve();
    {
      await using contree = new Contree({ baseUrl: t.backend.url, token: t.backend.token });
      const started = (await contree.images.use("busybox:latest")).run({ shell: "sleep 60" })
        .start();
      uuid = await started.whenSpawned();
      await executing(t.contree, uuid);
      pending = started.wait();
      pending.catch(() => {});
    }
    await assert.rejects(pending, { name: "AbortError" });
    assert.equal((await terminal(t.contree, uuid)).status, "CANCELLED");

    const closed = new Contree({ baseUrl: t.backend.url, token: t.backend.token });
    await closed.close();
    assert.ok(closed.signal.aborted);
    await assert.rejects(closed.whoami(), { name: "AbortError" });
  });

  it("whoami takes a signal", async () => {
    await assert.rejects(t.contree.whoami({ signal: AbortSignal.abort() }), { name: "AbortError" });
  });
});

describe("images manager", () => {
  const t = useBackend();

  it("use() makes no request unless strict, for a tag, tag:NAME or a UUID", async () => {
    const offline = new Contree({ baseUrl: "http://127.0.0.1:9", retry: false });
    const bare = await offline.images.use("busybox:latest");
    assert.deepEqual([bare.uuid, bare.tag, bare.state], [
      undefined,
      "busybox:latest",
      ImageState.PULLED,
    ]);
    const prefixed = await offline.images.use("tag:busybox:latest");
    assert.equal(prefixed.tag, "busybox:latest");
    const byUuid = await offline.images.use("00000000-0000-0000-0000-000000000001");
    assert.deepEqual([byUuid.uuid, byUuid.tag], [
      "00000000-0000-0000-0000-000000000001",
      undefined,
    ]);
    await offline.close();
  });

  it("use(strict) resolves a tag or checks a UUID now", async () => {
    const byTag = await t.contree.images.use("busybox:latest", { strict: true });
    assert.match(byTag.uuid!, /^[0-9a-f-]{36}$/);
    assert.equal(byTag.tag, "busybox:latest");
    const byUuid = await t.contree.images.use(byTag.uuid!, { strict: true });
    assert.deepEqual([byUuid.uuid, byUuid.tag], [byTag.uuid, "busybox:latest"]);
    await assert.rejects(t.contree.images.use("no/such:tag", { strict: true }), NotFoundError);
    await assert.rejects(
      t.contree.images.use(crypto.randomUUID(), { strict: true }),
      NotFoundError,
    );
  });

  it("ref() is a handle made at once: a UUID's image reads, a tag's runs", async () => {
    const byUuid = t.contree.images.ref(t.busybox.uuid!);
    assert.ok(byUuid instanceof ContreeImage);
    assert.deepEqual([byUuid.uuid, byUuid.tag], [t.busybox.uuid, undefined]);
    assert.match(await byUuid.readText("/etc/passwd"), /^root:/);
    const byTag = t.contree.images.ref("tag:busybox:latest");
    assert.deepEqual([byTag.uuid, byTag.tag], [undefined, "busybox:latest"]);
    const done = await byTag.run({ shell: "echo from-tag" });
    assert.equal(done.stdout, "from-tag\n");
    assert.equal(t.contree.images.ref("busybox:latest").ref, "tag:busybox:latest");
    assert.throws(() => t.contree.images.ref("  "), TypeError);
    await assert.rejects(t.contree.images.ref("no/such:tag").run({ shell: "true" }), NotFoundError);
  });

  it("get() reads an image by UUID", async () => {
    const image = await t.contree.images.get(t.busybox.uuid!);
    assert.ok(image instanceof ContreeImage);
    assert.equal(image.tag, "busybox:latest");
  });

  it("oci() uses an image already tagged for the reference, without importing", async () => {
    const image = await t.contree.images.oci("docker://docker.io/library/busybox:latest");
    assert.equal(image.uuid, t.busybox.uuid);
    const viaTag = await t.contree.images.oci("busybox", { tag: "busybox:latest" });
    assert.equal(viaTag.uuid, t.busybox.uuid);
    const byUuid = await t.contree.images.oci(t.busybox.uuid!);
    assert.equal(byUuid.uuid, t.busybox.uuid);
  });

  it("importFrom() validates its arguments before any request", async () => {
    await assert.rejects(t.contree.images.importFrom(crypto.randomUUID()), TypeError);
    await assert.rejects(t.contree.images.importFrom("alpine", { username: "u" }), TypeError);
    await assert.rejects(t.contree.images.importFrom("ftp://x/y"), TypeError);
  });

  it("lists images: tagged, limit, since/until, and iterates over all", async () => {
    const made = await t.busybox.run({
      shell: "touch /listed",
      disposable: false,
      tag: "sdk/listed:1",
    });
    const all = await t.contree.images.list({ limit: Infinity });
    assert.ok(all.some((image) => image.uuid === made.uuid));
    const tagged = await t.contree.images.list({ tagged: true });
    assert.ok(tagged.length >= 2);
    assert.ok(tagged.every((image) => image.tag !== undefined));
    assert.equal((await t.contree.images.list({ limit: 1 })).length, 1);
    const future = new Date(Date.now() + 3_600_000);
    assert.deepEqual(await t.contree.images.list({ since: future }), []);
    const recent = await t.contree.images.list({ until: future, limit: Infinity });
    assert.equal(recent.length, all.length);
    const iterated: string[] = [];
    for await (const image of t.contree.images) iterated.push(image.uuid!);
    assert.deepEqual(iterated.sort(), all.map((image) => image.uuid!).sort());
  });

  it("tags and untags images", async () => {
    const image = await t.busybox.run({ shell: "touch /moving", disposable: false });
    const tagged = await image.tagAs("sdk/moving:1");
    assert.deepEqual([tagged.uuid, tagged.tag], [image.uuid, "sdk/moving:1"]);
    assert.equal((await t.contree.images.use("sdk/moving:1", { strict: true })).uuid, image.uuid);
    const untagged = await tagged.untag();
    assert.equal(untagged.tag, undefined);
    assert.equal((await untagged.info()).tag ?? undefined, undefined);
    await assert.rejects(t.contree.images.use("sdk/moving:1", { strict: true }), NotFoundError);
  });

  it("resolve() pins the UUID of a tag-only image", async () => {
    const lazy = await t.contree.images.use("busybox:latest");
    const pinned = await lazy.resolve();
    assert.deepEqual([pinned.uuid, pinned.tag], [t.busybox.uuid, "busybox:latest"]);
    assert.equal(await pinned.resolve(), pinned);
  });
});

describe("lineage", () => {
  const t = useBackend();

  it("parent() follows the operation records; an imported image has none", async () => {
    const child = await t.busybox.run({ shell: "echo 1 > /gen", disposable: false });
    const grandchild = await child.run({ shell: "echo 2 >> /gen", disposable: false });
    assert.equal((await grandchild.parent())?.uuid, child.uuid);
    assert.equal((await child.parent())?.uuid, t.busybox.uuid);
    assert.equal(await t.busybox.parent(), undefined);
    const info = await grandchild.info();
    assert.equal(info.uuid, grandchild.uuid);
    assert.ok(info.operation_uuid);
    const op = await t.contree.api.getOperation(info.operation_uuid);
    assert.equal(op.image_uuid, child.uuid);
  });

  it("ancestors() walks up to the imported root", async () => {
    const a = await t.busybox.run({ shell: "touch /a", disposable: false });
    const b = await a.run({ shell: "touch /b", disposable: false });
    const c = await b.run({ shell: "touch /c", disposable: false });
    const chain: string[] = [];
    for await (const ancestor of c.ancestors()) chain.push(ancestor.uuid!);
    assert.deepEqual(chain, [b.uuid, a.uuid, t.busybox.uuid]);
  });
});

describe("files manager", () => {
  const t = useBackend();

  it("uploads by content hash, never twice, and reports existence", async () => {
    const content = `file ${crypto.randomUUID()}`;
    const sha = await sha256Hex(content);
    assert.equal(await t.contree.files.exists(sha), false);
    const first = await t.contree.files.upload(content);
    assert.deepEqual([first.sha256, first.size], [sha, content.length]);
    const second = await t.contree.files.upload(new Blob([content]));
    assert.equal(second.uuid, first.uuid);
    assert.equal(await t.contree.files.exists(sha), true);
    const listed = await t.contree.files.list();
    assert.ok(listed.some((file) => file.uuid === first.uuid));
    assert.equal((await t.contree.files.list({ limit: 1 })).length, 1);
  });

  it("uploads streams and bytes alike", async () => {
    const bytes = new Uint8Array([0, 1, 2, 255]);
    const fromStream = await t.contree.files.upload(new Response(bytes).body!);
    const fromBytes = await t.contree.files.upload(bytes);
    assert.equal(fromStream.uuid, fromBytes.uuid);
    assert.equal(fromBytes.size, 4);
  });
});
