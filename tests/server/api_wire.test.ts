// Wire shapes of the local backend: auth, compression, status codes, listings, files.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { type Backend, startBackend } from "./_backend.ts";
import { call, request, run, spawn, waitOp } from "./_api.ts";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("server wire protocol", () => {
  let b: Backend;
  let base: string;

  before(async () => {
    b = await startBackend({ args: ["--max-body", String(1024 * 1024)] });
    const { body } = await call(b, "GET", "/v1/images?tag=busybox:latest");
    base = body.images[0].uuid;
  });
  after(async () => {
    await b?.dispose();
  });

  it("answers 401 with an error body without a valid bearer token", async () => {
    const variants: Record<string, string>[] = [
      {},
      { Authorization: "Bearer wrong" },
      { Authorization: "Basic x" },
    ];
    for (const headers of variants) {
      const res = await request(b, "GET", "/v1/whoami", { auth: false, headers });
      assert.equal(res.status, 401);
      const body = await res.json();
      assert.equal(typeof body.error, "string");
      assert.equal(body.status, 401);
    }
  });

  it("accepts a Project header and reports whoami", async () => {
    const { status, body } = await call(b, "GET", "/v1/whoami", { headers: { Project: "p-1" } });
    assert.equal(status, 200);
    assert.match(body.token_uuid, UUID_RE);
    assert.equal(body.token_expiration, null);
    assert.deepEqual(body.permissions, {
      spawn: true,
      spawn_disposable: true,
      list: true,
      import: true,
      cancel: true,
      set_image_tag: true,
    });
    assert.deepEqual(body.limits, { instance_max_timeout: 3600 });
    assert.deepEqual(body.operations_stat, {});
  });

  it("gzips only when Accept-Encoding asks for it", async () => {
    const plain = await request(b, "GET", "/v1/whoami", {
      headers: { "Accept-Encoding": "identity" },
    });
    assert.equal(plain.headers.get("content-encoding"), null);
    const plainBytes = new Uint8Array(await plain.arrayBuffer());
    assert.equal(plainBytes[0], "{".charCodeAt(0));

    // fetch decodes gzip itself, so read the raw bytes through node:http instead.
    const raw = await rawGet(b, "/v1/whoami", "gzip");
    assert.equal(raw.headers["content-encoding"], "gzip");
    assert.equal(Number(raw.headers["content-length"]), raw.body.byteLength);
    const decoded = JSON.parse(new TextDecoder().decode(gunzipSync(raw.body)));
    assert.match(decoded.token_uuid, UUID_RE);

    const error = await rawGet(b, "/v1/operations/00000000-0000-0000-0000-000000000000", "gzip");
    assert.equal(error.status, 404);
    assert.equal(error.headers["content-encoding"], "gzip");
    assert.equal(JSON.parse(new TextDecoder().decode(gunzipSync(error.body))).status, 404);
  });

  it("lists images as a wrapped object with the base image", async () => {
    const { status, body } = await call(b, "GET", "/v1/images?tagged=1");
    assert.equal(status, 200);
    const image = body.images.find((i: { tag: string }) => i.tag === "busybox:latest");
    assert.ok(image);
    assert.match(image.uuid, UUID_RE);
    assert.equal(typeof image.created_at, "string");
    assert.ok("operation_uuid" in image);
  });

  it("rejects limit outside 1..1000 with the exact message", async () => {
    for (const path of ["/v1/images", "/v1/operations", "/v1/files"]) {
      for (const limit of ["0", "1001", "x"]) {
        const { status, body } = await call(b, "GET", `${path}?limit=${limit}`);
        assert.equal(status, 400, `${path} limit=${limit}`);
        assert.deepEqual(body, { error: "limit must be between 1 and 1000", status: 400 });
      }
      assert.equal((await call(b, "GET", `${path}?limit=1000`)).status, 200);
    }
  });

  it("tags images: moves tags, filters by prefix with the exact match first, untags", async () => {
    const a = await run(b, { command: "touch", args: ["/a"] });
    const c = await run(b, { command: "touch", args: ["/c"] });
    const imageA = a.result_image_uuid;
    const imageC = c.result_image_uuid;
    assert.notEqual(imageC, base);

    const bad = await call(b, "PATCH", `/v1/images/${imageC}/tag`, { json: { tag: "Bad Tag" } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /^tag: /);
    const long = await call(b, "PATCH", `/v1/images/${imageC}/tag`, {
      json: { tag: "a".repeat(257) },
    });
    assert.equal(long.status, 400);
    assert.equal(
      (await call(b, "PATCH", `/v1/images/${imageC}/tag`, { json: {} })).status,
      400,
    );
    const missing = await call(b, "PATCH", "/v1/images/00000000-0000-0000-0000-000000000000/tag", {
      json: { tag: "x" },
    });
    assert.equal(missing.status, 404);

    const tagged = await call(b, "PATCH", `/v1/images/${imageC}/tag`, {
      json: { tag: "wire/app:v1.2" },
    });
    assert.equal(tagged.status, 200);
    assert.equal(tagged.body.tag, "wire/app:v1.2");
    assert.equal(tagged.body.uuid, imageC);
    await call(b, "PATCH", `/v1/images/${imageA}/tag`, { json: { tag: "wire/app:v1.2-extra" } });

    const listed = await call(b, "GET", "/v1/images?tag=wire/app:v1.2");
    assert.deepEqual(listed.body.images.map((i: { tag: string }) => i.tag), [
      "wire/app:v1.2",
      "wire/app:v1.2-extra",
    ]);

    // Moving a tag re-points it.
    await call(b, "PATCH", `/v1/images/${imageA}/tag`, { json: { tag: "wire/app:v1.2" } });
    const moved = await call(b, "GET", "/v1/images?tag=wire/app:v1.2");
    assert.equal(moved.body.images[0].uuid, imageA);
    assert.equal(moved.body.images.length, 1);
    assert.equal((await call(b, "GET", `/v1/inspect/${imageC}/`)).body.tag, null);

    // Unescaped tag in the query, as the CLI sends it.
    const untag = await request(b, "DELETE", `/v1/images/${imageA}/tag?tag=wire/app:v1.2`);
    assert.equal(untag.status, 204);
    assert.equal(await untag.text(), "");
    assert.equal((await call(b, "GET", `/v1/inspect/${imageA}/`)).body.tag, null);
  });

  it("redirects GET /v1/inspect/?tag= with 302 and a relative Location", async () => {
    const res = await request(b, "GET", "/v1/inspect/?tag=busybox:latest");
    assert.equal(res.status, 302);
    assert.equal(res.headers.get("location"), `${base}/`);
    const target = await call(b, "GET", `/v1/inspect/${base}/`);
    assert.equal(target.status, 200);
    assert.equal(target.body.uuid, base);
    assert.equal(target.body.tag, "busybox:latest");
    const slashless = await call(b, "GET", `/v1/inspect/${base}`);
    assert.equal(slashless.body.uuid, base);
    const followed = await fetch(`${b.url}/v1/inspect/?tag=busybox:latest`, {
      headers: { Authorization: `Bearer ${b.token}` },
    });
    assert.equal((await followed.json()).uuid, base);
    const noSlash = await request(b, "GET", "/v1/inspect?tag=busybox:latest");
    assert.equal(noSlash.status, 302);
    assert.equal(
      new URL(noSlash.headers.get("location")!, `${b.url}/v1/inspect`).pathname,
      `/v1/inspect/${base}/`,
    );
    assert.deepEqual((await call(b, "GET", "/v1/inspect/")).body, {
      error: "tag is required",
      status: 400,
    });
    assert.equal((await call(b, "GET", "/v1/inspect/?tag=nope:none")).status, 404);
  });

  it("answers HEAD without a body", async () => {
    const blob = new TextEncoder().encode("head check");
    const up = await call(b, "POST", "/v1/files", { body: blob });
    for (
      const [path, status] of [
        [`/v1/files/${up.body.sha256}`, 200],
        [`/v1/files/${"0".repeat(64)}`, 404],
        [`/v1/files?sha256=${up.body.sha256}`, 200],
        [`/v1/files?uuid=${up.body.uuid}`, 200],
        [`/v1/files?uuid=00000000-0000-0000-0000-000000000000`, 404],
        [`/v1/inspect/${base}/download?path=/bin/busybox`, 200],
        [`/v1/inspect/${base}/download?path=/nope`, 404],
        [`/v1/inspect/${base}/archive?path=/etc`, 200],
        [`/v1/inspect/${base}/archive?path=/nope`, 404],
      ] as const
    ) {
      const res = await request(b, "HEAD", path, { headers: { "Accept-Encoding": "gzip" } });
      assert.equal(res.status, status, path);
      assert.equal((await res.arrayBuffer()).byteLength, 0, path);
    }
  });

  it("stores files by content: fixed-length and chunked uploads, dedup, listing", async () => {
    const bytes = new Uint8Array(300_000);
    for (let i = 0; i < bytes.byteLength; i += 65536) {
      crypto.getRandomValues(bytes.subarray(i, i + 65536));
    }
    const fixed = await call(b, "POST", "/v1/files", {
      body: bytes,
      headers: { "Content-Type": "application/octet-stream" },
    });
    assert.equal(fixed.status, 201);
    assert.equal(fixed.body.size, bytes.byteLength);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const hex = [...digest].map((x) => x.toString(16).padStart(2, "0")).join("");
    assert.equal(fixed.body.sha256, hex);
    assert.match(fixed.body.uuid, UUID_RE);

    const chunked = await fetch(`${b.url}/v1/files`, {
      method: "POST",
      headers: { Authorization: `Bearer ${b.token}` },
      body: new ReadableStream({
        start(ctl) {
          for (let i = 0; i < bytes.byteLength; i += 65536) ctl.enqueue(bytes.slice(i, i + 65536));
          ctl.close();
        },
      }),
      // @ts-ignore: duplex is required for streamed request bodies in Node's fetch.
      duplex: "half",
    });
    assert.equal(chunked.status, 201);
    assert.deepEqual(await chunked.json(), fixed.body);

    const info = await call(b, "GET", `/v1/files/${hex}`);
    assert.equal(info.status, 200);
    assert.deepEqual(Object.keys(info.body).sort(), [
      "created_at",
      "sha256",
      "size",
      "updated_at",
      "uuid",
    ]);
    assert.equal(info.body.uuid, fixed.body.uuid);
    const legacy = await call(b, "GET", `/v1/files?sha256=${hex}`);
    assert.equal(legacy.body.uuid, fixed.body.uuid);
    assert.equal((await call(b, "GET", `/v1/files?sha256=${"f".repeat(64)}`)).status, 404);
    const list = await call(b, "GET", "/v1/files?limit=1000&since=1h");
    assert.ok(list.body.files.some((f: { uuid: string }) => f.uuid === fixed.body.uuid));
    const future = await call(b, "GET", "/v1/files?since=2999-01-01T00:00:00Z");
    assert.deepEqual(future.body, { files: [] });
    const bad = await call(b, "GET", "/v1/files?since=yesterday");
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /^since /);
  });

  it("refuses bodies over the cap with 413, declared or chunked", async () => {
    const big = new Uint8Array(1024 * 1024 + 1);
    const declared = await call(b, "POST", "/v1/files", { body: big });
    assert.equal(declared.status, 413);
    const chunked = await fetch(`${b.url}/v1/files`, {
      method: "POST",
      headers: { Authorization: `Bearer ${b.token}` },
      body: new ReadableStream({
        start(ctl) {
          ctl.enqueue(big.subarray(0, 600_000));
          ctl.enqueue(big.subarray(600_000));
          ctl.close();
        },
      }),
      // @ts-ignore: duplex is required for streamed request bodies in Node's fetch.
      duplex: "half",
    });
    assert.equal(chunked.status, 413);
    assert.equal((await chunked.json()).status, 413);
  });

  it("validates spawn bodies: 400 naming the field, unknown fields ignored", async () => {
    const bad = await request(b, "POST", "/v1/instances", {
      body: "{not json",
      headers: { "Content-Type": "application/json" },
    });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /^body: invalid JSON/);
    for (
      const [body, field] of [
        [{ image: "tag:busybox:latest" }, "command"],
        [{ command: "true" }, "image"],
        [{ command: "true", image: "tag:busybox:latest", uid: -1 }, "uid"],
        [{ command: "true", image: "tag:busybox:latest", timeout: "x" }, "timeout"],
        [{ command: "true", image: "tag:busybox:latest", env: { A: 1 } }, "env.A"],
        [{ command: "true", image: "tag:busybox:latest", cwd: "rel" }, "cwd"],
        [
          { command: "true", image: "tag:busybox:latest", stdin: { encoding: "ascii" } },
          "stdin.value",
        ],
        [
          {
            command: "true",
            image: "tag:busybox:latest",
            files: { "/a": { uuid: "u", mode: "9" } },
          },
          'files["/a"].mode',
        ],
        [
          { command: "true", image: "tag:busybox:latest", networking: { enabled: "yes" } },
          "networking.enabled",
        ],
        [{ command: "true", image: "not-a-ref" }, "image"],
      ] as const
    ) {
      const res = await call(b, "POST", "/v1/instances", { json: body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.ok(res.body.error.startsWith(`${field}: `), `${res.body.error} names ${field}`);
      assert.equal(res.body.status, 400);
    }
    const unknownImage = await call(b, "POST", "/v1/instances", {
      json: { command: "true", image: "00000000-0000-0000-0000-000000000000" },
    });
    assert.equal(unknownImage.status, 404);
    const unknownTag = await call(b, "POST", "/v1/instances", {
      json: { command: "true", image: "tag:nope:nope" },
    });
    assert.equal(unknownTag.status, 404);

    // The full body contree-mcp posts: nulls, result, stdin.truncated.
    const mcp = await call(b, "POST", "/v1/instances", {
      json: {
        command: "echo mcp",
        image: base,
        shell: true,
        args: null,
        env: null,
        cwd: null,
        hostname: null,
        timeout: null,
        disposable: true,
        truncate_output_at: null,
        stdin: { value: "", encoding: "ascii", truncated: false },
        result: null,
        files: null,
      },
    });
    assert.equal(mcp.status, 201);
    assert.equal(mcp.headers.get("location"), `/v1/operations/${mcp.body.uuid}`);
    assert.match(mcp.body.uuid, UUID_RE);
    assert.equal(mcp.body.command, "echo mcp");
    assert.equal(mcp.body.timeout, 60);
    assert.equal(mcp.body.truncate_output_at, 1048576);
    assert.equal(mcp.body.hostname, "linuxkit");
    assert.equal(mcp.body.disposable, true);
    const op = await waitOp(b, mcp.body.uuid);
    assert.equal(op.status, "SUCCESS");
  });

  it("honours explicit falsy values and caps the timeout", async () => {
    const uuid = await spawn(b, {
      command: "pwd",
      shell: false,
      uid: 0,
      cwd: "",
      disposable: false,
      timeout: 999999,
      truncate_output_at: 0,
    });
    const op = await waitOp(b, uuid);
    assert.equal(op.metadata.shell, false);
    assert.equal(op.metadata.cwd, "");
    assert.equal(op.metadata.disposable, false);
    assert.equal(op.metadata.timeout, 3600);
    assert.equal(op.metadata.truncate_output_at, 0);
    assert.deepEqual(op.metadata.result.stdout, { value: "", encoding: "ascii", truncated: true });
  });

  it("lists operations as a bare array, newest first, with filters", async () => {
    const first = await run(b, { command: "true", disposable: true });
    const second = await run(b, { command: "true", disposable: true });
    const { status, body } = await call(b, "GET", "/v1/operations?limit=1000");
    assert.equal(status, 200);
    assert.ok(Array.isArray(body));
    const ids = body.map((o: { uuid: string }) => o.uuid);
    assert.ok(ids.indexOf(second.uuid) < ids.indexOf(first.uuid));
    for (const key of ["uuid", "kind", "status", "error", "created_at", "duration"]) {
      assert.ok(key in body[0], key);
    }
    const sorted = [...body].sort((x, y) =>
      x.created_at === y.created_at
        ? (x.uuid < y.uuid ? 1 : -1)
        : (x.created_at < y.created_at ? 1 : -1)
    );
    assert.deepEqual(body, sorted);
    const paged = [
      ...(await call(b, "GET", "/v1/operations?limit=2&offset=0")).body,
      ...(await call(b, "GET", "/v1/operations?limit=2&offset=2")).body,
    ];
    assert.deepEqual(paged.map((o) => o.uuid), ids.slice(0, 4));
    const success = await call(b, "GET", "/v1/operations?status=SUCCESS&kind=instance");
    assert.ok(success.body.every((o: { status: string }) => o.status === "SUCCESS"));
    assert.equal((await call(b, "GET", "/v1/operations?status=DONE")).status, 400);
    assert.deepEqual(
      (await call(b, "GET", "/v1/operations?status=EXECUTING&until=1970-01-02T00:00:00Z")).body,
      [],
    );
  });

  it("reports operations with every documented field", async () => {
    const op = await run(b, { command: "echo hi; touch /x", shell: true });
    for (
      const key of [
        "uuid",
        "kind",
        "status",
        "error",
        "created_at",
        "duration",
        "metadata",
        "result",
        "result_image_uuid",
        "image_uuid",
      ]
    ) assert.ok(key in op, key);
    assert.equal(op.kind, "instance");
    assert.equal(op.status, "SUCCESS");
    assert.equal(op.error, null);
    assert.equal(typeof op.duration, "number");
    assert.equal(op.image_uuid, base);
    assert.deepEqual(op.result, { image: op.result_image_uuid, tag: null });
    const { stdout, stderr, state, resources } = op.metadata.result;
    assert.deepEqual(stdout, { value: "hi\n", encoding: "ascii", truncated: false });
    assert.deepEqual(stderr, { value: "", encoding: "ascii", truncated: false });
    assert.equal(state.exit_code, 0);
    assert.equal(state.signal, -1);
    assert.equal(state.timed_out, false);
    assert.equal(typeof state.pid, "number");
    assert.equal(typeof resources.elapsed_time, "number");
    assert.equal((await call(b, "GET", `/v1/operations/${op.uuid}?inflight=1`)).body.uuid, op.uuid);
    assert.equal((await call(b, "GET", "/v1/operations/nope")).status, 404);
  });

  it("answers clear errors for subprocesses of finished runs and unknown routes", async () => {
    const op = await run(b, { command: "true", disposable: true });
    const sub = await call(b, "POST", `/v1/operations/${op.uuid}/subprocesses`, {
      json: { command: "true" },
    });
    assert.deepEqual([sub.status, sub.body], [409, {
      error: "operation is not running",
      status: 409,
    }]);
    const unknown = await call(b, "GET", "/v1/nothing");
    assert.equal(unknown.status, 404);
    assert.equal(typeof unknown.body.error, "string");
  });
});

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

async function rawGet(
  b: Backend,
  path: string,
  encoding: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: Uint8Array }> {
  const { request: httpRequest } = await import("node:http");
  return await new Promise((resolve, reject) => {
    const req = httpRequest(`${b.url}${path}`, {
      headers: { Authorization: `Bearer ${b.token}`, "Accept-Encoding": encoding },
    }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (c: Uint8Array) => chunks.push(c));
      res.on(
        "end",
        () => resolve({ status: res.statusCode!, headers: res.headers, body: concat(chunks) }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}
