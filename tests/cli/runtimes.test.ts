// `contree` from the repository under Bun (`bun cli/main.ts`) and Node (`node --import tsx
// cli/main.ts`), against the real local backend: the same grammar, exit codes and transfers.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CliFixture, jsonLines, type Mode, startCli } from "./_cli.ts";

describe("contree under Bun and Node", () => {
  let t: CliFixture;
  before(async () => {
    t = await startCli();
  });
  after(async () => {
    await t?.dispose();
  });

  for (const mode of ["bun", "node"] as Mode[]) {
    it(`runs commands (${mode})`, async () => {
      const env = { CONTREE_SESSION: mode };
      const help = await t.run(mode, ["run", "--help"]);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /Usage: contree run/);
      assert.equal((await t.run(mode, ["images", "--nope"])).code, 2);
      const used = await t.run(mode, ["use", "tag:busybox:latest"], { env });
      assert.equal(used.stdout, `export CONTREE_SESSION=${mode}\n`);
      writeFileSync(join(t.scratch, `in-${mode}.txt`), `from ${mode}\n`);
      const ran = await t.run(
        mode,
        ["run", "--file", `in-${mode}.txt:/in.txt`, "--", "sh", "-c", "cat /in.txt; cat; exit 9"],
        { env, stdin: "stdin\n" },
      );
      assert.equal(ran.code, 9, ran.stderr);
      assert.equal(ran.stdout, `from ${mode}\nstdin\n`);
      const copied = await t.run(mode, ["cp", "/in.txt", `out-${mode}.txt`], { env });
      assert.equal(copied.code, 0, copied.stderr);
      assert.equal(readFileSync(join(t.scratch, `out-${mode}.txt`), "utf8"), `from ${mode}\n`);
      const listed = await t.run(mode, ["-f", "json", "ls", "/"], { env });
      assert.ok(jsonLines(listed.stdout).some((item) => item.path === "in.txt"));
    });
  }
});
