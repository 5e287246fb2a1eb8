// The SDK's onProgress callbacks (open, importFrom) and image.diff(), against the real local
// backend and a real OCI registry on loopback, under Deno, Bun and Node.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { importProgressReader, type Progress, withProgress } from "../../src/sdk/mod.ts";
import { type Registry, startRegistry } from "./_registry.ts";
import { useBackend } from "./_setup.ts";

describe("progress and diff", () => {
  let registry: Registry;
  before(async () => {
    registry = await startRegistry();
    // Random text, so that the gzipped layer keeps some size.
    const random = Array.from(
      { length: 4 },
      () =>
        Array.from(crypto.getRandomValues(new Uint8Array(50_000)), (b) => b.toString(16)).join(""),
    ).join("");
    await registry.push("sdk/progress", "1", { "a.txt": random, "b.txt": "b\n" });
  });
  const t = useBackend(() => ["--insecure-registry", registry.host]);
  after(() => registry?.stop());

  it("withProgress counts the bytes that pass, from an offset", async () => {
    const seen: Progress[] = [];
    const stream = withProgress(new Blob(["hello", " world"]).stream(), 20, (p) => seen.push(p), 9);
    assert.equal(await new Response(stream).text(), "hello world");
    assert.deepEqual(seen[0], { bytes: 9, total: 20 });
    assert.deepEqual(seen.at(-1), { bytes: 20, total: 20 });
  });

  it("importProgressReader follows the backend's import log", () => {
    const seen: Progress[] = [];
    const feed = importProgressReader((p) => seen.push(p));
    feed("image sha256:ab (2 layers, 2.0 MB)\n");
    feed("layer 1 sha256:cd unpacked (1.0 MB)\nlayer 2 sha256:ef already present\n");
    feed("imported sha256:ab\n");
    assert.deepEqual(seen.map((p) => [p.bytes, p.total]), [
      [0, 2 << 20],
      [1 << 20, 2 << 20],
      [1 << 20, 2 << 20],
      [2 << 20, 2 << 20],
    ]);
  });

  it("open() and importFrom() report progress to onProgress", async () => {
    const made = await t.busybox.run({
      shell: "head -c 3000000 /dev/zero > /z",
      disposable: false,
    });
    const seen: Progress[] = [];
    let bytes = 0;
    for await (const chunk of await made.open("/z", { onProgress: (p) => seen.push(p) })) {
      bytes += chunk.length;
    }
    assert.equal(bytes, 3_000_000);
    assert.deepEqual(seen.at(-1), { bytes: 3_000_000, total: 3_000_000 });
    const ranged: Progress[] = [];
    await new Response(
      await made.open("/z", { range: { start: 1000 }, onProgress: (p) => ranged.push(p) }),
    )
      .arrayBuffer();
    assert.deepEqual(ranged[0], { bytes: 1000, total: 3_000_000 });
    assert.deepEqual(ranged.at(-1), { bytes: 3_000_000, total: 3_000_000 });
    const steps: Progress[] = [];
    await t.contree.images.importFrom(`${registry.host}/sdk/progress:1`, {
      onProgress: (p) => steps.push(p),
    });
    assert.ok(steps.length >= 2, JSON.stringify(steps));
    assert.ok(steps[0].total! > 0, JSON.stringify(steps));
    assert.equal(steps.at(-1)!.bytes, steps.at(-1)!.total);
    assert.match(steps.at(-1)!.message!, /^imported /);
  });

  it("diff() sees a same-size, same-mtime change of content", async () => {
    const base = await t.busybox.run({
      shell: "printf 1234 > /f && touch -d @1700000000 /f && mkdir /gone && echo x > /gone/y",
      disposable: false,
    });
    const next = await base.run({
      shell: "printf 4321 > /f && touch -d @1700000000 /f && rm -r /gone && chmod 700 /bin",
      disposable: false,
    });
    const entries = await base.diff(next);
    assert.deepEqual(entries.map((e) => [e.path, e.status, e.content, e.mode]), [
      ["/bin", "modified", false, { before: 0o755, after: 0o700 }],
      ["/f", "modified", true, undefined],
      ["/gone", "removed", true, undefined],
      ["/gone/y", "removed", true, undefined],
    ]);
    assert.deepEqual(await next.diff(next), []);
  });
});
