// The gateway app through app.request(): auth, validation, routing and the mapping of upstream
// failures, against small real upstreams on loopback (one that is down, one that hangs, one
// that fails). Nothing here needs the ConTree backend.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type AccessLogEntry,
  createGateway,
  type GatewayOptions,
  gatewayOptionsFromEnv,
} from "../../worker/mod.ts";

const RW = "gk_unit_rw_0123456789abcdef";
const RO = "gk_unit_ro_0123456789abcdef";
const TOKEN = "upstream-secret-token-42";
const UUID = "0b8e5f8e-2b7c-4f55-9d57-8d0c2a3a8b51";

/** An upstream that answers every request with `status` (or never, when `status` is 0). */
async function upstream(status: number): Promise<{ url: string; hits: string[]; server: Server }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    if (status === 0) return;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: `upstream says ${status} with ${TOKEN}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server };
}

function gateway(url: string, extra: Partial<GatewayOptions> = {}) {
  const log: AccessLogEntry[] = [];
  const app = createGateway({
    upstream: { url, token: TOKEN, timeout: 300 },
    keys: [{ key: RW, scope: "write" }, { key: RO, scope: "read" }],
    log: (entry) => log.push(entry),
    ...extra,
  });
  const call = (path: string, init: RequestInit & { key?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    const key = init.key === undefined ? RW : init.key;
    if (key !== null) headers.set("authorization", `Bearer ${key}`);
    return app.request(path, { ...init, headers });
  };
  return { app, call, log };
}

describe("gateway app", () => {
  let down: string;
  let failing: Awaited<ReturnType<typeof upstream>>;
  let hanging: Awaited<ReturnType<typeof upstream>>;
  let refusing: Awaited<ReturnType<typeof upstream>>;
  let missing: Awaited<ReturnType<typeof upstream>>;

  before(async () => {
    const probe = await upstream(200);
    down = probe.url;
    await new Promise((resolve) => probe.server.close(resolve));
    [failing, hanging, refusing, missing] = await Promise.all([
      upstream(500),
      upstream(0),
      upstream(401),
      upstream(404),
    ]);
  });
  after(async () => {
    for (const { server } of [failing, hanging, refusing, missing]) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("refuses bad options, naming the option", () => {
    assert.throws(
      () =>
        createGateway({
          upstream: { url: "ftp://x", token: "t" },
          keys: [{ key: RW, scope: "write" }],
        }),
      /upstream\.url/,
    );
    assert.throws(() => createGateway({ upstream: { url: down, token: "t" }, keys: [] }), /keys/);
    assert.throws(
      () =>
        createGateway({
          upstream: { url: down, token: "t" },
          keys: [{ key: "short", scope: "write" }],
        }),
      /keys\.0\.key/,
    );
  });

  it("reads its options from the bindings, once per bindings object, 503 when they are bad", async () => {
    let reads = 0;
    const app = createGateway((env) => {
      reads++;
      return gatewayOptionsFromEnv(env);
    });
    const env = { CONTREE_URL: missing.url, CONTREE_TOKEN: TOKEN, GATEWAY_KEYS: RW };
    const auth = { headers: { authorization: `Bearer ${RW}` } };
    const res = await app.request(`/images/${UUID}`, auth, env);
    assert.equal(res.status, 404);
    assert.equal((await res.json()).status, 404);
    assert.equal((await app.request("/healthz", {}, env)).status, 200);
    assert.equal(reads, 1);
    assert.equal((await app.request(`/images/${UUID}`, {}, env)).status, 401);
    const unset = { CONTREE_URL: missing.url, GATEWAY_KEYS: RW };
    const bad = await app.request(`/images/${UUID}`, auth, unset);
    assert.equal(bad.status, 503);
    const body = await bad.text();
    assert.match(body, /the gateway is misconfigured/);
    assert.ok(!body.includes(RW), "the problem does not echo a binding");
  });

  it("authenticates bearer keys and scopes", async () => {
    const { call } = gateway(down);
    const cases: [string | null, Record<string, string>, number][] = [
      [null, {}, 401],
      [null, { authorization: `Basic ${btoa("a:b")}` }, 401],
      [null, { authorization: "Bearer" }, 401],
      [null, { authorization: `Bearer ${RW} extra` }, 401],
      [`${RW}x`, {}, 401],
      [RW.slice(0, -1), {}, 401],
      [RW.toUpperCase(), {}, 401],
    ];
    for (const [key, headers, status] of cases) {
      const res = await call("/images", { key, headers });
      assert.equal(res.status, status, `${key} ${JSON.stringify(headers)}`);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer realm="contree-gateway"/);
    }
    const ro = await call(`/images/${UUID}/run`, {
      key: RO,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ shell: "true" }),
    });
    assert.equal(ro.status, 403);
    assert.equal((await ro.json()).detail, "this API key is read-only");
  });

  it("validates before calling upstream, naming the field", async () => {
    const { call } = gateway(failing.url);
    const before = failing.hits.length;
    const cases: [string, RequestInit, number, string][] = [
      ["/images?limit=5000", {}, 400, "query.limit"],
      ["/images?tagged=sure", {}, 400, "query.tagged"],
      [`/images/${UUID}/files/a/..%2F..%2Fb`, {}, 400, "path"],
      ["/images/Bad%20Ref", {}, 400, "param.ref"],
      [
        `/images/${UUID}/tag`,
        {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ tag: "x", extra: 1 }),
        },
        400,
        "body.extra",
      ],
      [`/images/${UUID}/run`, { method: "POST", body: "{}" }, 415, "header.content-type"],
    ];
    for (const [path, init, status, field] of cases) {
      const res = await call(path, init);
      assert.equal(res.status, status, path);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      const body = await res.json();
      assert.equal(body.field, field, path);
      assert.equal(body.status, status);
      assert.equal(typeof body.requestId, "string");
    }
    assert.equal(failing.hits.length, before, "upstream was called");
  });

  it("answers 405 with Allow for known paths and 404 for unknown ones", async () => {
    const { call } = gateway(down);
    const wrong = await call("/images", { method: "DELETE" });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get("allow"), "GET, HEAD");
    const tag = await call(`/images/${UUID}/tag`, { method: "POST" });
    assert.equal(tag.status, 405);
    assert.deepEqual(tag.headers.get("allow")?.split(", ").sort(), ["DELETE", "PUT"]);
    const nothing = await call("/nothing");
    assert.equal(nothing.status, 404);
    assert.equal((await nothing.json()).title, "Not Found");
  });

  it("maps upstream failures: down 502, 5xx 502, hang 504, auth 502, 404 404", async () => {
    const cases: [string, number][] = [
      [down, 502],
      [failing.url, 502],
      [hanging.url, 504],
      [refusing.url, 502],
      [missing.url, 404],
    ];
    for (const [url, status] of cases) {
      const { call, log } = gateway(url);
      const res = await call(`/images/${UUID}`);
      assert.equal(res.status, status, url);
      const text = await res.text();
      assert.ok(!text.includes(TOKEN), "the upstream token leaked");
      assert.ok(!text.includes("upstream says"), "the upstream message leaked");
      assert.ok(!/\bat \S+:\d+/.test(text), "a stack trace leaked");
      const line = JSON.stringify(log);
      assert.ok(!line.includes(TOKEN), "the upstream token was logged");
      if (status >= 500) assert.match(log[0].error ?? "", /^Problem: \w+Error$/);
    }
  });

  it("logs one line per request with the request id", async () => {
    const { call, log } = gateway(down);
    const res = await call("/healthz", { key: null, headers: { "x-request-id": "abc-123" } });
    assert.equal(res.headers.get("x-request-id"), "abc-123");
    await res.text();
    const bad = await call("/healthz", { key: null, headers: { "x-request-id": "bad id\u00e9" } });
    await bad.text();
    assert.match(bad.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(log.length, 2);
    assert.deepEqual(
      { ...log[0], ts: "", durationMs: 0 },
      {
        ts: "",
        requestId: "abc-123",
        method: "GET",
        route: "/healthz",
        status: 200,
        bytes: 15,
        durationMs: 0,
      },
    );
  });

  it("answers CORS preflights only for configured origins", async () => {
    const { call } = gateway(down, { cors: { origins: ["https://ok.example"] } });
    const ok = await call("/images", {
      key: null,
      method: "OPTIONS",
      headers: { origin: "https://ok.example", "access-control-request-method": "GET" },
    });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get("access-control-allow-origin"), "https://ok.example");
    const other = await call("/images", {
      key: null,
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
    });
    assert.equal(other.headers.get("access-control-allow-origin"), null);
  });
});
