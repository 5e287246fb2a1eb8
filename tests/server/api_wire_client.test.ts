// The project's own wire client (src/wire) driving the local backend end to end.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ContreeClient, decodeStreamText, RangeNotSatisfiableError } from "../../src/wire/mod.ts";
import { type Backend, startBackend } from "./_backend.ts";

describe("server with ContreeClient", () => {
  let b: Backend;
  let client: ContreeClient;

  before(async () => {
    b = await startBackend();
    client = new ContreeClient({ baseUrl: b.url, token: b.token, project: "local" });
  });
  after(async () => {
    await b?.dispose();
  });

  it("runs, follows events, tags, inspects and uploads through the client", async () => {
    const who = await client.whoami();
    assert.equal(who.permissions.spawn, true);

    const base = await client.findImageByTag("busybox:latest");
    assert.equal(await client.resolveImage("tag:busybox:latest"), base);

    const file = await client.ensureFile(new TextEncoder().encode("payload\n"));
    assert.equal((await client.ensureFile(new TextEncoder().encode("payload\n"))).uuid, file.uuid);
    assert.equal(await client.fileExists(file.sha256), true);

    const spawned = await client.spawnInstance({
      image: "tag:busybox:latest",
      command: "cat /in.txt; echo err >&2; cp /in.txt /out.txt",
      shell: true,
      files: { "/in.txt": { uuid: file.uuid, mode: "0644" } },
    });
    let stdout = "";
    let completion: Record<string, unknown> | undefined;
    for await (const event of client.followOperationEvents(spawned.uuid)) {
      if (event.type === "stdout") stdout += decodeStreamText(event.data as never);
      if (event.type === "completion") completion = event.data as Record<string, unknown>;
    }
    assert.equal(stdout, "payload\n");
    assert.equal(completion?.status, "SUCCESS");

    const op = await client.getOperation(spawned.uuid);
    assert.equal(op.status, "SUCCESS");
    const image = op.result_image_uuid!;
    assert.equal(completion?.result_image_uuid, image);

    const tagged = await client.updateImageTag(image, "e2e/client:v1");
    assert.equal(tagged.tag, "e2e/client:v1");
    assert.equal(await client.findImageByTag("e2e/client:v1"), image);
    assert.equal((await client.inspectImage(image)).uuid, image);

    const listing = await client.listDirectory(image, "/");
    assert.ok(listing.files.some((f) => f.path === "out.txt"));
    assert.match(await client.listDirectoryText(image, "/"), /out\.txt/);
    assert.equal(new TextDecoder().decode(await client.download(image, "/out.txt")), "payload\n");
    assert.equal(await client.imageFileExists(image, "/out.txt"), true);
    assert.equal(await client.imageFileExists(image, "/missing"), false);
    assert.equal(await client.archiveExists(image, "/out.txt"), true);
    const tar = new Uint8Array(
      await new Response(await client.archive(image, "/out.txt")).arrayBuffer(),
    );
    assert.match(new TextDecoder().decode(tar), /payload/);

    const ops = await client.listOperations({ limit: 10 });
    assert.ok(ops.some((o) => o.uuid === spawned.uuid));
    await client.deleteImageTag(image, "e2e/client:v1");
    assert.equal((await client.inspectImage(image)).tag, null);
  });

  it("downloads byte ranges the backend serves as asked (206)", async () => {
    const spawned = await client.spawnInstance({
      image: "tag:busybox:latest",
      command: "seq 1 30000 > /n",
      shell: true,
      disposable: false,
    });
    let image = "";
    for await (const event of client.followOperationEvents(spawned.uuid)) {
      if (event.type === "completion") image = String(event.data.result_image_uuid);
    }
    const text = Array.from({ length: 30000 }, (_, i) => `${i + 1}\n`).join("");
    const part = async (range: Parameters<ContreeClient["downloadStream"]>[2]) => {
      const got = await client.downloadStream(image, "/n", range);
      return { ...got, text: await new Response(got.body).text() };
    };
    const middle = await part({ range: { start: 70000, end: 70009 } });
    assert.deepEqual(middle.range, { start: 70000, end: 70009, total: text.length });
    assert.equal(middle.size, 10);
    assert.equal(middle.text, text.slice(70000, 70010));
    const tail = await part({ range: { suffix: 6 } });
    assert.equal(tail.text, text.slice(-6));
    const rest = await part({ range: { start: 100 } });
    assert.equal(rest.text, text.slice(100));
    const past = await client.downloadStream(image, "/n", { range: { start: text.length } })
      .catch((error) => error);
    assert.ok(past instanceof RangeNotSatisfiableError, String(past));
    assert.equal(past.status, 416);
    assert.equal(past.size, text.length);
  });
});
