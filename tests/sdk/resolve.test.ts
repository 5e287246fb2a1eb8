// The package resolves outside this repository, as its users get it: the runnable example of
// mod.ts's module doc, written to a temporary directory with its `@contree/sdk` imports pointing
// at this checkout by path, runs against the real local backend. Each runner checks its own
// runtime: Deno (the checkout linked from the consumer's deno.json, its npm imports resolved
// through the package's `imports` map from a loopback npm registry into an empty cache), Bun and
// Node (tsx).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { useBackend } from "./_setup.ts";

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

/**
 * A loopback npm registry serving the packages the SDK imports, packed from node_modules, so
 * that Deno fills an empty cache the way a JSR consumer's Deno does from the npm registry.
 */
async function npmRegistry(names: string[]): Promise<{ url: string; server: Server }> {
  const files = new Map<string, Uint8Array>();
  const packuments = new Map<string, unknown>();
  const server = createServer((request, response) => {
    const path = decodeURIComponent(request.url ?? "/").slice(1);
    const tarball = files.get(path);
    const packument = packuments.get(path);
    if (tarball) response.writeHead(200, { "content-type": "application/octet-stream" });
    else if (packument) response.writeHead(200, { "content-type": "application/json" });
    else response.writeHead(404);
    response.end(tarball ?? (packument ? JSON.stringify(packument) : undefined));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  for (const name of names) {
    const dir = join(ROOT, "node_modules", name);
    const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
    const tgz = await new Promise<Uint8Array>((resolve, reject) => {
      execFile(
        "tar",
        ["-czf", "-", "-C", dir, "--transform", "s,^\\.,package,", "."],
        { encoding: "buffer", maxBuffer: 64 << 20 },
        (error, stdout) => error ? reject(error) : resolve(new Uint8Array(stdout)),
      );
    });
    const file = `${name}/-/${name}-${manifest.version}.tgz`;
    files.set(file, tgz);
    packuments.set(name, {
      name,
      "dist-tags": { latest: manifest.version },
      versions: {
        [manifest.version]: {
          name,
          version: manifest.version,
          dependencies: manifest.dependencies ?? {},
          dist: {
            tarball: url + file,
            integrity: `sha512-${createHash("sha512").update(tgz).digest("base64")}`,
          },
        },
      },
    });
  }
  return { url, server };
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
