// Reading files of images without a sandbox: ls, read, open, archive, exists, grep, applyFiles,
// against the real local backend.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { type ContreeImage, ImageDirectory, ImageFile } from "../../src/sdk/mod.ts";
import {
  type ByteRange,
  NotFoundError,
  RangeNotSatisfiableError,
  UnprocessableEntityError,
} from "../../src/wire/mod.ts";
import { pattern, useBackend } from "./_setup.ts";

/** The member names of a tar archive. */
function tarNames(tar: Uint8Array): string[] {
  const names: string[] = [];
  let pax: string | undefined;
  for (let at = 0; at + 512 <= tar.length;) {
    const header = tar.subarray(at, at + 512);
    if (header.every((byte) => byte === 0)) break;
    const field = (from: number, size: number) =>
      new TextDecoder().decode(header.subarray(from, from + size)).replace(/\0.*$/s, "");
    const size = parseInt(field(124, 12).trim() || "0", 8);
    const type = field(156, 1);
    const body = tar.subarray(at + 512, at + 512 + size);
    if (type === "x") pax = /\d+ path=(.*)\n/.exec(new TextDecoder().decode(body))?.[1];
    else if (type !== "g") {
      const prefix = field(345, 155);
      names.push(pax ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100)));
      pax = undefined;
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

describe("files in images", () => {
  const t = useBackend();
  let image: ContreeImage;
  const binary = pattern(70_000);

  it("prepares an image with files", async () => {
    image = await t.busybox.run({
      shell:
        "mkdir -p /data/sub && echo hello > /data/hello.txt && echo deep > /data/sub/deep.txt" +
        " && ln -s hello.txt /data/link",
      files: { "/data/blob.bin": binary },
      disposable: false,
    });
    assert.ok(image.uuid);
  });

  it("ls() gives ImageFile and ImageDirectory entries with their metadata", async () => {
    const entries = await image.ls("/data");
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    assert.deepEqual([...byName.keys()].sort(), ["blob.bin", "hello.txt", "link", "sub"]);
    const hello = byName.get("hello.txt")!;
    assert.ok(hello instanceof ImageFile);
    assert.deepEqual(
      [hello.isDir, hello.isRegular, hello.size, hello.fullPath, hello.path],
      [false, true, 6, "/data/hello.txt", "hello.txt"],
    );
    assert.equal(hello.mode & 0o777, 0o644);
    assert.equal(typeof hello.mtime, "number");
    const sub = byName.get("sub")!;
    assert.ok(sub instanceof ImageDirectory);
    assert.equal(sub.isDir, true);
    const link = byName.get("link")!;
    assert.deepEqual([link.isSymlink, link.symlinkTo], [true, "hello.txt"]);
    assert.ok((await image.ls()).some((entry) => entry.name === "data" && entry.isDir));
  });

  it("entries read, open and list relative to themselves", async () => {
    const entries = await image.ls("/data");
    const hello = entries.find((entry) => entry.name === "hello.txt") as ImageFile;
    assert.equal(await hello.readText(), "hello\n");
    assert.deepEqual(await hello.read(), new TextEncoder().encode("hello\n"));
    assert.equal(await new Response(await hello.open()).text(), "hello\n");
    const sub = entries.find((entry) => entry.name === "sub") as ImageDirectory;
    const inner = await sub.ls();
    assert.deepEqual(inner.map((entry) => entry.fullPath), ["/data/sub/deep.txt"]);
    assert.equal(await (inner[0] as ImageFile).readText(), "deep\n");
  });

  it("read() and readText() load a file; errors are typed", async () => {
    assert.deepEqual(await image.read("/data/blob.bin"), binary);
    assert.equal(await image.readText("/data/hello.txt"), "hello\n");
    await assert.rejects(image.read("/data/none"), NotFoundError);
    await assert.rejects(image.read("/data"), UnprocessableEntityError);
  });

  it("open() streams a file's bytes, or a range of them", async () => {
    const stream = await image.open("/data/blob.bin");
    assert.ok(stream instanceof ReadableStream);
    assert.deepEqual(new Uint8Array(await new Response(stream).arrayBuffer()), binary);
    const bytesOf = async (range: ByteRange) =>
      new Uint8Array(
        await new Response(await image.open("/data/blob.bin", { range })).arrayBuffer(),
      );
    assert.deepEqual(await bytesOf({ start: 10, end: 19 }), binary.subarray(10, 20));
    assert.deepEqual(await bytesOf({ suffix: 7 }), binary.subarray(binary.length - 7));
    assert.deepEqual(await bytesOf({ start: 100 }), binary.subarray(100));
    await assert.rejects(
      image.open("/data/blob.bin", { range: { start: binary.length } }),
      RangeNotSatisfiableError,
    );
  });

  it("archive() gives a tar stream, or a .tar.gz", async () => {
    const tar = new Uint8Array(await new Response(await image.archive("/data")).arrayBuffer());
    const names = tarNames(tar);
    for (const name of ["data/hello.txt", "data/sub/deep.txt", "data/blob.bin"]) {
      assert.ok(names.some((n) => n.replace(/\/$/, "") === name), `${name} in ${names}`);
    }
    const gz = await image.archive("/data/sub", { compressed: true });
    const unzipped = gunzipSync(new Uint8Array(await new Response(gz).arrayBuffer()));
    assert.ok(tarNames(new Uint8Array(unzipped)).some((n) => n.endsWith("sub/deep.txt")));
  });

  it("exists() answers for files and directories", async () => {
    assert.equal(await image.exists("/data/hello.txt"), true);
    assert.equal(await image.exists("/data/sub"), true);
    assert.equal(await image.exists("/data/missing"), false);
  });

  it("grep() searches files with patterns, paths, globs and case", async () => {
    const found = await image.grep("hel+o", { path: "/data" });
    assert.deepEqual(found.patterns, ["hel+o"]);
    assert.deepEqual(
      found.matches.map((match) => [match.path, match.line_number, match.line_text]),
      [["/data/hello.txt", 1, "hello\n"]],
    );
    assert.deepEqual(found.matches[0].submatches, [{ text: "hello", start: 0, end: 5 }]);
    const many = await image.grep(["DEEP", "absent"], {
      path: "/data",
      glob: "*.txt",
      case: "insensitive",
    });
    assert.deepEqual(many.matches.map((match) => match.path), ["/data/sub/deep.txt"]);
    assert.deepEqual((await image.grep("nothing-like-this", { path: "/data" })).matches, []);
  });

  it("resolves a tag-only image on each inspection", async () => {
    const lazy = await t.contree.images.use("busybox:latest");
    assert.equal(await lazy.exists("/bin/sh"), true);
    assert.match(await lazy.readText("/etc/passwd"), /^root:/);
  });

  it("applyFiles() bakes files into a new image", async () => {
    const applied = await image.applyFiles({
      "/data/added.txt": new TextEncoder().encode("added\n"),
      "/data/tools/hi": { content: new Blob(["#!/bin/sh\necho hi\n"]), mode: 0o755 },
    });
    assert.notEqual(applied.uuid, image.uuid);
    assert.equal(await applied.readText("/data/added.txt"), "added\n");
    assert.equal(await applied.readText("/data/hello.txt"), "hello\n");
    assert.equal((await applied.run({ command: "/data/tools/hi" })).stdout, "hi\n");
    assert.equal(await image.exists("/data/added.txt"), false);
  });
});
