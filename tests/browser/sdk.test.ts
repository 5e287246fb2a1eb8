// A smoke subset of the high-level SDK (`Contree`) bundled with esbuild for the browser and run
// in a real headless Chromium (Debian's, driven by playwright-core) against the real local
// backend on loopback: images, runs, files, aborting a run mid-way, and what the browser does
// with the request headers a page may not set and with `redirect: "manual"`.
//
// The page is served from its own loopback port and the backend sends no CORS headers, so this
// harness (and only it) starts Chromium with --disable-web-security and a fresh profile.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { type BrowserContext, chromium } from "playwright-core";
import { type Backend, startBackend } from "../server/_backend.ts";
import type { SmokeArgs } from "./_page.ts";

const CHROMIUM = "/usr/bin/chromium";

/** What `contreeSmoke` in `_page.ts` answers. */
interface Results {
  headers: {
    requestKeepsAcceptEncoding: boolean;
    requestKeepsUserAgent: boolean;
    fetchError: string | null;
    status: number;
  };
  redirect: { type: string; status: number; location: string | null };
  strict: { uuid?: string; error: string | null };
  run: { exitCode: number; stdout: string; stderr: string };
  written: { uuid: string; changed: boolean; note: string };
  root: string[];
  abort: { uuid: string; before: string; rejection: string | null; state: string };
}

const HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>contree smoke</title></head>
<body><script type="module" src="/page.js"></script></body></html>
`;

/** Serves the page and its bundle on 127.0.0.1 (an ephemeral port). */
async function servePage(bundle: string): Promise<[Server, string]> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://page").pathname;
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(HTML);
    } else if (path === "/page.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(bundle);
    } else if (path === "/favicon.ico") {
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return [server, `http://127.0.0.1:${port}`];
}

/** Polls the backend (from Node, plain fetch) until the operation is terminal. */
async function terminalStatus(backend: Backend, uuid: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${backend.url}/v1/operations/${uuid}`, {
      headers: { authorization: `Bearer ${backend.token}` },
    });
    assert.equal(res.status, 200);
    const { status } = await res.json() as { status: string };
    if (status === "SUCCESS" || status === "FAILED" || status === "CANCELLED") return status;
    if (Date.now() > deadline) return `still ${status} after ${timeoutMs} ms`;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("SDK in headless Chromium against the local backend", { timeout: 300_000 }, () => {
  let backend: Backend;
  let server: Server | undefined;
  let pageUrl: string;
  let browser: BrowserContext | undefined;
  let profile: string | undefined;
  const pageLog: string[] = [];
  let results: Results;

  before(async () => {
    backend = await startBackend();
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL("./_page.ts", import.meta.url))],
      bundle: true,
      format: "esm",
      platform: "browser",
      write: false,
      logLevel: "silent",
    });
    [server, pageUrl] = await servePage(bundle.outputFiles[0].text);
    profile = mkdtempSync(join(tmpdir(), "contree-chromium-"));
    // A fresh, empty profile: Playwright passes it as --user-data-dir.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-web-security",
      ],
    });
  });

  after(async () => {
    await browser?.close();
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server!.close(resolve));
    }
    await backend?.dispose();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("runs the smoke in the page", async () => {
    const page = await browser!.newPage();
    page.on("console", (message) => pageLog.push(`console.${message.type()}: ${message.text()}`));
    page.on("pageerror", (error) => pageLog.push(`pageerror: ${error.message}`));
    await page.goto(`${pageUrl}/`);
    await page.waitForFunction(() => "contreeSmoke" in globalThis);

    const args: SmokeArgs = { baseUrl: backend.url, token: backend.token };
    let body: string;
    try {
      body = await page.evaluate(
        (args) =>
          (globalThis as unknown as { contreeSmoke(args: SmokeArgs): Promise<string> })
            .contreeSmoke(args),
        args,
      );
    } catch (error) {
      const logs = `--- page ---\n${pageLog.join("\n")}\n--- backend ---\n${backend.logs()}`;
      throw new Error(`${(error as Error).message}\n${logs}`, { cause: error });
    }
    await page.close();
    results = JSON.parse(body);
  });

  it("sends requests despite the headers a page may not set", (t) => {
    assert.ok(results, "the smoke did not run");
    t.diagnostic(`forbidden headers: ${JSON.stringify(results.headers)}`);
    // The browser drops (does not throw on) the headers the wire client sets and a page may
    // not set; the SDK works all the same.
    assert.deepEqual(results.headers, {
      requestKeepsAcceptEncoding: false,
      requestKeepsUserAgent: false,
      fetchError: null,
      status: 200,
    });
  });

  // Fails in browsers today: `findImageByTag` asks for `redirect: "manual"` to read the 302's
  // Location, and a browser answers that with an opaque redirect (status 0, no headers).
  it("looks an image up by tag (images.use strict)", () => {
    assert.ok(results, "the smoke did not run");
    assert.equal(results.strict.error, null, JSON.stringify(results.redirect));
    assert.match(results.strict.uuid ?? "", /^[0-9a-f-]{36}$/);
  });

  it("runs, reads files, lists a directory and aborts a run", async () => {
    assert.ok(results, "the smoke did not run");
    assert.deepEqual(results.run, { exitCode: 3, stdout: "hi\n", stderr: "err\n" });
    assert.equal(results.written.changed, true);
    assert.equal(results.written.note, "from the browser\n");
    assert.ok(results.root.includes("bin"), JSON.stringify(results.root));

    assert.equal(results.abort.before, "EXECUTING");
    assert.equal(results.abort.rejection, "AbortError");
    assert.equal(results.abort.state, "FAILED");
    // The backend agrees, asked from Node with plain fetch.
    assert.equal(await terminalStatus(backend, results.abort.uuid), "CANCELLED");
  });
});
