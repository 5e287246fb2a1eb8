// The core client bundled with esbuild into a Worker and run in workerd (Miniflare), talking
// to the wire double on loopback: gzip negotiation, downloads, archives and event streams.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { frame, LOG, replay, streamed, WireDouble } from "../core/_wire_double.ts";

describe("wire client in workerd", () => {
  const double = new WireDouble();
  let mf: Miniflare;

  before(async () => {
    await double.start();
    double.addOp("op-ok", { statuses: ["SUCCESS"] });
    double.addOp("op-dies", {
      statuses: ["EXECUTING"],
      events: [
        () =>
          streamed([
            frame(LOG[0]),
            frame(LOG[1]),
            frame(LOG[2]).slice(0, 25),
            new Promise((resolve) => setTimeout(resolve, 50)),
            { die: true },
          ]),
        replay,
      ],
    });
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL("./_worker.ts", import.meta.url))],
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
      bindings: { BASE_URL: double.url },
    });
  });

  after(async () => {
    await mf?.dispose();
    await double.close();
  });

  it("runs whoami, a download, an archive and event streams", async () => {
    const res = await mf.dispatchFetch("http://worker/");
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.deepEqual(JSON.parse(text), {
      token: "tok-1",
      hosts: "127.0.0.1 localhost\n",
      gzipMagic: [0x1f, 0x8b],
      replay: [0, 1, 2, 3, 4],
      followed: [0, 1, 2, 3, 4],
      types: ["init", "spawn", "stdout", "exit", "completion"],
    });
    // workerd asked for gzip (the client sets it explicitly) and decoded the answers.
    for (const request of double.requests.filter((r) => r.url.pathname.startsWith("/v1/"))) {
      assert.match(request.headers.get("accept-encoding") ?? "", /gzip/, request.url.pathname);
    }
    const followed = double.seen("GET", "/operations/op-dies/events");
    assert.equal(followed[1].headers.get("last-event-id"), "1");
  });
});
