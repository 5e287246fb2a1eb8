// `@contree/sdk/gateway` as a Workers project outside this repository uses it: a project in a
// temporary directory, with the package in its node_modules as deno.json publishes it (its
// "exports" and "publish.include", linked to this checkout), written two ways (the three-line
// entry, and the gateway mounted in the project's own Hono app), bundled by wrangler's bundler
// (`wrangler deploy --dry-run --outdir`), and the bundle run in workerd (Miniflare) against the
// real local backend; and a Deno project that links this checkout and gets the npm imports
// through deno.json's pins (from a loopback npm registry).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { npmRegistry } from "../_npm_registry.ts";
import { type Backend, startBackend } from "../server/_backend.ts";
import { root, wranglerCompat } from "./_gateway.ts";

const KEY = "gk_package_0123456789abcdefghij";
const run = promisify(execFile);

const ENTRIES: Record<string, string> = {
  // What the README shows: the whole Worker.
  "three-line.ts": `import { createGateway, gatewayOptionsFromEnv } from "@contree/sdk/gateway";

export default createGateway(gatewayOptionsFromEnv);
`,
  // The gateway under /contree of the project's own app.
  "mounted.ts": `import { Hono } from "hono";
import { createGateway, gatewayOptionsFromEnv } from "@contree/sdk/gateway";

const app = new Hono();
app.get("/", (c) => c.text("my app"));
app.route("/contree", createGateway(gatewayOptionsFromEnv));
export default app;
`,
};

/** The package as deno.json publishes it, in `project`'s node_modules, with its npm imports. */
function installPackage(project: string): void {
  const config = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
  const pkg = join(project, "node_modules/@contree/sdk");
  mkdirSync(pkg, { recursive: true });
  for (const entry of config.publish.include as string[]) {
    const target = join(pkg, entry.replace(/\/$/, ""));
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(join(root, entry), target);
  }
  writeFileSync(
    join(pkg, "package.json"),
    JSON.stringify({
      name: config.name,
      version: config.version,
      type: "module",
      exports: config.exports,
    }),
  );
  // The package's bare imports, as npm would install them beside it.
  for (const name of Object.keys(config.imports).filter((name) => !name.endsWith("/"))) {
    const target = join(project, "node_modules", name);
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(join(root, "node_modules", name), target);
  }
}

/** Bundles `entry` with `wrangler deploy --dry-run --outdir`; returns the bundled module. */
async function bundle(project: string, entry: string): Promise<string> {
  const { compatibilityDate, compatibilityFlags } = wranglerCompat();
  const name = entry.replace(/\.ts$/, "");
  const config = join(project, `${name}.toml`);
  writeFileSync(
    config,
    [
      `name = "contree-${name}"`,
      `main = "src/${entry}"`,
      `compatibility_date = "${compatibilityDate}"`,
      `compatibility_flags = ${JSON.stringify(compatibilityFlags)}`,
      "",
    ].join("\n"),
  );
  const outdir = join(project, "dist", name);
  await run(
    join(root, "node_modules/.bin/wrangler"),
    ["deploy", "--dry-run", "--outdir", outdir, "-c", config],
    {
      cwd: project,
      timeout: 120_000,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: project,
        NO_COLOR: "1",
        CI: "1",
        WRANGLER_SEND_METRICS: "false",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        WRANGLER_HIDE_BANNER: "true",
      },
    },
  );
  return readFileSync(join(outdir, `${name}.js`), "utf8");
}

describe("@contree/sdk/gateway in a Workers project", { timeout: 600_000 }, () => {
  let backend: Backend;
  let project: string;
  before(async () => {
    backend = await startBackend();
    project = mkdtempSync(join(tmpdir(), "contree-workers-project-"));
    mkdirSync(join(project, "src"));
    for (const [file, code] of Object.entries(ENTRIES)) {
      writeFileSync(join(project, "src", file), code);
    }
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "my-worker", private: true, type: "module" }),
    );
    installPackage(project);
  });
  after(async () => {
    rmSync(project, { recursive: true, force: true });
    await backend?.dispose();
  });

  for (const [entry, prefix] of [["three-line.ts", ""], ["mounted.ts", "/contree"]] as const) {
    it(`${entry}: bundles with wrangler and serves the gateway${prefix && ` under ${prefix}`}`, async () => {
      const script = await bundle(project, entry);
      assert.ok(!script.includes("Deno."), "the bundle holds no Deno-only code");
      const { Miniflare } = await import("miniflare");
      const mf = new Miniflare({
        modules: true,
        script,
        ...wranglerCompat(),
        cf: false,
        bindings: { CONTREE_URL: backend.url, CONTREE_TOKEN: backend.token, GATEWAY_KEYS: KEY },
      });
      try {
        const url = (await mf.ready).href.replace(/\/$/, "") + prefix;
        const auth = { authorization: `Bearer ${KEY}` };
        const health = await fetch(`${url}/healthz`);
        assert.deepEqual(await health.json(), { status: "ok" });
        const image = await (await fetch(`${url}/images/busybox:latest`, { headers: auth })).json();
        assert.match(image.uuid, /^[0-9a-f-]{36}$/);
        const ran = await fetch(`${url}/images/busybox:latest/run`, {
          method: "POST",
          headers: { ...auth, "content-type": "application/json" },
          body: JSON.stringify({ shell: "echo hello from $0" }),
        });
        const result = await ran.json();
        assert.equal(result.stdout, "hello from /bin/sh\n");
        assert.equal(result.image, null, "runs are disposable by default");
        const file = await fetch(`${url}/images/${image.uuid}/files/bin/busybox`, {
          headers: auth,
        });
        assert.equal(file.status, 200);
        const length = Number(file.headers.get("content-length"));
        assert.ok(length > 0);
        assert.equal((await file.arrayBuffer()).byteLength, length);
        const denied = await fetch(`${url}/images`);
        assert.equal(denied.status, 401);
        await denied.body?.cancel();
        if (prefix) {
          assert.equal(await (await fetch((await mf.ready).href)).text(), "my app");
        }
      } finally {
        await mf.dispose();
      }
    });
  }

  it("serves from Deno with the npm imports resolved through the package's imports map", async () => {
    // A Deno project that only links this checkout, with an empty cache and a loopback npm
    // registry: `hono`, its subpaths and the schema converter come through deno.json's pins.
    const dir = join(project, "deno-consumer");
    mkdirSync(dir);
    writeFileSync(join(dir, "deno.json"), JSON.stringify({ links: [root] }));
    writeFileSync(
      join(dir, "main.ts"),
      `import { createGateway } from "@contree/sdk/gateway";
const app = createGateway({
  upstream: { url: Deno.env.get("CONTREE_URL")!, token: Deno.env.get("CONTREE_TOKEN")! },
  keys: [{ key: "${KEY}", scope: "write" }],
  log: () => {},
});
const auth = { headers: { authorization: "Bearer ${KEY}" } };
const image = await (await app.request("/images/busybox:latest", auth)).json();
const doc = await (await app.request("/openapi.json")).json();
console.log(image.tag, doc.openapi);
`,
    );
    const registry = await npmRegistry(["hono", "valibot", "pathe", "@valibot/to-json-schema"]);
    try {
      const { stdout } = await run(join(root, "node_modules/.bin/deno"), ["run", "-A", "main.ts"], {
        cwd: dir,
        timeout: 120_000,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: dir,
          NO_COLOR: "1",
          DENO_DIR: join(dir, "deno-cache"),
          NPM_CONFIG_REGISTRY: registry.url,
          CONTREE_URL: backend.url,
          CONTREE_TOKEN: backend.token,
        },
      });
      assert.equal(stdout, "busybox:latest 3.1.0\n");
      // Deno's npm cache is kept per registry (its port names it here): this one was used.
      const fetched = readdirSync(join(dir, "deno-cache", "npm"));
      const port = new URL(registry.url).port;
      assert.ok(fetched.some((name) => name.endsWith(port)), `npm cache: ${fetched}`);
    } finally {
      registry.server.close();
    }
  });

  it("answers 503 (and logs why) when the bindings are incomplete", async () => {
    const script = await bundle(project, "three-line.ts");
    const { Miniflare } = await import("miniflare");
    const mf = new Miniflare({
      modules: true,
      script,
      ...wranglerCompat(),
      cf: false,
      bindings: { CONTREE_URL: backend.url, GATEWAY_KEYS: KEY },
    });
    try {
      const res = await fetch(`${(await mf.ready).href}images`, {
        headers: { authorization: `Bearer ${KEY}` },
      });
      assert.equal(res.status, 503);
      assert.equal((await res.json()).detail, "the gateway is misconfigured");
    } finally {
      await mf.dispose();
    }
  });
});
