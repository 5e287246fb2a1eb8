// `image.diff()` (SDK) and `contree diff` (CLI, Deno entry and binary) on images that differ in
// content only (same size and mtime), in mode only, in owner only (imported layers: the
// sandbox cannot chown), and in added/removed trees.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Contree, type ContreeImage } from "../../mod.ts";
import {
  buildImage,
  type Entry,
  type Registry,
  startRegistry,
  tarOf,
} from "../server/_registry.ts";
import { type CliFixture, jsonLines, startCli } from "./_cli.ts";

const MTIME = 1_700_000_000;

describe("image diff", () => {
  let registry: Registry;
  let t: CliFixture;
  let contree: Contree;
  let base: ContreeImage;

  const image = async (shell: string, from: ContreeImage = base) =>
    (await from.run({ shell, disposable: false })).resolve();

  before(async () => {
    registry = await startRegistry();
    t = await startCli(["--insecure-registry", registry.host]);
    contree = new Contree({ baseUrl: t.backend.url, token: t.backend.token });
    const busybox = await contree.images.use("busybox:latest");
    base = await image(
      `mkdir -p /d/tree/sub /d/old/deep && printf 'one\\ntwo\\nthree\\n' > /d/text && ` +
        `printf 'aaaa' > /d/same && head -c 4096 /dev/zero > /d/bin && echo x > /d/old/deep/f && ` +
        `touch -d @${MTIME} /d/same /d/text && chmod 644 /d/same`,
      busybox,
    );
  });
  after(async () => {
    await contree?.close();
    await t?.dispose();
    await registry?.stop();
  });

  it("finds a change of content that keeps size and mtime", async () => {
    const next = await image(`printf 'bbbb' > /d/same && touch -d @${MTIME} /d/same`);
    const before = (await base.ls("/d")).find((e) => e.name === "same")!;
    const afterEntry = (await next.ls("/d")).find((e) => e.name === "same")!;
    assert.equal(before.size, afterEntry.size);
    assert.equal(before.mtime, afterEntry.mtime);
    const entries = await base.diff(next, { path: "/d" });
    assert.deepEqual(entries.map((e) => [e.path, e.status, e.content]), [[
      "/d/same",
      "modified",
      true,
    ]]);
    assert.equal(entries[0].mode, undefined);
    assert.equal(entries[0].owner, undefined);
    // Same bytes and a new mtime: no change.
    const touched = await image(`touch -d @${MTIME + 60} /d/text`);
    assert.deepEqual(await base.diff(touched, { path: "/d" }), []);
    const cli = await t.run("binary", ["-f", "json", "diff", base.uuid!, next.uuid!, "/d"]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(jsonLines(cli.stdout).map((e) => [e.path, e.status, e.content]), [
      ["/d/same", "modified", true],
    ]);
  });

  it("reports a mode change alone", async () => {
    const next = await image("chmod 600 /d/same");
    const [entry, ...rest] = await base.diff(next);
    assert.deepEqual(rest, []);
    assert.equal(entry.path, "/d/same");
    assert.equal(entry.content, false);
    assert.deepEqual(entry.mode, { before: 0o644, after: 0o600 });
    const cli = await t.run("deno", ["diff", base.uuid!, next.uuid!]);
    assert.equal(cli.stdout, "M /d/same  (mode 0644 -> 0600)\n");
  });

  it("lists added and removed trees and prints unified diffs of text", async () => {
    const next = await image(
      "rm -rf /d/old && mkdir -p /d/new/a/b && echo hi > /d/new/a/b/c && printf 'one\\n2\\nthree\\n' > /d/text && head -c 4000 /dev/zero > /d/bin",
    );
    const entries = await base.diff(next, { path: "/d" });
    assert.deepEqual(entries.map((e) => `${e.status} ${e.path} ${e.type}`), [
      "modified /d/bin file",
      "added /d/new directory",
      "added /d/new/a directory",
      "added /d/new/a/b directory",
      "added /d/new/a/b/c file",
      "removed /d/old directory",
      "removed /d/old/deep directory",
      "removed /d/old/deep/f file",
      "modified /d/text file",
    ]);
    const cli = await t.run("binary", ["diff", base.uuid!, next.uuid!, "/d"]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^A \/d\/new\/a\/b\/c {2}\(file\)$/m);
    assert.match(cli.stdout, /^D \/d\/old\/ {2}\(directory\)$/m);
    assert.match(cli.stdout, /^Binary files differ \(4\.0 KiB -> 3\.9 KiB\)$/m);
    assert.match(
      cli.stdout,
      /^--- a\/d\/text\n\+\+\+ b\/d\/text\n@@ -1,3 \+1,3 @@\n one\n-two\n\+2\n three$/m,
    );
    const code = await t.run("binary", ["diff", "--exit-code", base.uuid!, next.uuid!, "/d/text"]);
    assert.equal(code.code, 1);
    const none = await t.run("deno", ["diff", "--exit-code", base.uuid!, base.uuid!]);
    assert.equal(none.code, 0);
    assert.equal(none.stdout, "");
  });

  it("reports an owner change alone (images imported from layers with other uids)", async () => {
    const layer = (uid: number): Entry[] => [
      { name: "o/", type: "dir", mode: 0o755, mtime: MTIME },
      { name: "o/f", content: "owned\n", mode: 0o644, uid, gid: uid, mtime: MTIME },
    ];
    for (const [tag, uid] of [["root", 0], ["user", 1000]] as const) {
      await registry.pushImage("diff/owner", tag, buildImage({ layers: [tarOf(layer(uid))] }));
    }
    const imported = await t.run("deno", [
      "-f",
      "json",
      "images",
      "import",
      `${registry.host}/diff/owner:{root,user}`,
    ]);
    assert.equal(imported.code, 0, imported.stderr);
    const rows = jsonLines(imported.stdout);
    assert.deepEqual(rows.map((r) => [r.tag, r.status]), [
      ["diff/owner:root", "SUCCESS"],
      ["diff/owner:user", "SUCCESS"],
    ]);
    const a = await contree.images.use("diff/owner:root");
    const b = await contree.images.use("diff/owner:user");
    const entries = await a.diff(b);
    assert.deepEqual(entries.map((e) => [e.path, e.content, e.mode, e.owner]), [[
      "/o/f",
      false,
      undefined,
      { before: { uid: 0, gid: 0 }, after: { uid: 1000, gid: 1000 } },
    ]]);
    const cli = await t.run("binary", ["diff", "tag:diff/owner:root", "diff/owner:user"]);
    assert.equal(cli.stdout, "M /o/f  (owner 0:0 -> 1000:1000)\n");
  });
});
