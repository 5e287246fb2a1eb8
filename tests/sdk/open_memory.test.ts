// open() streams a 200 MiB file of an image in flat memory (RSS growth well under the file's
// size), byte-exact (same SHA-256 as computed in the sandbox).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { rss, useBackend } from "./_setup.ts";

const SIZE = 200 * 1024 * 1024;
/** Generous: a buffered read would grow by at least the file's 200 MiB. */
const MAX_GROWTH = 96 * 1024 * 1024;

describe("open() memory", () => {
  const t = useBackend();

  it("streams a 200 MiB file with flat memory", async () => {
    const image = await t.busybox.run({
      shell: `head -c ${SIZE} /dev/urandom > /big && sha256sum /big | cut -d' ' -f1`,
      disposable: false,
      timeout: 300,
    });
    const expected = image.stdout.trim();
    const before = rss();
    let peak = before;
    let received = 0;
    const hash = createHash("sha256");
    for await (const chunk of await image.open("/big")) {
      hash.update(chunk);
      received += chunk.length;
      peak = Math.max(peak, rss());
    }
    assert.equal(received, SIZE);
    assert.equal(hash.digest("hex"), expected);
    const growth = peak - before;
    assert.ok(growth < MAX_GROWTH, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`);
  });
});
