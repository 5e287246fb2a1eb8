// A smoke subset of the high-level SDK (`Contree`) bundled with esbuild into a Worker and run in
// workerd (Miniflare) against the real local backend on loopback: images, runs, files, a
// session with rollback, and aborting a run mid-way.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { type Backend, startBackend } from "../server/_backend.ts";

/** What `_sdk_worker.ts` answers. */
interface Results {
  busybox: { uuid: string };
  run: { exitCode: number; stdout: string; stderr: string };
  written: { uuid: string; changed: boolean; note: string };
  root: string[];
  open: { firstLine: string; chunks: number };
  session: { step: number; beforeRollback: string; afterRollback: string };
  abort: { uuid: string; before: string; rejection: string | null; state: string; status: string };
}

describe("SDK in workerd against the local backend", { timeout: 300_000 }, () => {
  let backend: Backend;
  let mf: Miniflare;

  before(async () => {
    backend = await startBackend();
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL("./_sdk_worker.ts", import.meta.url))],
      bundle: true,
      format: "esm",
      platform: "neutral",
      mainFields: ["module", "main"],
      write: false,
      logLevel: "silent",
    });
    mf = new Miniflare({
      modules: true,
      script: bundle.outputFiles[0].text,
      compatibilityDate: "2024-09-23",
      cf: false,
      bindings: { BASE_URL: backend.url, TOKEN: backend.token },
    });
  });

  after(async () => {
    await mf?.dispose();
    await backend?.dispose();
  });

  it("uses an image, runs, reads files, rolls a session back and aborts a run", async () => {
    const res = await mf.dispatchFetch("http://worker/");
    const body = await res.text();
    assert.equal(res.status, 200, `${body}\n--- backend logs ---\n${backend.logs()}`);
    const results: Results = JSON.parse(body);

    assert.match(results.busybox.uuid, /^[0-9a-f-]{36}$/);
    assert.deepEqual(results.run, { exitCode: 3, stdout: "hi\n", stderr: "err\n" });
    assert.equal(results.written.changed, true);
    assert.equal(results.written.note, "from workerd\n");
    assert.ok(results.root.includes("bin"), JSON.stringify(results.root));
    assert.match(results.open.firstLine, /^root:/);
    assert.ok(results.open.chunks >= 1);
    assert.deepEqual(results.session, {
      step: 1,
      beforeRollback: "1\n2\n",
      afterRollback: "1\n",
    });

    assert.equal(results.abort.before, "EXECUTING");
    assert.equal(results.abort.rejection, "AbortError");
    assert.equal(results.abort.state, "FAILED");
    assert.equal(results.abort.status, "CANCELLED");
    // The backend agrees, asked from outside workerd.
    const op = await fetch(`${backend.url}/v1/operations/${results.abort.uuid}`, {
      headers: { authorization: `Bearer ${backend.token}` },
    });
    assert.equal(op.status, 200);
    assert.equal((await op.json()).status, "CANCELLED");
    // And the written image is a real one on the backend.
    const image = await fetch(
      `${backend.url}/v1/inspect/${results.written.uuid}/download?path=/note.txt`,
      { headers: { authorization: `Bearer ${backend.token}` } },
    );
    assert.equal(image.status, 200);
    assert.equal(await image.text(), "from workerd\n");
  });
});
