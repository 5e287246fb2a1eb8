// How OCI layer tars become LayerStore layers (through importArchive of OCI layouts written
// here): whiteout and opaque corner cases, GNU long names, devices, repeated layers, and
// layers that are corrupt or try to escape their root.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ImageView } from "../../server/images/fs_view.ts";
import { importArchive, InvalidImageError } from "../../server/registry/mod.ts";
import {
  buildImage,
  busyboxTar,
  compress,
  makeStore,
  type Store,
  tarOf,
  writeOciLayout,
} from "./_registry.ts";
import { run } from "./_sandbox_fixture.ts";

/** A layer tar made by GNU tar in its own (`--format=gnu`, long names as `L` members) format. */
async function gnuTar(files: Record<string, string>): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "contree-gnu-" });
  try {
    for (const [path, content] of Object.entries(files)) {
      await Deno.mkdir(`${dir}/${path.split("/").slice(0, -1).join("/")}`, { recursive: true });
      await Deno.writeTextFile(`${dir}/${path}`, content);
    }
    const out = await new Deno.Command("tar", {
      args: ["-c", "--format=gnu", "--numeric-owner", "-C", dir, "."],
      stdout: "piped",
    }).output();
    assert.ok(out.success);
    return out.stdout;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

describe("layer conversion", () => {
  let work: string;
  let base: Uint8Array;
  let s: Store;
  let count = 0;
  const importLayers = async (layers: Uint8Array[], compression: "gzip" | "none" = "gzip") => {
    const dir = `${work}/layout-${count++}`;
    await writeOciLayout(dir, buildImage({ layers, compression }), "t:1");
    return await importArchive({ path: dir, layerStore: s.layerStore, cache: s.cache });
  };
  const view = (layers: string[]) => new ImageView(layers.map((id) => s.layerStore.path(id)));
  const names = async (layers: string[], path: string) =>
    (await view(layers).list(path)).files.map((f) => f.path);

  before(async () => {
    work = await Deno.makeTempDir({ prefix: "contree-layers-" });
    base = await busyboxTar();
    s = await makeStore();
  });
  after(async () => {
    await Deno.remove(work, { recursive: true });
    await s.close();
  });

  it("makes a re-created directory opaque whether its whiteout comes first or last", async () => {
    const lower = tarOf([
      { name: "a", type: "dir" },
      { name: "a/old", content: "old" },
      { name: "b", type: "dir" },
      { name: "b/old", content: "old" },
      { name: "c", content: "a file below" },
    ]);
    const upper = tarOf([
      { name: ".wh.a" },
      { name: "a", type: "dir" },
      { name: "a/new", content: "new" },
      { name: "b", type: "dir" },
      { name: "b/new", content: "new" },
      { name: ".wh.b" },
      { name: ".wh.c" },
      { name: "c", type: "dir" },
      { name: "c/inside", content: "a dir above" },
    ]);
    const { layers } = await importLayers([base, lower, upper]);
    assert.deepEqual(await names(layers, "/a"), ["new"]);
    assert.deepEqual(await names(layers, "/b"), ["new"]);
    assert.deepEqual(await names(layers, "/c"), ["inside"]);
    const { stdout } = await run(s.layerStore, layers, "ls /a /b /c", { commit: false });
    assert.equal(stdout, "/a:\nnew\n\n/b:\nnew\n\n/c:\ninside\n");
  });

  it("converts whiteouts whose names only fit GNU long-name members", async () => {
    const dir = `deep/${"d".repeat(120)}`;
    const name = "n".repeat(140);
    const lower = await gnuTar({ [`${dir}/${name}`]: "doomed", [`${dir}/stays`]: "stays" });
    const upper = await gnuTar({ [`${dir}/.wh.${name}`]: "" });
    const { layers } = await importLayers([lower, upper]);
    assert.deepEqual(await names(layers, `/${dir}`), ["stays"]);
  });

  it("drops every layer below an opaque root", async () => {
    const upper = tarOf([{ name: ".wh..wh..opq" }, { name: "only.txt", content: "alone" }]);
    const result = await importLayers([base, tarOf([{ name: "mid.txt", content: "m" }]), upper]);
    assert.equal(result.layers.length, 1);
    assert.deepEqual(await names(result.layers, "/"), ["only.txt"]);
  });

  it("keeps device nodes, and gives repeated layers a stack overlayfs accepts", async () => {
    const dev = tarOf([
      { name: "devs", type: "dir" },
      { name: "devs/mynull", type: "char" },
    ]);
    // Char device 1/3 (like /dev/null): patch the device numbers into the ustar header.
    const header = dev.subarray(512, 1024);
    header.set(new TextEncoder().encode("0000001\0"), 329);
    header.set(new TextEncoder().encode("0000003\0"), 337);
    header.fill(0x20, 148, 156);
    const sum = header.reduce((n, b) => n + b, 0);
    header.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
    const a = tarOf([{ name: "a.txt", content: "a1" }]);
    const b = tarOf([{ name: "a.txt", content: "a2" }]);
    // a, a (idempotent: one layer), b, a again (needs a copy of its own).
    const result = await importLayers([base, dev, a, a, b, a]);
    assert.equal(result.layers.length, 5);
    assert.equal(new Set(result.layers).size, 5);
    const item = (await view(result.layers).stat("/devs/mynull"))!;
    assert.equal(item.mode & 0o170000, 0o020000);
    const { stdout, stderr, result: ran } = await run(
      s.layerStore,
      result.layers,
      "cat /a.txt; stat -c '%t:%T' /devs/mynull",
      { commit: false },
    );
    assert.equal(ran.exitCode, 0, stderr);
    assert.equal(stdout, "a11:3\n");
  });

  it("keeps the layer's owners: listed, seen in a run, usable by their owners only", async () => {
    const owned = tarOf([
      { name: "srv", type: "dir", uid: 1000, gid: 1000, mode: 0o755 },
      { name: "srv/mine.txt", content: "mine\n", uid: 1000, gid: 1000, mode: 0o600 },
      { name: "srv/apt.txt", content: "apt\n", uid: 42, gid: 65534, mode: 0o640 },
    ]);
    const result = await importLayers([base, owned]);
    const item = (await view(result.layers).stat("/srv/mine.txt"))!;
    assert.deepEqual([item.uid, item.gid], [1000, 1000]);
    const { stdout, stderr, result: ran } = await run(
      s.layerStore,
      result.layers,
      "stat -c '%u:%g %n' /srv /srv/mine.txt /srv/apt.txt && echo more >> /srv/mine.txt && " +
        "cat /srv/mine.txt && (cat /srv/apt.txt 2>/dev/null || echo denied)",
      { uid: 1000, gid: 1000, commit: false },
    );
    assert.equal(ran.exitCode, 0, stderr);
    assert.equal(
      stdout,
      "1000:1000 /srv\n1000:1000 /srv/mine.txt\n42:65534 /srv/apt.txt\nmine\nmore\ndenied\n",
    );
  });

  it("refuses members escaping the root, through '..' or through a symlink", async () => {
    const outside = `${work}/outside`;
    await Deno.mkdir(outside);
    await rejects(importLayers([tarOf([{ name: "../escape.txt", content: "x" }])]), /escapes/);
    await rejects(
      importLayers([
        tarOf([{ name: "evil", type: "symlink", link: outside }, {
          name: "evil/pwned",
          content: "x",
        }]),
      ]),
      /cannot unpack/,
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(outside)), []);
    assert.deepEqual(await s.garbage(), []);
  });

  it("refuses corrupt compressed data and truncated tars", async () => {
    const tar = tarOf([{ name: "f.txt", content: "x".repeat(5000) }]);
    const gz = compress(tar, "gzip");
    const corrupt = gz.slice();
    corrupt[20] ^= 0xff;
    const dir = `${work}/corrupt`;
    // The blob digest names the corrupt bytes: only decompression can notice.
    await writeOciLayout(dir, buildImage({ layers: [tar], blobs: [corrupt] }), "t:1");
    await rejects(
      importArchive({ path: dir, layerStore: s.layerStore, cache: s.cache }),
      /corrupt gzip data/,
    );

    // A tar cut inside a member (its diff_id is of the cut bytes, so only the tar is wrong).
    await rejects(importLayers([tar.slice(0, 1024)], "none"), /truncated/);
    assert.deepEqual(await s.garbage(), []);
  });
});

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  const error = await promise.then(() => null, (e) => e);
  assert.ok(error instanceof InvalidImageError, `expected InvalidImageError, got ${error}`);
  assert.match(error.message, pattern);
}
