// The gateway's behaviour over real HTTP, against the real local backend, for one runtime.
// Each runtime's test file calls gatewaySuite(kind).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { GatewayKind } from "./_gateway.ts";
import { BIG_BYTES, ORIGIN, RO_KEY, RW_KEY, startWorld, type World } from "./_fixture.ts";
import { ResponseChecker } from "./_openapi.ts";
import { rawRequest } from "./_raw_http.ts";

const UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000";
const enc = encodeURIComponent;

async function bytes(res: Response): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await res.arrayBuffer());
}

/** Reads an event stream into `{event, data}` frames (and comment lines as `: ...`). */
async function* frames(body: ReadableStream<Uint8Array>) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (event) yield { event, data: JSON.parse(data!) };
      else yield { event: "comment", data: frame };
    }
  }
}

/** Entries of a tar archive (names and contents), enough for the fixture. */
function untar(tar: Uint8Array): Map<string, string> {
  const files = new Map<string, string>();
  const text = new TextDecoder();
  for (let at = 0; at + 512 <= tar.byteLength;) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const name = text.decode(header.subarray(0, 100)).replace(/\0.*$/s, "");
    const size = parseInt(
      text.decode(header.subarray(124, 136)).replace(/\0.*$/s, "").trim() || "0",
      8,
    );
    const type = String.fromCharCode(header[156]);
    if (type === "0" || type === "\0") {
      files.set(name, text.decode(tar.subarray(at + 512, at + 512 + size)));
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

export function gatewaySuite(kind: GatewayKind): void {
  describe(`gateway under ${kind}`, { timeout: 600_000 }, () => {
    let world: World;
    let url: string;
    /** Every answer that passes through `call` is checked against the served document. */
    let checker: ResponseChecker;
    const call = async (path: string, init: RequestInit & { key?: string | null } = {}) => {
      const headers = new Headers(init.headers);
      const key = init.key === undefined ? RW_KEY : init.key;
      if (key !== null) headers.set("authorization", `Bearer ${key}`);
      const res = await fetch(`${url}${path}`, { ...init, headers });
      await checker?.check(init.method ?? "GET", `${url}${path}`, res);
      return res;
    };
    const run = (ref: string, body: unknown, init: RequestInit & { key?: string } = {}) =>
      call(`/images/${enc(ref)}/run`, {
        ...init,
        method: "POST",
        headers: { "content-type": "application/json", ...init.headers as Record<string, string> },
        body: JSON.stringify(body),
      });
    /** What the backend holds: images with tags, and operations with statuses. */
    const upstreamState = async () => {
      const images = (await world.direct.listImages({ limit: 1000 })).images
        .map((i) => `${i.uuid}=${i.tag ?? ""}`).sort();
      // Operation UUIDs only: an earlier test's cancelled run may still be settling.
      const operations = (await world.direct.listOperations({ limit: 1000 })).map((o) => o.uuid)
        .sort();
      return { images, operations };
    };

    before(async () => {
      world = await startWorld(kind);
      url = world.gateway.url;
      checker = new ResponseChecker(await (await fetch(`${url}/openapi.json`)).json());
    });
    after(async () => {
      await world?.stop();
    });

    it("answers /healthz and /openapi.json without a key, with a request id", async () => {
      const health = await call("/healthz", { key: null });
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: "ok" });
      assert.match(health.headers.get("x-request-id") ?? "", /^[\w-]+$/);
      const echoed = await call("/healthz", { key: null, headers: { "x-request-id": "trace-42" } });
      await echoed.body?.cancel();
      assert.equal(echoed.headers.get("x-request-id"), "trace-42");
      const doc = await (await call("/openapi.json", { key: null })).json();
      assert.equal(doc.openapi, "3.1.0");
      assert.deepEqual(Object.keys(doc.paths).sort(), [
        "/healthz",
        "/images",
        "/images/{ref}",
        "/images/{ref}/archive/{path}",
        "/images/{ref}/files/{path}",
        "/images/{ref}/ls/{path}",
        "/images/{ref}/run",
        "/images/{ref}/tag",
        "/openapi.json",
      ]);
    });

    it("requires a known key: 401 without, 403 for read-only keys on writes", async () => {
      for (
        const [key, headers] of [[null, {}], ["gk_wrong_0123456789abcdefghij", {}], [
          null,
          { authorization: "Basic dXNlcjpwYXNz" },
        ]] as const
      ) {
        const res = await call("/images", { key, headers });
        assert.equal(res.status, 401);
        assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer realm="contree-gateway"/);
        assert.equal(res.headers.get("content-type"), "application/problem+json");
        assert.equal((await res.json()).status, 401);
      }
      const before = await upstreamState();
      const list = await call("/images", { key: RO_KEY });
      assert.equal(list.status, 200);
      await list.body?.cancel();
      const file = await call(`/images/${world.image}/files/data/hello.txt`, { key: RO_KEY });
      assert.equal(await file.text(), "hello world");
      const writes: [string, RequestInit][] = [
        [`/images/${world.image}/run`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ shell: "touch /x" }),
        }],
        [`/images/${world.image}/run`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ shell: "touch /x", network: true }),
        }],
        [`/images/${world.image}/tag`, {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ tag: "ro/should-not:work" }),
        }],
        [`/images/${enc(world.tag)}/tag`, { method: "DELETE" }],
      ];
      for (const [path, init] of writes) {
        const res = await call(path, { ...init, key: RO_KEY });
        assert.equal(res.status, 403, path);
        assert.match(res.headers.get("www-authenticate") ?? "", /insufficient_scope/);
        await res.body?.cancel();
      }
      assert.deepEqual(await upstreamState(), before);
    });

    it("lists images with filters and cursors", async () => {
      const all = await (await call("/images?tagged=1")).json();
      const tags = all.images.map((i: { tag: string }) => i.tag);
      assert.ok(tags.includes("busybox:latest"));
      assert.ok(tags.includes(world.tag));
      assert.equal(all.nextCursor, null);
      const mine = await (await call(`/images?prefix=${enc("gw-test/")}`)).json();
      assert.deepEqual(mine.images.map((i: { uuid: string }) => i.uuid), [world.image]);
      const first = await (await call("/images?tagged=1&limit=1")).json();
      assert.equal(first.images.length, 1);
      assert.equal(typeof first.nextCursor, "string");
      const second = await (await call(`/images?tagged=1&limit=1&cursor=${first.nextCursor}`))
        .json();
      assert.equal(second.images.length, 1);
      assert.notEqual(second.images[0].uuid, first.images[0].uuid);
    });

    it("shows one image by tag or UUID, 404 for unknown ones", async () => {
      const byTag = await (await call(`/images/${enc(world.tag)}`)).json();
      assert.equal(byTag.uuid, world.image);
      assert.equal(byTag.tag, world.tag);
      assert.match(byTag.createdAt, /^\d{4}-\d\d-\d\dT/);
      const byUuid = await (await call(`/images/${world.image.toUpperCase()}`)).json();
      assert.deepEqual(byUuid, byTag);
      for (const ref of [UNKNOWN_UUID, "no-such:tag"]) {
        const res = await call(`/images/${enc(ref)}`);
        assert.equal(res.status, 404);
        assert.equal((await res.json()).status, 404);
      }
    });

    it("lists directories", async () => {
      const list = await (await call(`/images/${enc(world.tag)}/ls/data`)).json();
      assert.equal(list.image, world.image);
      assert.equal(list.path, "/data");
      const byName = new Map(list.entries.map((e: { name: string }) => [e.name, e]));
      assert.deepEqual(
        { ...(byName.get("hello.txt") as object), mtime: undefined },
        {
          name: "hello.txt",
          type: "file",
          size: 11,
          mode: "0644",
          uid: 0,
          gid: 0,
          mtime: undefined,
        },
      );
      assert.equal((byName.get("sub") as { type: string }).type, "directory");
      assert.equal((byName.get("big.bin") as { size: number }).size, BIG_BYTES);
      const root = await (await call(`/images/${world.image}/ls/`)).json();
      assert.ok(root.entries.some((e: { name: string }) => e.name === "data"));
      const file = await call(`/images/${world.image}/ls/data/hello.txt`);
      assert.equal(file.status, 422);
      await file.body?.cancel();
      const missing = await call(`/images/${world.image}/ls/nope`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    });

    it("downloads files byte for byte with type, length, strong ETag and caching by address", async () => {
      const byUuid = await call(`/images/${world.image}/files/data/rand.bin`);
      assert.equal(byUuid.status, 200);
      assert.deepEqual(await bytes(byUuid), world.rand);
      assert.equal(byUuid.headers.get("content-length"), String(world.rand.byteLength));
      assert.equal(byUuid.headers.get("content-type"), "application/octet-stream");
      assert.equal(byUuid.headers.get("accept-ranges"), "bytes");
      assert.equal(byUuid.headers.get("cache-control"), "public, max-age=31536000, immutable");
      const etag = byUuid.headers.get("etag")!;
      assert.match(etag, /^"[0-9a-f]{32}-[0-9a-f]{16}"$/);
      const byTag = await call(`/images/${enc(world.tag)}/files/data/rand.bin`);
      assert.deepEqual(await bytes(byTag), world.rand);
      assert.equal(byTag.headers.get("cache-control"), "no-cache");
      assert.equal(byTag.headers.get("etag"), etag);
      const text = await call(`/images/${world.image}/files/data/hello.txt`);
      assert.equal(text.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(text.headers.get("x-content-type-options"), "nosniff");
      assert.equal(await text.text(), "hello world");
      const json = await call(`/images/${world.image}/files/data/sub/x.json?download=1`);
      assert.equal(json.headers.get("content-type"), "application/json");
      assert.equal(
        json.headers.get("content-disposition"),
        `attachment; filename="x.json"; filename*=UTF-8''x.json`,
      );
      assert.equal(await json.text(), "{}");
      const dir = await call(`/images/${world.image}/files/data`);
      assert.equal(dir.status, 422);
      await dir.body?.cancel();
      const missing = await call(`/images/${world.image}/files/data/nope`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    });

    it("serves single ranges byte for byte, 416 when unsatisfiable", async () => {
      const size = world.rand.byteLength;
      const path = `/images/${world.image}/files/data/rand.bin`;
      const cases: [string, number, number][] = [
        ["bytes=0-0", 0, 0],
        ["bytes=0-9", 0, 9],
        ["bytes=65530-65545", 65530, 65545],
        ["bytes=1000-", 1000, size - 1],
        ["bytes=-5", size - 5, size - 1],
        [`bytes=${size - 1}-${size + 100}`, size - 1, size - 1],
      ];
      for (const [range, start, end] of cases) {
        const res = await call(path, { headers: { range } });
        assert.equal(res.status, 206, range);
        assert.equal(res.headers.get("content-range"), `bytes ${start}-${end}/${size}`);
        assert.equal(res.headers.get("content-length"), String(end - start + 1));
        assert.deepEqual(await bytes(res), world.rand.subarray(start, end + 1), range);
      }
      for (const range of [`bytes=${size}-`, "bytes=-0", "bytes=9-3", "bytes=x-y", "bytes="]) {
        const res = await call(path, { headers: { range } });
        assert.equal(res.status, 416, range);
        assert.equal(res.headers.get("content-range"), `bytes */${size}`);
        await res.body?.cancel();
      }
      const several = await call(path, { headers: { range: "bytes=0-1,5-6" } });
      assert.equal(several.status, 200);
      assert.deepEqual(await bytes(several), world.rand);
      // The tail of the 200 MiB file: upstream serves the range, nothing else passes.
      const tail = await call(`/images/${world.image}/files/data/big.bin`, {
        headers: { range: "bytes=-16" },
      });
      assert.equal(tail.status, 206);
      assert.equal(
        tail.headers.get("content-range"),
        `bytes ${BIG_BYTES - 16}-${BIG_BYTES - 1}/${BIG_BYTES}`,
      );
      assert.deepEqual(await bytes(tail), new Uint8Array(16));
    });

    it("answers conditional requests: If-None-Match 304, If-Range", async () => {
      const path = `/images/${world.image}/files/data/rand.bin`;
      const first = await call(path, { method: "HEAD" });
      const etag = first.headers.get("etag")!;
      const cached = await call(path, { headers: { "if-none-match": etag } });
      assert.equal(cached.status, 304);
      assert.equal(cached.headers.get("etag"), etag);
      assert.equal(cached.headers.get("cache-control"), "public, max-age=31536000, immutable");
      assert.equal((await bytes(cached)).byteLength, 0);
      const weak = await call(path, { headers: { "if-none-match": `"nope", W/${etag}` } });
      assert.equal(weak.status, 304);
      await weak.body?.cancel();
      const stale = await call(path, { headers: { "if-none-match": '"other"' } });
      assert.equal(stale.status, 200);
      assert.deepEqual(await bytes(stale), world.rand);
      const same = await call(path, { headers: { range: "bytes=0-3", "if-range": etag } });
      assert.equal(same.status, 206);
      assert.deepEqual(await bytes(same), world.rand.subarray(0, 4));
      const changed = await call(path, { headers: { range: "bytes=0-3", "if-range": '"other"' } });
      assert.equal(changed.status, 200);
      assert.deepEqual(await bytes(changed), world.rand);
      const gone = await call(`/images/${world.image}/files/data/nope`, {
        headers: { "if-none-match": etag },
      });
      assert.equal(gone.status, 404);
      await gone.body?.cancel();
    });

    it("answers HEAD with the headers of GET and no body", async () => {
      const path = `/images/${world.image}/files/data/rand.bin`;
      const get = await call(path);
      await get.body?.cancel();
      const head = await call(path, { method: "HEAD" });
      assert.equal(head.status, 200);
      for (
        const name of ["content-length", "content-type", "etag", "cache-control", "accept-ranges"]
      ) {
        assert.equal(head.headers.get(name), get.headers.get(name), name);
      }
      assert.equal((await bytes(head)).byteLength, 0);
      const raw = await rawRequest(url, `HEAD ${path} HTTP/1.1\r\nAuthorization: Bearer ${RW_KEY}`);
      assert.equal(raw.status, 200);
      assert.equal(raw.headers.get("content-length"), String(world.rand.byteLength));
      assert.equal(raw.body.byteLength, 0);
      const ranged = await call(path, { method: "HEAD", headers: { range: "bytes=10-19" } });
      assert.equal(ranged.status, 206);
      assert.equal(ranged.headers.get("content-length"), "10");
      assert.equal(ranged.headers.get("content-range"), `bytes 10-19/${world.rand.byteLength}`);
      const missing = await call(`/images/${world.image}/files/nope`, { method: "HEAD" });
      assert.equal(missing.status, 404);
      const archive = await call(`/images/${world.image}/archive/data`, { method: "HEAD" });
      assert.equal(archive.status, 200);
      assert.equal(archive.headers.get("content-type"), "application/x-tar");
    });

    it("streams tar archives, plain and gzipped", async () => {
      const tar = await call(`/images/${enc(world.tag)}/archive/data/sub`);
      assert.equal(tar.status, 200);
      assert.equal(tar.headers.get("content-type"), "application/x-tar");
      assert.match(tar.headers.get("content-disposition") ?? "", /filename="sub\.tar"/);
      const files = untar(await bytes(tar));
      assert.equal([...files.entries()].find(([name]) => name.endsWith("x.json"))?.[1], "{}");
      const gz = await call(`/images/${world.image}/archive/data/sub?gzip=1`);
      assert.equal(gz.headers.get("content-type"), "application/gzip");
      assert.match(gz.headers.get("content-disposition") ?? "", /filename="sub\.tar\.gz"/);
      const packed = await bytes(gz);
      assert.deepEqual([packed[0], packed[1]], [0x1f, 0x8b]);
      const unpacked = new Response(
        new Blob([packed]).stream().pipeThrough(new DecompressionStream("gzip")),
      );
      const again = untar(await bytes(unpacked));
      assert.deepEqual(again, files);
      const missing = await call(`/images/${world.image}/archive/nope`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    });

    it("runs with networking only when the body asks for it", async () => {
      // Interfaces besides loopback: none by default, the user-mode stack's with networking.
      const shell = "ip -o link | grep -vc ': lo:'; true";
      for (const [network, count] of [[undefined, "0\n"], [false, "0\n"], [true, "1\n"]]) {
        const res = await run("busybox:latest", { shell, network });
        assert.equal(res.status, 200);
        assert.equal((await res.json()).stdout, count, `network: ${network}`);
      }
      const bad = await run("busybox:latest", { shell, network: "yes" });
      assert.equal(bad.status, 400);
      await bad.body?.cancel();
    });

    it("runs commands and answers the result as JSON", async () => {
      const shell = await run("busybox:latest", {
        shell: 'echo "$GREETING from $(pwd)"; read line; echo "got $line"; echo oops >&2; exit 3',
        env: { GREETING: "hello" },
        cwd: "/tmp",
        stdin: "input line\n",
        disposable: true,
      });
      assert.equal(shell.status, 200);
      const result = await shell.json();
      assert.equal(result.exitCode, 3);
      assert.equal(result.stdout, "hello from /tmp\ngot input line\n");
      assert.equal(result.stderr, "oops\n");
      assert.equal(result.image, null);
      assert.equal(result.timedOut, false);
      assert.match(result.operation, /^[0-9a-f-]{36}$/);
      const argv = await (await run("busybox:latest", { command: "echo", args: ["a b", "$HOME"] }))
        .json();
      assert.equal(argv.stdout, "a b $HOME\n");
      assert.equal(argv.image, null, "runs are disposable by default, as in the SDK");
      const kept = await (await run("busybox:latest", { shell: "true", disposable: false })).json();
      assert.match(kept.image.uuid, /^[0-9a-f-]{36}$/);
      assert.equal(kept.image.tag, null);
      const tag = `gw-test/made:${kind}`;
      const made = await (await run(world.image, {
        shell: "echo made > /data/made.txt",
        disposable: false,
        tag,
      })).json();
      assert.equal(made.exitCode, 0);
      assert.equal(made.image.tag, tag);
      const file = await call(`/images/${made.image.uuid}/files/data/made.txt`);
      assert.equal(await file.text(), "made\n");
      const byTag = await (await call(`/images/${enc(tag)}`)).json();
      assert.equal(byTag.uuid, made.image.uuid);
      const slow = await (await run("busybox:latest", {
        shell: "echo before; sleep 30",
        timeout: 1,
        disposable: true,
      })).json();
      assert.equal(slow.timedOut, true);
      assert.equal(slow.exitCode, null);
      assert.equal(slow.stdout, "before\n");
      const unknown = await run(UNKNOWN_UUID, { shell: "true" });
      assert.equal(unknown.status, 404);
      await unknown.body?.cancel();
    });

    it("streams a run's output live as server-sent events", async () => {
      const res = await run("busybox:latest", {
        shell: "for i in 1 2 3; do echo tick $i; sleep 0.2; done; echo done >&2",
        disposable: true,
      }, { headers: { accept: "text/event-stream" } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
      const seen: { event: string; data: { text?: string; exitCode?: number } }[] = [];
      for await (const frame of frames(res.body!)) if (frame.event !== "comment") seen.push(frame);
      const stdout = seen.filter((f) => f.event === "stdout").map((f) => f.data.text).join("");
      const stderr = seen.filter((f) => f.event === "stderr").map((f) => f.data.text).join("");
      assert.equal(stdout, "tick 1\ntick 2\ntick 3\n");
      assert.equal(stderr, "done\n");
      assert.ok(seen.filter((f) => f.event === "stdout").length >= 2, "output came in pieces");
      const last = seen.at(-1)!;
      assert.equal(last.event, "result");
      assert.equal(last.data.exitCode, 0);
      const bad = await run(UNKNOWN_UUID, { shell: "true" }, {
        headers: { accept: "text/event-stream" },
      });
      assert.equal(bad.status, 404);
      await bad.body?.cancel();
    });

    it("cancels the upstream operation when an event-stream client disconnects", async () => {
      const abort = new AbortController();
      const res = await run("busybox:latest", {
        shell: "echo started; sleep 60; echo never",
        disposable: true,
      }, { headers: { accept: "text/event-stream" }, signal: abort.signal });
      let operation = "";
      for await (const frame of frames(res.body!)) {
        const match = /^: operation (\S+)/.exec(String(frame.data));
        if (frame.event === "comment" && match) operation = match[1];
        if (frame.event === "stdout") break;
      }
      assert.match(operation, /^[0-9a-f-]{36}$/);
      abort.abort();
      let status = "";
      // workerd notices a gone client at the next write: the keepalive frame, within a second.
      for (let i = 0; i < 400 && status !== "CANCELLED"; i++) {
        status = (await world.direct.getOperation(operation)).status;
        if (status !== "CANCELLED") await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(status, "CANCELLED");
    });

    it("tags and untags images", async () => {
      const tag = `gw-test/tagged:${kind}`;
      const put = await call(`/images/${world.image}/tag`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ tag }),
      });
      assert.equal(put.status, 200);
      assert.deepEqual(
        { ...(await put.json()), createdAt: null },
        { uuid: world.image, tag, createdAt: null },
      );
      assert.equal((await (await call(`/images/${enc(tag)}`)).json()).uuid, world.image);
      const del = await call(`/images/${enc(tag)}/tag`, { method: "DELETE" });
      assert.equal(del.status, 204);
      const gone = await call(`/images/${enc(tag)}`);
      assert.equal(gone.status, 404);
      await gone.body?.cancel();
      // Restore the fixture's tag, which the PUT moved.
      await world.direct.updateImageTag(world.image, world.tag);
    });

    it("allows configured CORS origins only", async () => {
      const preflight = await call("/images", {
        key: null,
        method: "OPTIONS",
        headers: {
          origin: ORIGIN,
          "access-control-request-method": "GET",
          "access-control-request-headers": "authorization, range",
        },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("access-control-allow-origin"), ORIGIN);
      assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /Range/i);
      const get = await call(`/images/${world.image}/files/data/hello.txt`, {
        headers: { origin: ORIGIN },
      });
      assert.equal(get.headers.get("access-control-allow-origin"), ORIGIN);
      assert.match(get.headers.get("access-control-expose-headers") ?? "", /ETag/i);
      await get.body?.cancel();
      const other = await call("/images", { headers: { origin: "https://evil.example" } });
      assert.equal(other.headers.get("access-control-allow-origin"), null);
      await other.body?.cancel();
    });

    it("answers hostile input with 4xx and changes nothing upstream", async () => {
      const before = await upstreamState();
      const auth = `Authorization: Bearer ${RW_KEY}`;
      const img = world.image;
      const json = (body: string | Uint8Array<ArrayBuffer>, type = "application/json") => ({
        method: "POST",
        headers: { "content-type": type },
        body,
      });
      const fetches: [string, string, RequestInit, string?][] = [
        ["traversal %2e%2e", `/images/${img}/files/data/..%2F..%2Fetc%2Fpasswd`, {}, "path"],
        ["traversal in ls", `/images/${img}/ls/a%2F..%2F..`, {}, "path"],
        ["bad UTF-8 in path", `/images/${img}/files/%FF%FE`, {}, "path"],
        ["truncated UTF-8", `/images/${img}/files/caf%C3`, {}, "path"],
        ["NUL in path", `/images/${img}/files/etc%00passwd`, {}, "path"],
        ["control char in path", `/images/${img}/files/a%0Ab`, {}, "path"],
        ["bad UTF-8 in ref", `/images/%FF/files/etc/passwd`, {}, "param.ref"],
        ["odd ref", `/images/${enc("Not A Tag!")}`, {}, "param.ref"],
        ["long path", `/images/${img}/files/${"a/".repeat(2100)}x`, {}, "path"],
        ["long segment", `/images/${img}/files/${"a".repeat(300)}`, {}, "path"],
        ["limit 0", "/images?limit=0", {}, "query.limit"],
        ["limit text", "/images?limit=ten", {}, "query.limit"],
        ["limit twice", "/images?limit=1&limit=2", {}, "query.limit"],
        ["forged cursor", "/images?cursor=bm9wZQ", {}, "query.cursor"],
        ["bad flag", `/images/${img}/files/data/hello.txt?download=maybe`, {}, "query.download"],
        ["unknown image", `/images/${UNKNOWN_UUID}/files/etc/passwd`, {}],
        ["unknown tag", `/images/no-such:tag/ls/`, {}],
        ["unsatisfiable range", `/images/${img}/files/data/hello.txt`, {
          headers: { range: "bytes=50-60" },
        }],
        ["garbage range", `/images/${img}/files/data/hello.txt`, {
          headers: { range: "bytes=--1" },
        }],
        ["wrong method on files", `/images/${img}/files/data/hello.txt`, { method: "DELETE" }],
        ["wrong method on list", "/images", { method: "POST" }],
        ["wrong method on tag", `/images/${img}/tag`, { method: "PATCH" }],
        ["wrong method on run", `/images/${img}/run`, { method: "GET" }],
        ["no such route", "/admin", {}],
        [
          "run: not JSON",
          `/images/${img}/run`,
          json("shell=touch /pwned", "text/plain"),
          "header.content-type",
        ],
        ["run: malformed JSON", `/images/${img}/run`, json("{nope"), "body"],
        ["run: no command", `/images/${img}/run`, json("{}"), "body.command"],
        [
          "run: both forms",
          `/images/${img}/run`,
          json('{"shell":"touch /a","command":"touch"}'),
          "body.command",
        ],
        [
          "run: args with shell",
          `/images/${img}/run`,
          json('{"shell":"touch /a","args":["x"]}'),
          "body.args",
        ],
        [
          "run: unknown field",
          `/images/${img}/run`,
          json('{"shell":"touch /a","uid":0}'),
          "body.uid",
        ],
        [
          "run: huge timeout",
          `/images/${img}/run`,
          json('{"shell":"touch /a","timeout":99999}'),
          "body.timeout",
        ],
        [
          "run: relative cwd",
          `/images/${img}/run`,
          json('{"shell":"touch /a","cwd":"tmp"}'),
          "body.cwd",
        ],
        [
          "run: bad env name",
          `/images/${img}/run`,
          json('{"shell":"touch /a","env":{"A=B":"c"}}'),
          "body.env.A=B",
        ],
        [
          "run: NUL in command",
          `/images/${img}/run`,
          json('{"command":"touch\\u0000x"}'),
          "body.command",
        ],
        [
          "run: huge stdin",
          `/images/${img}/run`,
          json(JSON.stringify({ shell: "cat", stdin: "x".repeat(300_000) })),
          "body.stdin",
        ],
        [
          "run: huge body",
          `/images/${img}/run`,
          json(JSON.stringify({ shell: "cat", pad: "x".repeat(2_000_000) })),
          "body",
        ],
        [
          "run: bad UTF-8 body",
          `/images/${img}/run`,
          json(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
          "body",
        ],
        ["tag: bad tag", `/images/${img}/tag`, {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: '{"tag":"Bad Tag"}',
        }, "body.tag"],
        ["tag: long tag", `/images/${img}/tag`, {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ tag: "a".repeat(300) }),
        }, "body.tag"],
        ["untag unknown", `/images/${UNKNOWN_UUID}/tag`, { method: "DELETE" }],
      ];
      for (const [name, path, init, field] of fetches) {
        const res = await call(path, init);
        assert.ok(res.status >= 400 && res.status < 500, `${name}: ${res.status}`);
        const text = await res.text();
        assert.ok(!text.includes(world.backend.token), `${name}: leaks the upstream token`);
        assert.ok(!text.includes(RW_KEY), `${name}: leaks the key`);
        assert.ok(!/\bat \S+:\d+:\d+/.test(text), `${name}: has a stack trace`);
        if (field) {
          assert.equal(res.status === 413 || res.status === 415 || res.status === 400, true, name);
          assert.equal(JSON.parse(text).field, field, name);
        }
      }
      const raws: [string, string | Uint8Array][] = [
        ["raw dot segments", `GET /images/${img}/files/../../../../etc/passwd HTTP/1.1\r\n${auth}`],
        [
          "raw %2e segments",
          `GET /images/${img}/files/data/%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\n${auth}`,
        ],
        ["raw backslashes", `GET /images/${img}/files/..\\..\\etc\\passwd HTTP/1.1\r\n${auth}`],
        [
          "raw 0xFF in the path",
          new Uint8Array([
            ...new TextEncoder().encode(`GET /images/${img}/files/`),
            0xff,
            0xfe,
            ...new TextEncoder().encode(` HTTP/1.1\r\n${auth}`),
          ]),
        ],
        ["huge header", `GET /images HTTP/1.1\r\n${auth}\r\nX-Pad: ${"a".repeat(200_000)}`],
        [
          "huge authorization",
          `GET /images HTTP/1.1\r\nAuthorization: Bearer ${"k".repeat(100_000)}`,
        ],
      ];
      for (const [name, head] of raws) {
        const res = await rawRequest(url, head);
        assert.ok(res.status >= 400 && res.status < 500, `${name}: ${res.status}`);
      }
      assert.deepEqual(await upstreamState(), before);
    });

    it("answers a body over the limit with a readable 413, not a reset", async () => {
      const before = await upstreamState();
      const size = 16 * 1024 * 1024;
      const body = new TextEncoder().encode(
        JSON.stringify({ shell: "true", pad: "x".repeat(size) }),
      );
      const chunked = new Uint8Array([
        ...new TextEncoder().encode(`${body.byteLength.toString(16)}\r\n`),
        ...body,
        ...new TextEncoder().encode("\r\n0\r\n\r\n"),
      ]);
      const head =
        `POST /images/${world.image}/run HTTP/1.1\r\nAuthorization: Bearer ${RW_KEY}\r\n` +
        "Content-Type: application/json\r\n";
      const cases: [string, string, Uint8Array][] = [
        ["with Content-Length", `${head}Content-Length: ${body.byteLength}`, body],
        ["chunked", `${head}Transfer-Encoding: chunked`, chunked],
      ];
      for (const [name, request, payload] of cases) {
        const res = await rawRequest(url, request, payload);
        assert.equal(
          res.status,
          413,
          `${name}: status ${res.status} (0: the connection was reset)`,
        );
        assert.equal(res.headers.get("content-type"), "application/problem+json", name);
        const problem = JSON.parse(new TextDecoder().decode(res.body));
        assert.equal(problem.status, 413, name);
        assert.equal(problem.field, "body", name);
      }
      assert.deepEqual(await upstreamState(), before);
    });

    it(`downloads ${BIG_BYTES / 1048576} MiB with flat gateway memory`, async () => {
      const baseline = world.gateway.rss();
      let peak = baseline;
      let received = 0;
      let next = 0;
      const res = await call(`/images/${world.image}/files/data/big.bin`);
      assert.equal(res.headers.get("content-length"), String(BIG_BYTES));
      for await (const chunk of res.body!) {
        received += chunk.byteLength;
        if (received >= next) {
          peak = Math.max(peak, world.gateway.rss());
          next += 8 * 1048576;
        }
      }
      assert.equal(received, BIG_BYTES);
      const growth = (peak - baseline) / 1048576;
      assert.ok(growth < 96, `gateway RSS grew by ${growth.toFixed(1)} MiB`);
    });

    it("writes one access-log line per request, without secrets", async () => {
      const res = await call("/healthz", { headers: { "x-request-id": "log-check-1" } });
      await res.text();
      let line: Record<string, unknown> | undefined;
      for (let i = 0; i < 50 && !line; i++) {
        line = world.gateway.output().split("\n").filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l)).find((l) => l.requestId === "log-check-1");
        if (!line) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(line, "no log line");
      assert.equal(line.method, "GET");
      assert.equal(line.route, "/healthz");
      assert.equal(line.status, 200);
      assert.equal(line.bytes, 15);
      assert.equal(typeof line.durationMs, "number");
      const output = world.gateway.output();
      assert.ok(!output.includes(world.backend.token), "the upstream token is logged");
      assert.ok(!output.includes(RW_KEY) && !output.includes(RO_KEY), "a key is logged");
      const lines = output.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
      const download = lines.find((l) =>
        l.route === "/images/:ref/files/*" && l.bytes === BIG_BYTES
      );
      assert.ok(download, "the big download is logged with its bytes");
    });

    it("answered every documented operation as its generated OpenAPI document says", () => {
      // Each `call` above checked its answer's status and JSON body against the document.
      assert.deepEqual(checker.documented().filter((op) => !checker.seen.has(op)), []);
    });
  });
}
