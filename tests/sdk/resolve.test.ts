// The package resolves outside this repository, as its users get it: the runnable example of
// mod.ts's module doc, written to a temporary directory with its `@contree/sdk` imports pointing
// at this checkout by path, runs against the real local backend. Each runner checks its own
// runtime: Deno (the checkout linked from the consumer's deno.json, its npm imports resolved
// through the package's `imports` map from a loopback npm registry into an empty cache), Bun and
// Node (tsx).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { useBackend } from "./_setup.ts";
import { npmRegistry } from "../_npm_registry.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

/** Runs a command; resolves with its stdout, rejects with its output when it fails. */
function run(command: string, args: string[], cwd: string, env: Record<string, string>) {
  return new Promise<string>((resolve, reject) => {
    execFile(command, args, { cwd, env, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The code of the first `@example` of mod.ts's module doc. */
async function moduleExample(): Promise<string> {
  const source = await readFile(join(ROOT, "mod.ts"), "utf8");
  const doc = source.slice(source.indexOf("/**"), source.indexOf("*/"));
  const code = doc.match(/@example[^\n]*\n \* ```ts\n([\s\S]*?) \* ```/);
  assert.ok(code, "mod.ts's module doc has a ts @example");
  return code[1].split("\n").map((line) => line.replace(/^ \* ?/, "")).join("\n");
}

describe(`the package imported by path from another directory (${runtime})`, () => {
  const t = useBackend();
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "contree-consumer-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("runs mod.ts's module example against the local backend", async () => {
    const example = (await moduleExample())
      .replaceAll('"@contree/sdk/local"', JSON.stringify(pathToFileURL(join(ROOT, "local/mod.ts"))))
      .replaceAll('"@contree/sdk"', JSON.stringify(pathToFileURL(join(ROOT, "mod.ts"))));
    assert.ok(!example.includes("@contree/sdk"), example);
    await writeFile(join(dir, "example.ts"), example);
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      HOME: dir,
      NO_COLOR: "1",
      CONTREE_URL: t.backend.url,
      CONTREE_TOKEN: t.backend.token,
    };
    let stdout: string;
    if (runtime === "deno") {
      // A consumer's deno.json that only links the checkout, and an empty cache: the npm imports
      // resolve through the package's own `imports` map, or not at all.
      const registry = await npmRegistry(["valibot", "pathe"]);
      try {
        await writeFile(join(dir, "deno.json"), JSON.stringify({ links: [ROOT] }));
        await writeFile(join(dir, ".npmrc"), `registry=${registry.url}\n`);
        env.DENO_DIR = join(dir, "deno-cache");
        env.NPM_CONFIG_REGISTRY = registry.url;
        stdout = await run("deno", ["run", "-A", "example.ts"], dir, env);
      } finally {
        registry.server.close();
      }
    } else if (runtime === "bun") {
      stdout = await run("bun", ["run", "example.ts"], dir, env);
    } else {
      // An ES module project, as Node wants for top-level await.
      await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module" }));
      stdout = await run(join(ROOT, "node_modules/.bin/tsx"), ["example.ts"], dir, env);
    }
    assert.equal(
      stdout,
      ["true built", "", "hi", "", 'stdout "hi\\n"', 'stderr "€\\n"', ""].join("\n"),
    );
  });

  it("ships a README with no links outside the package", async () => {
    const readme = await readFile(join(ROOT, "README.md"), "utf8");
    assert.doesNotMatch(readme, /\]\((?!https?:|#)[^)]*\.\.\//);
    assert.doesNotMatch(readme, /\.\.\/shared/);
  });
});
