// Runs against the real local backend seen as a ConTree server without event streams (every
// `/events` request answered 404, as by a deployment that predates them): the SDK polls the
// operation and still reports the output, the exit code and the result image.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Contree, ImageState } from "../../src/sdk/mod.ts";
import { useBackend } from "./_setup.ts";

/** A fetch to which the server has no event streams. */
const withoutEvents: typeof fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (/\/operations\/[^/]+\/events$/.test(url.pathname)) {
    return Promise.resolve(Response.json({ error: "not found", status: 404 }, { status: 404 }));
  }
  return fetch(input, init);
};

describe("runs on a server without event streams", () => {
  const t = useBackend();

  it("polls: output, exit code and result image as with events", async () => {
    const contree = new Contree({
      baseUrl: t.backend.url,
      token: t.backend.token,
      fetch: withoutEvents,
    });
    try {
      const image = await contree.images.use(t.busybox.uuid!);
      const done = await image.run({
        shell: "echo hi; echo oops >&2; echo made > /made",
        disposable: false,
      });
      assert.equal(done.state, ImageState.SUCCEEDED);
      assert.equal(done.stdout, "hi\n");
      assert.equal(done.stderr, "oops\n");
      assert.equal(done.exitCode, 0);
      assert.equal(new TextDecoder().decode(await done.read("/made")), "made\n");
      const failed = await image.run({ shell: "exit 3" });
      assert.equal(failed.exitCode, 3);
    } finally {
      await contree.close();
    }
  });
});
