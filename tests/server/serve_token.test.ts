// `serve` takes its token from CONTREE_TOKEN or --token-file, so it never shows in `ps`;
// --token still works.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { type Backend, startBackend } from "./_backend.ts";
import { request } from "./_api.ts";

async function status(b: Backend, token: string): Promise<number> {
  const res = await request({ ...b, token }, "GET", "/v1/whoami");
  await res.body?.cancel();
  return res.status;
}

function commandLine(b: Backend): string {
  return readFileSync(`/proc/${b.pid}/cmdline`, "utf8").replaceAll("\0", " ");
}

describe("serve token", () => {
  const started: Backend[] = [];
  after(async () => {
    for (const b of started) await b.dispose();
  });

  for (const via of ["env", "file"] as const) {
    it(`reads the token from ${via === "env" ? "CONTREE_TOKEN" : "--token-file"}`, async () => {
      const b = await startBackend({ tokenVia: via });
      started.push(b);
      assert.equal(await status(b, b.token), 200);
      assert.equal(await status(b, `${b.token}x`), 401);
      assert.ok(!commandLine(b).includes(b.token), commandLine(b));
      assert.ok(!b.logs().includes(b.token), "the token is printed only when generated");
    });
  }

  it("still takes --token, which wins over CONTREE_TOKEN", async () => {
    const b = await startBackend({ args: ["--token", "from-the-command-line"] });
    started.push(b);
    assert.equal(await status(b, "from-the-command-line"), 200);
    assert.equal(await status(b, b.token), 401);
  });
});
