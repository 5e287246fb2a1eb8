// The wire client against the wire double on loopback: endpoints, encoding, errors, retries,
// aborts and timeouts, validation, pagination, uploads and streamed bodies.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { type AddressInfo, createServer } from "node:net";
import {
  BadRequestError,
  ConflictError,
  ContreeApiError,
  ContreeClient,
  type ContreeClientOptions,
  ContreeNetworkError,
  ContreeTimeoutError,
  NotFoundError,
  RangeNotSatisfiableError,
  RateLimitError,
  ResponseValidationError,
  ServerError,
  sha256Hex,
  SSEStreamError,
  UnprocessableEntityError,
} from "../../mod.ts";
import { IMAGE, WHOAMI, WireDouble } from "./_wire_double.ts";

const FAST_RETRY = { delays: [1, 2, 5] };

/** A loopback port that was free a moment ago and has nothing listening on it now. */
function closedPort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function collectEvents<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe("wire client", () => {
  const double = new WireDouble();
  let client: ContreeClient;
  const make = (options: Partial<ContreeClientOptions> = {}) =>
    new ContreeClient({ baseUrl: double.url, token: "tok", retry: FAST_RETRY, ...options });

  before(async () => {
    await double.start();
    client = make({ project: "proj" });
  });
  after(() => double.close());

  it("sends auth, project, gzip and user agent headers and reads gzip answers", async () => {
    const me = await client.whoami();
    assert.deepEqual(me, {
      token_uuid: "tok-1",
      token_expiration: null,
      permissions: { spawn: true, list: true },
      limits: { instance_max_timeout: 3600 },
      operations_stat: {},
    });
    const request = double.seen("GET", "/v1/whoami").at(-1)!;
    assert.equal(request.headers.get("authorization"), "Bearer tok");
    assert.equal(request.headers.get("project"), "proj");
    assert.match(request.headers.get("accept-encoding")!, /gzip/);
    assert.match(request.headers.get("user-agent")!, /^contree-sdk-ts\//);
  });

  it("keeps a base URL path prefix and omits auth without a token", async () => {
    const urls: string[] = [];
    const prefixed = new ContreeClient({
      baseUrl: `${double.url}/sandboxes//`,
      fetch: (input, init) => {
        urls.push(String(input));
        return fetch(String(input).replace("/sandboxes/", "/"), init);
      },
    });
    await prefixed.whoami();
    assert.deepEqual(urls, [`${double.url}/sandboxes/v1/whoami`]);
    const request = double.seen("GET", "/whoami").at(-1)!;
    assert.equal(request.headers.get("authorization"), null);
    assert.equal(request.headers.get("project"), null);
    assert.throws(() => new ContreeClient({ baseUrl: "ftp://example.com" }), TypeError);
  });

  it("percent-encodes path parameters with nothing safe and repeats list query keys", async () => {
    await assert.rejects(client.getOperation("a/b c!"), NotFoundError);
    assert.equal(double.requests.at(-1)!.rawPath, "/v1/operations/a%2Fb%20c%21");
    const result = await client.grep(IMAGE, {
      pattern: ["root", "a b"],
      path: "/etc",
      max_count: 2,
    });
    assert.deepEqual(result.patterns, ["root", "a b"]);
    assert.equal(result.matches[0].submatches[0].text, "root");
    assert.equal(
      double.requests.at(-1)!.url.search,
      "?pattern=root&pattern=a%20b&path=/etc&max_count=2",
    );
  });

  it("covers the image endpoints", async () => {
    const tagged = await client.updateImageTag(IMAGE, "my/app:v1");
    assert.deepEqual(tagged, {
      uuid: IMAGE,
      tag: "my/app:v1",
      created_at: "2024-01-01T12:00:00+00:00",
      operation_uuid: null,
    });
    assert.deepEqual(JSON.parse(new TextDecoder().decode(double.requests.at(-1)!.body)), {
      tag: "my/app:v1",
    });
    assert.equal(double.requests.at(-1)!.headers.get("content-type"), "application/json");
    await client.deleteImageTag(IMAGE, "my/app:v1");
    assert.equal(double.requests.at(-1)!.url.search, "?tag=my/app%3Av1");
    await client.deleteImageTag(IMAGE);
    assert.equal(double.requests.at(-1)!.url.search, "");
    assert.deepEqual(
      await client.importImage({
        registry: { url: "docker://docker.io/library/busybox:latest" },
        tag: "busybox",
      }),
      { uuid: "op-import" },
    );
    const page = await client.listImages({ tagged: true, limit: 3, offset: 0, since: new Date(0) });
    assert.equal(page.images.length, 3);
    assert.equal(
      double.requests.at(-1)!.url.search,
      "?tagged=1&limit=3&offset=0&since=1970-01-01T00%3A00%3A00.000Z",
    );
    assert.equal((await client.inspectImage(IMAGE)).uuid, IMAGE);
    assert.equal(double.requests.at(-1)!.rawPath, `/v1/inspect/${IMAGE}/`);
  });

  it("finds an image by tag from the 302 Location and resolves references", async () => {
    const uuid = await client.findImageByTag("app/img:4");
    assert.equal(uuid, double.images[4].uuid);
    assert.equal(double.requests.at(-1)!.url.search, "?tag=app/img%3A4");
    assert.equal(await client.resolveImage("tag:app/img:4"), uuid);
    assert.equal(await client.resolveImage("app/img:4"), uuid);
    const before = double.requests.length;
    assert.equal(await client.resolveImage(IMAGE), IMAGE);
    assert.equal(double.requests.length, before);
    await assert.rejects(client.findImageByTag("nope"), NotFoundError);
  });

  it("spawns instances, normalising numeric file modes", async () => {
    const answer = await client.spawnInstance({
      image: "tag:busybox:latest",
      command: "echo hi",
      shell: true,
      cwd: null,
      uid: 0,
      files: { "/srv/a": { uuid: "f1", mode: 0o644 }, "/srv/b": { uuid: "f2", mode: "0755" } },
    });
    assert.equal(answer.uuid, "op-spawned");
    assert.equal(answer.command, "echo hi");
    const sent = JSON.parse(new TextDecoder().decode(double.requests.at(-1)!.body));
    assert.deepEqual(sent.files, {
      "/srv/a": { uuid: "f1", mode: "0644" },
      "/srv/b": { uuid: "f2", mode: "0755" },
    });
    assert.equal(sent.cwd, null);
    assert.equal(sent.uid, 0);
  });

  it("covers operations and subprocesses", async () => {
    double.addOp("op-run", { statuses: ["EXECUTING"] });
    double.addOp("op-done", { statuses: ["SUCCESS"], kind: "image_import" });
    const running = await client.getOperation("op-run", { inflight: true });
    assert.equal(double.requests.at(-1)!.url.search, "?inflight=1");
    assert.equal(running.status, "EXECUTING");
    assert.equal(
      running.metadata && "command" in running.metadata && running.metadata.result?.stdout?.value,
      "aGkK",
    );
    const done = await client.getOperation("op-done");
    assert.deepEqual(done.metadata, {
      registry: { url: "docker://docker.io/library/busybox:latest" },
      tag: "busybox:latest",
    });
    assert.equal(done.result?.image, IMAGE);
    await client.cancelOperation("op-run");
    await assert.rejects(client.cancelOperation("op-done"), (error) => {
      assert.ok(error instanceof ConflictError);
      assert.equal(error.status, 409);
      assert.equal(error.message, "operation is not cancellable");
      return true;
    });
    const list = await client.listOperations({ status: "SUCCESS", kind: "instance", limit: 5 });
    assert.equal(list.length, 5);
    assert.deepEqual(
      await client.createSubprocess("op-run", {
        command: "cat",
        stdin: { value: "", close: false },
      }),
      { spid: 2 },
    );
    const sub = await client.getSubprocess("op-run", 2);
    assert.equal(sub.state?.exit_code, -1);
    await client.killSubprocess("op-run", 2, "TERM");
    assert.equal(double.requests.at(-1)!.url.search, "?signal=TERM");
    await client.writeSubprocessStdin("op-run", 2, {
      value: "aGkK",
      encoding: "base64",
      close: true,
    });
    assert.deepEqual(JSON.parse(new TextDecoder().decode(double.requests.at(-1)!.body)), {
      value: "aGkK",
      encoding: "base64",
      close: true,
    });
  });

  it("lists directories, downloads files and checks existence with HEAD", async () => {
    const list = await client.listDirectory(IMAGE, "/etc");
    assert.equal(list.files[0].mode, 33188);
    assert.match(await client.listDirectoryText(IMAGE, "/etc"), /passwd/);
    assert.equal(double.requests.at(-1)!.url.search, "?path=/etc&text=1");
    assert.equal(
      new TextDecoder().decode(await client.download(IMAGE, "/etc/hosts")),
      "127.0.0.1 localhost\n",
    );
    assert.equal(await client.imageFileExists(IMAGE, "/etc/hosts"), true);
    assert.equal(await client.imageFileExists(IMAGE, "/nope"), false);
    assert.equal(double.requests.at(-1)!.method, "HEAD");
    assert.equal(await client.archiveExists(IMAGE, "/etc"), true);
    assert.equal(await client.archiveExists(IMAGE, "/nope"), false);
    await assert.rejects(client.download(IMAGE, "/etc"), UnprocessableEntityError);
    await assert.rejects(client.download(IMAGE, "/missing"), NotFoundError);
  });

  it("streams downloads, reporting the size only for identity encoding", async () => {
    double.bigFile = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
    const gz = await client.downloadStream(IMAGE, "/big");
    assert.equal(gz.size, undefined);
    const bytes = new Uint8Array(await new Response(gz.body).arrayBuffer());
    assert.deepEqual(bytes, double.bigFile);
    const plain = await make({ compressedDownloads: false }).downloadStream(IMAGE, "/big");
    assert.equal(plain.size, double.bigFile.length);
    await plain.body.cancel();
  });

  it("fills a BYOB reader's own buffer, plain or gzipped", async () => {
    double.bigFile = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 7) % 253);
    for (const compressedDownloads of [false, true]) {
      const { body } = await make({ compressedDownloads }).downloadStream(IMAGE, "/big");
      const reader = body.getReader({ mode: "byob" });
      let buffer = new Uint8Array(double.bigFile.length + 1);
      let filled = 0;
      for (;;) {
        // Small and odd windows too: each read may fill only part of what it was given.
        const window = Math.min(buffer.length - filled, filled % 2 ? 1000 : 256 * 1024);
        const { done, value } = await reader.read(buffer.subarray(filled, filled + window));
        // The read moved the buffer: it comes back in `value`, also at the end.
        if (value) buffer = new Uint8Array(value.buffer);
        if (done) break;
        assert.ok(value.byteLength > 0);
        filled += value.byteLength;
      }
      assert.equal(filled, double.bigFile.length, `gzip ${compressedDownloads}`);
      assert.deepEqual(buffer.subarray(0, filled), double.bigFile);
    }
  });

  it("cuts a byte range out of a whole download when the server ignores Range", async () => {
    double.bigFile = new Uint8Array(300_000).map((_, i) => i % 251);
    const start = double.requests.length;
    const middle = await client.downloadStream(IMAGE, "/big", {
      range: { start: 70_000, end: 200_000 },
    });
    const sent = double.requests[start].headers;
    assert.equal(sent.get("range"), "bytes=70000-200000");
    // Node's fetch adds its own `identity` to a request with a Range (as the Fetch standard says).
    assert.match(sent.get("accept-encoding") ?? "", /^identity(, identity)?$/);
    assert.deepEqual(middle.range, { start: 70_000, end: 200_000, total: 300_000 });
    assert.equal(middle.size, 130_001);
    const bytes = new Uint8Array(await new Response(middle.body).arrayBuffer());
    assert.deepEqual(bytes, double.bigFile.subarray(70_000, 200_001));
    const tail = await client.downloadStream(IMAGE, "/big", { range: { suffix: 10 } });
    assert.deepEqual(tail.range, { start: 299_990, end: 299_999, total: 300_000 });
    assert.deepEqual(
      new Uint8Array(await new Response(tail.body).arrayBuffer()),
      double.bigFile.subarray(299_990),
    );
    await assert.rejects(
      client.downloadStream(IMAGE, "/big", { range: { start: 300_000 } }),
      (error) => error instanceof RangeNotSatisfiableError && error.size === 300_000,
    );
  });

  it("asks file downloads and archives uncompressed only with compressedDownloads: false", async () => {
    // The accept-encoding the double received for each call, by endpoint.
    const encodings = async (options: Partial<ContreeClientOptions>) => {
      const c = make(options);
      const start = double.requests.length;
      await c.download(IMAGE, "/etc/hosts");
      await (await c.downloadStream(IMAGE, "/etc/hosts")).body.cancel();
      await (await c.archive(IMAGE, "/etc")).cancel();
      await c.listImages();
      return double.requests.slice(start).map((r) => {
        const encoding = r.headers.get("accept-encoding") ?? "";
        return `${r.url.pathname.split("/").at(-1)} ${/gzip/.test(encoding) ? "gzip" : encoding}`;
      });
    };
    assert.deepEqual(await encodings({ compressedDownloads: false }), [
      "download identity",
      "download identity",
      "archive identity",
      "images gzip",
    ]);
    const gzip = ["download gzip", "download gzip", "archive gzip", "images gzip"];
    assert.deepEqual(await encodings({}), gzip);
    assert.deepEqual(await encodings({ compressedDownloads: true }), gzip);
  });

  it("returns archives as plain tar or as gzip bytes", async () => {
    const tar = new Uint8Array(
      await new Response(await client.archive(IMAGE, "/etc")).arrayBuffer(),
    );
    const text = new TextDecoder().decode(tar);
    assert.ok(text.startsWith("etc/hosts\0tar-bytes"));
    assert.ok(text.endsWith("end-of-archive"));
    const gz = new Uint8Array(
      await new Response(await client.archive(IMAGE, "/etc", { compressed: true })).arrayBuffer(),
    );
    assert.deepEqual([gz[0], gz[1]], [0x1f, 0x8b]);
    assert.deepEqual(new Uint8Array(gunzipSync(gz)), tar);
    // A fetch that leaves the encoding on: the gzip bytes pass through untouched.
    const raw = make({
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        return new Response(res.body!.pipeThrough(new CompressionStream("gzip")), res);
      },
    });
    const passed = new Uint8Array(
      await new Response(await raw.archive(IMAGE, "/etc", { compressed: true })).arrayBuffer(),
    );
    assert.deepEqual(new Uint8Array(gunzipSync(passed)), tar);
    await assert.rejects(client.archive(IMAGE, "/nope"), NotFoundError);
  });

  it("uploads files and ensureFile probes first, uploading once", async () => {
    const content = new TextEncoder().encode("hello ensureFile");
    const sha256 = await sha256Hex(content);
    assert.equal(await client.fileExists(sha256), false);
    const uploadsBefore = double.uploads;
    const first = await client.ensureFile(new Blob([content]));
    assert.equal(first.sha256, sha256);
    assert.equal(first.size, content.length);
    assert.equal(double.uploads, uploadsBefore + 1);
    const upload = double.seen("POST", "/v1/files").at(-1)!;
    assert.equal(upload.headers.get("content-type"), "application/octet-stream");
    assert.deepEqual(upload.body, content);
    const second = await client.ensureFile(new Response(content).body!);
    assert.deepEqual(second, first);
    assert.equal(double.uploads, uploadsBefore + 1);
    assert.equal(await client.fileExists(sha256), true);
    assert.equal((await client.getFile(sha256)).uuid, first.uuid);
    const streamed = await client.uploadFile(new Response("streamed body").body!);
    assert.equal(streamed.size, "streamed body".length);
    const files = await client.listFiles({ limit: 1000 });
    assert.ok(files.files.some((f) => f.sha256 === sha256));
  });

  it("paginates images, files and operations, honouring page size and limit", async () => {
    const before = double.requests.length;
    const all = [];
    for await (const image of client.iterImages({ pageSize: 10 })) all.push(image);
    assert.equal(all.length, 25);
    const pages = double.requests.slice(before).map((r) => r.url.search);
    assert.deepEqual(pages, ["?limit=10&offset=0", "?limit=10&offset=10", "?limit=10&offset=20"]);
    const limited = [];
    for await (const image of client.iterImages({ pageSize: 4, limit: 6, tagged: true })) {
      limited.push(image);
    }
    assert.deepEqual(limited.map((i) => i.tag), [
      "app/img:0",
      "app/img:2",
      "app/img:4",
      "app/img:6",
      "app/img:8",
      "app/img:10",
    ]);
    assert.equal(double.requests.at(-1)!.url.search, "?tagged=1&limit=2&offset=4");
    const exact = double.requests.length;
    const ops = [];
    for await (const op of client.iterOperations({ pageSize: 7 })) ops.push(op);
    assert.equal(ops.length, 7);
    // A full page is not the end: an empty page follows.
    assert.equal(double.requests.length - exact, 2);
    const files = [];
    for await (const file of client.iterFiles({ pageSize: 1 })) files.push(file);
    assert.equal(files.length, double.files.size);
    await assert.rejects(
      client.iterImages({ pageSize: 1001 })[Symbol.asyncIterator]().next(),
      RangeError,
    );
  });

  it("maps error statuses to typed errors with message, body, Retry-After and request id", async () => {
    const noRetry = make({ retry: false });
    double.fail("GET /v1/whoami", {
      status: 429,
      json: { error: "slow down", status: 429 },
      headers: { "retry-after": "7", "x-request-id": "req-1" },
    });
    await assert.rejects(noRetry.whoami(), (error) => {
      assert.ok(error instanceof RateLimitError);
      assert.equal(error.status, 429);
      assert.equal(error.message, "slow down");
      assert.equal(error.retryAfter, 7);
      assert.equal(error.requestId, "req-1");
      assert.deepEqual(error.body, { error: "slow down", status: 429 });
      return true;
    });
    const date = new Date(Date.now() + 30_000).toUTCString();
    double.fail("GET /v1/whoami", {
      status: 503,
      text: "upstream down <html>",
      headers: { "retry-after": date },
    });
    await assert.rejects(noRetry.whoami(), (error) => {
      assert.ok(error instanceof ServerError);
      assert.equal(error.message, "upstream down <html>");
      assert.equal(error.body, "upstream down <html>");
      assert.ok(error.retryAfter! > 20 && error.retryAfter! <= 30);
      return true;
    });
    double.fail("GET /v1/whoami", { status: 418, json: { error: { code: 1 } } });
    await assert.rejects(noRetry.whoami(), (error) => {
      assert.ok(error instanceof ContreeApiError && !(error instanceof ServerError));
      assert.equal(error.message, '{"code":1}');
      return true;
    });
    await assert.rejects(client.listImages({ limit: 5000 }), BadRequestError);
  });

  it("retries idempotent requests on 410/425/429/5xx and network errors", async () => {
    double.fail(
      "GET /v1/whoami",
      { status: 425, headers: { "retry-after": "0" } },
      { status: 500 },
      { status: 410 },
      { drop: true },
    );
    const before = double.seen("GET", "/v1/whoami").length;
    assert.equal((await client.whoami()).token_uuid, "tok-1");
    assert.equal(double.seen("GET", "/v1/whoami").length - before, 5);
  });

  it("retries POST only on 425 and 429", async () => {
    double.fail("POST /v1/images/import", { status: 425, headers: { "retry-after": "0" } }, {
      status: 429,
    });
    const body = { registry: { url: "docker://x/y:z" } };
    assert.deepEqual(await client.importImage(body), { uuid: "op-import" });
    double.fail("POST /v1/images/import", { status: 500 });
    await assert.rejects(client.importImage(body), ServerError);
    // Deno's fetch itself replays a request once when a reused connection drops; the client never does.
    double.fail("POST /v1/images/import", { drop: true }, { drop: true });
    await assert.rejects(client.importImage(body), ContreeNetworkError);
    double.faults.clear();
    double.fail("PATCH /v1/images/x/tag", { status: 503 });
    await assert.rejects(client.updateImageTag("x", "t"), ServerError);
    // Unless told that unsafe replays are fine.
    double.fail("POST /v1/images/import", { status: 500 });
    assert.deepEqual(
      await make({ retry: { ...FAST_RETRY, retryUnsafe: true } }).importImage(body),
      { uuid: "op-import" },
    );
  });

  it("replays byte uploads but never stream uploads", async () => {
    double.fail("POST /v1/files", { status: 429 });
    assert.equal((await client.uploadFile(new TextEncoder().encode("replayable"))).size, 10);
    double.fail("POST /v1/files", { status: 429 });
    await assert.rejects(client.uploadFile(new Response("once").body!), RateLimitError);
  });

  it("bounds retries by attempts and deadline, and retry: false turns them off", async () => {
    const limited = make({ retry: { maxAttempts: 3, delays: [1] } });
    double.fail("GET /v1/whoami", { status: 500 }, { status: 500 }, { status: 500 }, {
      status: 500,
    });
    const before = double.seen("GET", "/v1/whoami").length;
    await assert.rejects(limited.whoami(), ServerError);
    assert.equal(double.seen("GET", "/v1/whoami").length - before, 3);
    double.faults.clear();
    double.fail("GET /v1/whoami", { status: 503, headers: { "retry-after": "60" } });
    const deadline = make({ retry: { deadline: 1_000 } });
    await assert.rejects(deadline.whoami(), ServerError);
    double.fail("GET /v1/whoami", { status: 500 });
    await assert.rejects(make({ retry: false }).whoami(), ServerError);
    double.faults.clear();
    // Not Implemented is permanent: one attempt, however generous the policy.
    double.fail("GET /v1/whoami", { status: 501 }, { status: 501 });
    const once = double.seen("GET", "/v1/whoami").length;
    await assert.rejects(make().whoami(), ServerError);
    assert.equal(double.seen("GET", "/v1/whoami").length - once, 1);
    double.faults.clear();
  });

  it("tells timeouts from aborts, and does not retry timeouts", async () => {
    double.fail("GET /v1/whoami", { delay: 2_000 });
    const before = double.seen("GET", "/v1/whoami").length;
    await assert.rejects(client.whoami({ timeout: 50 }), (error) => {
      assert.ok(error instanceof ContreeTimeoutError);
      assert.equal(error.timeout, 50);
      return true;
    });
    assert.equal(double.seen("GET", "/v1/whoami").length - before, 1);
    double.faults.clear();
    double.fail("GET /v1/whoami", { delay: 2_000 });
    const controller = new AbortController();
    const call = client.whoami({ signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(call, (error) => {
      assert.ok(error instanceof DOMException);
      assert.equal(error.name, "AbortError");
      return true;
    });
    const reason = new Error("mine");
    await assert.rejects(
      client.whoami({ signal: AbortSignal.abort(reason) }),
      (error) => error === reason,
    );
    const slow = make({ timeout: 30 });
    double.fail("GET /v1/whoami", { delay: 2_000 });
    await assert.rejects(slow.whoami(), ContreeTimeoutError);
    double.faults.clear();
  });

  it("fails a download, an archive or an upload whose bytes stop moving for the timeout", async () => {
    const isIdle = (ms: number) => (error: unknown) =>
      error instanceof ContreeTimeoutError && error.timeout === ms;
    const drain = async (body: ReadableStream<Uint8Array>) => {
      let bytes = 0;
      for await (const chunk of body) bytes += chunk.length;
      return bytes;
    };
    // The client's timeout, and per-call ones (long enough for the headers to arrive).
    const { body } = await make({ timeout: 600 }).downloadStream(IMAGE, "/stall");
    await assert.rejects(drain(body), isIdle(600));
    const archive = await client.archive(IMAGE, "/stall", {}, { timeout: 500 });
    await assert.rejects(drain(archive), isIdle(500));
    const gzipped = await client.archive(IMAGE, "/stall", { compressed: true }, { timeout: 400 });
    await assert.rejects(drain(gzipped), isIdle(400));
    // An upload whose source stops giving bytes.
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("ten bytes."));
      },
    });
    await assert.rejects(client.uploadFile(stalled, { timeout: 400 }), isIdle(400));
  });

  it("hands the runtime's own body through with streamIdleTimeout: false", async () => {
    // A stalled body is not failed by the client: the proxy's own client decides. The option
    // works for the whole client and for one download.
    const bodies = [
      (await make({ timeout: 200, streamIdleTimeout: false }).downloadStream(IMAGE, "/stall"))
        .body,
      (await make({ timeout: 200 }).downloadStream(IMAGE, "/stall", { streamIdleTimeout: false }))
        .body,
    ];
    for (const body of bodies) {
      const reader = body.getReader();
      assert.equal(new TextDecoder().decode((await reader.read()).value), "0123456789");
      const next = reader.read().then(() => "read", () => "failed");
      const waited = new Promise((resolve) => setTimeout(() => resolve("still waiting"), 600));
      assert.equal(await Promise.race([next, waited]), "still waiting");
      await reader.cancel();
    }
  });

  it("lets slow but moving bodies and slow consumers take longer than the timeout", async () => {
    // 6 chunks 100 ms apart under a 400 ms timeout.
    const { body } = await client.downloadStream(IMAGE, "/drip", { timeout: 400 });
    assert.equal(
      await new Response(body).text(),
      Array.from({ length: 6 }, (_, i) => `drip ${i}\n`).join(""),
    );
    // A consumer that pauses between reads longer than the timeout.
    double.bigFile = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
    const big = (await client.downloadStream(IMAGE, "/big", { timeout: 100 })).body.getReader();
    let bytes = (await big.read()).value!.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let next = await big.read(); !next.done; next = await big.read()) {
      bytes += next.value.length;
    }
    assert.equal(bytes, double.bigFile.length);
    // An upload that trickles in over longer than the timeout.
    const parts = Array.from({ length: 8 }, (_, i) => `part ${i};`);
    const trickle = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const part = parts.shift();
        if (part === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(part));
      },
    });
    const file = await client.uploadFile(trickle, { timeout: 500 });
    assert.equal(file.size, 8 * "part 0;".length);
  });

  it("fails fast on a port nothing listens on, naming the URL", async () => {
    const closed = await closedPort();
    let attempts = 0;
    const refused = new ContreeClient({
      baseUrl: `http://127.0.0.1:${closed}`,
      fetch: (input, init) => {
        attempts++;
        return fetch(input, init);
      },
    });
    await assert.rejects(refused.whoami(), (error) => {
      assert.ok(error instanceof ContreeNetworkError);
      assert.equal(
        error.message,
        `GET http://127.0.0.1:${closed}/v1/whoami failed: connection refused`,
      );
      return true;
    });
    // A few quick retries (a restarting server), far fewer than the policy's ten attempts.
    assert.ok(attempts >= 2 && attempts < 10, `${attempts} attempts`);
    // The follower gives up as quickly, carrying the refusal.
    await assert.rejects(collectEvents(refused.followOperationEvents("op")), (error) => {
      assert.ok(error instanceof SSEStreamError);
      assert.ok(error.cause instanceof ContreeNetworkError);
      assert.match(error.cause.message, /events\?follow=1 failed: connection refused/);
      return true;
    });
  });

  it("aborting a streamed download cancels the transfer at once", async () => {
    const controller = new AbortController();
    const { body } = await client.downloadStream(IMAGE, "/endless", { signal: controller.signal });
    const reader = body.getReader();
    await reader.read();
    controller.abort();
    await assert.rejects(async () => {
      while (!(await reader.read()).done);
    });
  });

  it("validates responses, naming the offending field", async () => {
    const noRetry = make({ retry: false });
    double.fail("GET /v1/files", {
      status: 200,
      json: {
        files: [{ uuid: "u", sha256: "s", size: 1, created_at: TS_, updated_at: TS_ }, {
          uuid: "u",
          sha256: "s",
          size: "big",
          created_at: TS_,
          updated_at: TS_,
        }],
      },
    });
    await assert.rejects(noRetry.listFiles(), (error) => {
      assert.ok(error instanceof ResponseValidationError);
      assert.equal(error.path, "files[1].size");
      assert.match(error.message, /files\[1\]\.size/);
      return true;
    });
    double.fail("GET /v1/whoami", { status: 200, json: { ...WHOAMI, token_uuid: undefined } });
    await assert.rejects(noRetry.whoami(), (error) => {
      assert.ok(error instanceof ResponseValidationError);
      assert.equal(error.path, "token_uuid");
      assert.match(error.message, /missing/);
      return true;
    });
    double.fail("GET /v1/operations/op-x", {
      status: 200,
      json: { uuid: "op-x", kind: "instance", status: "SUCCESS", metadata: { image: IMAGE } },
    });
    await assert.rejects(noRetry.getOperation("op-x"), (error) => {
      assert.ok(error instanceof ResponseValidationError);
      assert.equal(error.path, "metadata.command");
      return true;
    });
    double.fail("GET /v1/whoami", { status: 200, text: "<html>not json</html>" });
    await assert.rejects(noRetry.whoami(), (error) => {
      assert.ok(error instanceof ResponseValidationError);
      assert.equal(error.path, "");
      return true;
    });
  });

  it("treats a gzip body cut before its trailer as a network error where the runtime reports it", async () => {
    double.fail("GET /v1/whoami", { status: 200, json: WHOAMI, truncateGzip: true });
    const outcome = await make({ retry: false }).whoami().then(
      (me) => me.token_uuid,
      (error) => error,
    );
    // Deno, Bun and workerd report the cut; Node's fetch hands over what it decoded (here all of it).
    assert.ok(outcome === "tok-1" || outcome instanceof ContreeNetworkError, String(outcome));
    double.fail("GET /v1/whoami", { status: 200, json: WHOAMI, truncateGzip: true });
    assert.equal((await client.whoami()).token_uuid, "tok-1");
  });
});

const TS_ = "2024-01-01T12:00:00+00:00";
