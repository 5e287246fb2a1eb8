// Inspect over HTTP: list, download and archive on chained images (with deleted files),
// error statuses, and symlinks that try to escape the image.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { type InProcessBackend, openInProcess } from "./_in_process.ts";
import { call, request, run } from "./_api.ts";

interface TarMember {
  name: string;
  type: string;
  body: string;
  linkname: string;
}

/** Reads member names, types and bodies of a (PAX) tar. */
function untar(bytes: Uint8Array): TarMember[] {
  const members: TarMember[] = [];
  const decoder = new TextDecoder();
  const field = (block: Uint8Array, start: number, length: number) =>
    decoder.decode(block.subarray(start, start + length)).replace(/\0.*$/s, "");
  let offset = 0;
  let paxPath: string | undefined;
  while (offset + 512 <= bytes.byteLength) {
    const header = bytes.subarray(offset, offset + 512);
    if (header.every((x) => x === 0)) break;
    const size = parseInt(field(header, 124, 12).trim() || "0", 8);
    const type = field(header, 156, 1) || "0";
    const prefix = field(header, 345, 155);
    const body = bytes.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === "x") {
      const match = /\d+ path=([^\n]*)\n/.exec(decoder.decode(body));
      paxPath = match?.[1];
      continue;
    }
    if (type === "g") continue;
    const name = paxPath ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    paxPath = undefined;
    members.push({ name, type, body: decoder.decode(body), linkname: field(header, 157, 100) });
  }
  return members;
}

describe("server inspect", () => {
  let b: InProcessBackend;
  let image: string;

  before(async () => {
    b = await openInProcess();
    const first = await run(b, {
      command: "mkdir -p /data/sub && echo a > /data/a && echo b > /data/b && " +
        "echo s > /data/sub/s && ln -s a /data/link && chmod 600 /data/a",
      shell: true,
    });
    const second = await run(b, {
      image: first.result_image_uuid,
      command: "rm /data/b && rm -r /data/sub && echo c > /data/c && echo a2 > /data/a",
      shell: true,
    });
    assert.equal(second.status, "SUCCESS");
    image = second.result_image_uuid;
  });
  after(async () => {
    await b?.dispose();
  });

  it("lists a chained image without deleted entries, with all 15 fields", async () => {
    const { status, body } = await call(b, "GET", `/v1/inspect/${image}/list?path=/data`);
    assert.equal(status, 200);
    assert.equal(body.path, "/data");
    assert.deepEqual(body.files.map((f: { path: string }) => f.path), ["a", "c", "link"]);
    const a = body.files[0];
    assert.deepEqual(Object.keys(a).sort(), [
      "gid",
      "group",
      "is_dir",
      "is_fifo",
      "is_regular",
      "is_socket",
      "is_symlink",
      "mode",
      "mtime",
      "nlink",
      "owner",
      "path",
      "size",
      "symlink_to",
      "uid",
    ]);
    assert.equal(a.size, 3);
    assert.equal(a.mode, 0o100600);
    assert.equal(a.is_regular, true);
    const link = body.files[2];
    assert.equal(link.is_symlink, true);
    assert.equal(link.symlink_to, "a");
    const root = await call(b, "GET", `/v1/inspect/${image}/list`);
    assert.ok(root.body.files.some((f: { path: string }) => f.path === "data"));
  });

  it("lists as text with the text flag, from any client spelling", async () => {
    for (const flag of ["text=1", "text="]) {
      const res = await request(b, "GET", `/v1/inspect/${image}/list?path=/data&${flag}`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type")!, /^text\/plain/);
      const body = await res.text();
      assert.match(body, /link -> a\n/);
      assert.equal(body.trim().split("\n").length, 3);
    }
  });

  it("downloads files with Content-Length, following symlinks", async () => {
    // As the contree CLI asks (fetch would otherwise negotiate gzip).
    const res = await request(b, "GET", `/v1/inspect/${image}/download?path=/data/a`, {
      headers: { "Accept-Encoding": "identity" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/octet-stream");
    assert.equal(res.headers.get("content-length"), "3");
    assert.equal(await res.text(), "a2\n");
    const viaLink = await request(b, "GET", `/v1/inspect/${image}/download?path=/data/link`);
    assert.equal(await viaLink.text(), "a2\n");
    const encoded = await request(b, "GET", `/v1/inspect/${image}/download?path=%2Fdata%2Fc`);
    assert.equal(await encoded.text(), "c\n");
  });

  it("serves whole, empty and one byte range of a download (206), 416 past the end, all of it for several", async () => {
    const made = await run(b, {
      command: "mkdir /data && seq 1 400000 > /data/n && : > /data/empty",
      shell: true,
    });
    const url = `/v1/inspect/${made.result_image_uuid}/download?path=/data/n`;
    const text = Array.from({ length: 400000 }, (_, i) => `${i + 1}\n`).join("");
    const size = text.length;
    const ranged = (range: string, method = "GET", encoding = "identity") =>
      request(b, method, url, { headers: { Range: range, "Accept-Encoding": encoding } });

    // Across the 1 MiB chunks the file is read in, and with gzip accepted: a part is sent as is.
    const middle = await ranged("bytes=1000000-2199999", "GET", "gzip");
    assert.equal(middle.status, 206);
    assert.equal(middle.headers.get("content-range"), `bytes 1000000-2199999/${size}`);
    assert.equal(middle.headers.get("content-length"), "1200000");
    assert.equal(middle.headers.get("content-encoding"), null);
    assert.equal(await middle.text(), text.slice(1000000, 2200000));
    const whole = await request(b, "GET", url, { headers: { "Accept-Encoding": "identity" } });
    assert.equal(whole.headers.get("content-length"), String(size));
    assert.equal(await whole.text(), text);
    const empty = await request(b, "GET", url.replace("/data/n", "/data/empty"));
    assert.equal(empty.status, 200);
    assert.equal(empty.headers.get("content-length"), "0");
    assert.equal(await empty.text(), "");
    const suffix = await ranged("bytes=-7");
    assert.equal(suffix.headers.get("content-range"), `bytes ${size - 7}-${size - 1}/${size}`);
    assert.equal(await suffix.text(), text.slice(-7));
    const open = await ranged("bytes=5-");
    assert.equal(await open.text(), text.slice(5));
    const head = await ranged("bytes=0-9", "HEAD");
    assert.equal(head.status, 206);
    assert.equal(head.headers.get("content-length"), "10");

    const past = await ranged(`bytes=${size}-`);
    assert.equal(past.status, 416);
    assert.equal(past.headers.get("content-range"), `bytes */${size}`);
    await past.body?.cancel();
    const several = await ranged("bytes=0-1,5-6");
    assert.equal(several.status, 200);
    assert.equal(several.headers.get("accept-ranges"), "bytes");
    assert.equal(await several.text(), text);

    // An archive reads file contents in the same 1 MiB reads, between blocks of other members.
    const archive = await request(
      b,
      "GET",
      `/v1/inspect/${made.result_image_uuid}/archive?path=/data`,
      { headers: { "Accept-Encoding": "identity" } },
    );
    const members = untar(new Uint8Array(await archive.arrayBuffer()));
    assert.deepEqual(
      members.map((m) => [m.name, m.body.length]).sort(),
      [["data/", 0], ["data/empty", 0], ["data/n", size]],
    );
    assert.equal(members.find((m) => m.name === "data/n")!.body, text);
  });

  it("answers 404 for missing paths and 422 for unusable ones", async () => {
    for (
      const [path, status] of [
        [`/v1/inspect/${image}/download?path=/data/b`, 404],
        [`/v1/inspect/${image}/download?path=/data/sub/s`, 404],
        [`/v1/inspect/${image}/download?path=/data`, 422],
        [`/v1/inspect/${image}/list?path=/data/b`, 404],
        [`/v1/inspect/${image}/list?path=/data/a`, 422],
        [`/v1/inspect/${image}/archive?path=/data/b`, 404],
        ["/v1/inspect/00000000-0000-0000-0000-000000000000/list", 404],
      ] as const
    ) {
      const res = await call(b, "GET", path);
      assert.equal(res.status, status, path);
      assert.equal(res.body.status, status);
      assert.equal(typeof res.body.error, "string");
    }
  });

  it("archives a subtree as a streamed tar without deleted files", async () => {
    const res = await request(b, "GET", `/v1/inspect/${image}/archive?path=/data`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/x-tar");
    const members = untar(new Uint8Array(await res.arrayBuffer()));
    const names = members.map((m) => m.name);
    assert.deepEqual(names.filter((n) => n !== "data/").sort(), ["data/a", "data/c", "data/link"]);
    assert.equal(members.find((m) => m.name === "data/a")!.body, "a2\n");
    const link = members.find((m) => m.name === "data/link")!;
    assert.equal(link.type, "2");
    assert.equal(link.linkname, "a");
  });

  it("archives symlinks as symlink members; a dangling root symlink is a 404 like download", async () => {
    const op = await run(b, {
      command: "ln -s /nowhere /dangling && mkdir /d2 && ln -s missing /d2/broken && " +
        "ln -s /d2 /d2link",
      shell: true,
    });
    const img = op.result_image_uuid;
    for (const kind of ["archive", "download"]) {
      const res = await call(b, "GET", `/v1/inspect/${img}/${kind}?path=/dangling`);
      assert.equal(res.status, 404, kind);
      assert.equal(res.body.status, 404);
      assert.equal(typeof res.body.error, "string");
    }
    const head = await request(b, "HEAD", `/v1/inspect/${img}/archive?path=/dangling`);
    assert.equal(head.status, 404);
    await head.body?.cancel();
    // A root symlink to a directory is followed (as download follows it to a file).
    for (const path of ["/d2", "/d2link"]) {
      const res = await request(b, "GET", `/v1/inspect/${img}/archive?path=${path}`);
      assert.equal(res.status, 200, path);
      const members = untar(new Uint8Array(await res.arrayBuffer()));
      const broken = members.find((m) => m.name.endsWith("/broken"));
      assert.equal(broken?.type, "2", path);
      assert.equal(broken?.linkname, "missing");
    }
  });

  it("never lets symlinks or dot-dot reach host files", async () => {
    const name = `contree-secret-${crypto.randomUUID()}`;
    const secret = `/tmp/${name}`;
    writeFileSync(secret, "host secret\n");
    try {
      const op = await run(b, {
        command: `ln -s ${secret} /esc1 && ln -s ../../../../../..${secret} /esc2 && ` +
          "mkdir -p /tmp /d && ln -s /tmp /tmpl && ln -s ../../.. /d/up && ln -s / /rootl",
        shell: true,
      });
      const img = op.result_image_uuid;
      for (
        const path of [
          "/esc1",
          "/esc2",
          `/tmpl/${name}`,
          `/d/up/tmp/${name}`,
          `/rootl/tmp/${name}`,
          `/../../../tmp/${name}`,
          `../../tmp/${name}`,
        ]
      ) {
        const res = await request(
          b,
          "GET",
          `/v1/inspect/${img}/download?path=${encodeURIComponent(path)}`,
        );
        const body = await res.text();
        assert.equal(res.status, 404, `${path}: ${res.status} ${body}`);
        assert.ok(!body.includes("host secret"), path);
      }
      const listing = await call(b, "GET", `/v1/inspect/${img}/list?path=/tmpl`);
      assert.ok(!JSON.stringify(listing.body).includes(name));
      const up = await call(b, "GET", `/v1/inspect/${img}/list?path=/d/up/tmp`);
      assert.ok(!JSON.stringify(up.body).includes(name));
      const archive = await request(b, "GET", `/v1/inspect/${img}/archive?path=/tmpl`);
      const tar = new TextDecoder().decode(await archive.arrayBuffer());
      assert.ok(!tar.includes("host secret"));
      assert.ok(!tar.includes(name));
    } finally {
      rmSync(secret, { force: true });
    }
  });
});
