// ImageView: stat, list, download and archive of images built by real sandbox runs, and
// path resolution that never leaves the image.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ImageView } from "../../server/images/fs_view.ts";
import {
  NotADirectoryError,
  NotAFileError,
  PathNotFoundError,
  PathNotUsableError,
  SymlinkLoopError,
} from "../../server/images/errors.ts";
import { type Fixture, makeFixture, step } from "./_sandbox_fixture.ts";

const IMAGE_SHADOW = "root:*:19000:0:99999:7:::\nuser:*:19000:0:99999:7:::\nnobody:*:19000::::::\n";

async function text(view: ImageView, path: string): Promise<string> {
  return await new Response(await (await view.open(path)).stream()).text();
}

async function tar(args: string[], stdin: ReadableStream<Uint8Array>): Promise<string> {
  const child = new Deno.Command("tar", { args, stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  await stdin.pipeTo(child.stdin);
  const out = await child.output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

describe("ImageView", () => {
  let fx: Fixture;
  let image: ImageView;
  const long = `${"d".repeat(60)}/${"e".repeat(60)}/${"f".repeat(70)}`;
  before(async () => {
    fx = await makeFixture();
    let layers = [fx.base];
    layers = await step(
      fx.store,
      layers,
      [
        "ln -s /etc/shadow /x",
        "ln -s ../../../../ /y",
        "ln -s /y/y/y/etc /z",
        "mkdir -p /a/b && ln -s ../../a/b/../../../../etc/shadow /a/b/c",
        "ln -s loop2 /loop1 && ln -s loop1 /loop2",
        "ln -s /work/main/deno.json /hostfile",
        "ln -s /proc/self/root/etc/shadow /procroot",
        "mkdir -p /data/sub /data/empty && printf 'abc' > /data/sub/file && chmod 640 /data/sub/file",
        "ln -s sub/file /data/link && mkfifo /data/fifo && echo gone > /data/gone",
        `mkdir -p /data/${long.slice(0, long.lastIndexOf("/"))} && echo deep > /data/${long}`,
        "touch -d '2001-02-03 04:05:06' /data/sub/file",
      ].join(" && "),
    );
    layers = await step(fx.store, layers, "rm /data/gone");
    layers = await step(fx.store, layers, "echo mine > /home/user/own", { uid: 1000, gid: 1000 });
    image = new ImageView(layers.map((id) => fx.store.path(id)));
  });
  after(() => fx.close());

  it("stats entries with the 15 wire fields, owner names from the image", async () => {
    const hosts = await image.stat("/etc/hosts");
    assert.ok(hosts);
    assert.deepEqual(Object.keys(hosts).sort(), [
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
    assert.equal(hosts.path, "hosts");
    assert.equal(hosts.owner, "root");
    assert.equal(hosts.mode, 0o100644);
    assert.equal(hosts.is_regular, true);
    const file = await image.stat("/data/sub/file");
    assert.equal(file?.mtime, Date.UTC(2001, 1, 3, 4, 5, 6) / 1000);
    assert.equal(file?.size, 3);
    const sh = await image.stat("/bin/sh");
    assert.equal(sh?.is_symlink, true);
    assert.equal(sh?.symlink_to, "/bin/busybox");
    assert.equal((await image.stat("/data/fifo"))?.is_fifo, true);
    assert.equal((await image.stat("/"))?.is_dir, true);
    assert.equal(await image.stat("/missing"), null);
    assert.equal(await image.stat("/etc/hosts/x"), null);
    assert.equal(await image.stat("/data/gone"), null);
  });

  it("lists directories, following symlinks, with typed errors", async () => {
    const data = await image.list("/data");
    assert.equal(data.path, "/data");
    assert.deepEqual(data.files.map((f) => f.path), [
      "d".repeat(60),
      "empty",
      "fifo",
      "link",
      "sub",
    ]);
    assert.deepEqual(
      (await image.list("/y")).files.map((f) => f.path),
      (await image.list("/")).files.map((f) => f.path),
    );
    await assert.rejects(image.list("/missing"), PathNotFoundError);
    await assert.rejects(image.list("/etc/hosts"), NotADirectoryError);
    await assert.rejects(image.list("/etc/hosts"), PathNotUsableError);
    await assert.rejects(image.list("/loop1"), SymlinkLoopError);
  });

  it("renders an ls -l style listing", async () => {
    const listing = await image.listText("/data/sub");
    assert.match(listing, /^-rw-r----- +1 root +root +3 Feb {2}3 {2}2001 file\n$/);
    const bin = await image.listText("/bin");
    assert.match(bin, /^lrwxrwxrwx +1 root +root +12 .* sh -> \/bin\/busybox$/m);
  });

  it("opens regular files (through symlinks) and refuses anything else", async () => {
    assert.equal(await text(image, "/data/link"), "abc");
    const { size } = await image.open("/bin/sh");
    assert.equal(size, (await Deno.stat("/bin/busybox")).size);
    await assert.rejects(image.open("/etc"), NotAFileError);
    await assert.rejects(image.open("/data/fifo"), NotAFileError);
    await assert.rejects(image.open("/missing"), PathNotFoundError);
  });

  it("never resolves a path to a host file", async () => {
    const hostShadow = await Deno.readTextFile("/etc/shadow");
    assert.notEqual(hostShadow, IMAGE_SHADOW);
    for (
      const path of [
        "/x",
        "/y/etc/shadow",
        "/z/shadow",
        "/a/b/c",
        "/../../../etc/shadow",
        "/y/y/../../etc/./shadow",
      ]
    ) {
      assert.equal(await text(image, path), IMAGE_SHADOW, path);
    }
    await assert.rejects(image.open("/hostfile"), PathNotFoundError);
    await assert.rejects(image.open("/procroot"), PathNotFoundError);
    await assert.rejects(image.open("/loop1"), SymlinkLoopError);
    assert.equal((await image.stat("/loop1"))?.symlink_to, "loop2");
    assert.equal((await image.stat("/y/.."))?.path, "/");
    const own = await image.stat("/home/user/own");
    assert.deepEqual([own?.owner, own?.group, own?.uid], ["user", "user", 1000]);
  });

  it("archives a subtree as PAX tar with relative names, modes, times and symlinks", async () => {
    const listing = await tar(["-tvf", "-", "--numeric-owner"], await image.archive("/data"));
    const lines = listing.trim().split("\n");
    const names = lines.map((line) => line.split(/\s+/).slice(5).join(" "));
    assert.ok(names.includes("data/"));
    assert.ok(names.includes("data/sub/file"));
    assert.ok(names.includes("data/link -> sub/file"));
    assert.ok(names.includes(`data/${long}`));
    assert.ok(!names.some((n) => n.includes("gone")));
    const file = lines.find((line) => line.endsWith(" data/sub/file"))!;
    assert.match(file, /^-rw-r----- 0\/0 +3 2001-02-03 04:05 /);
    assert.match(lines.find((l) => l.endsWith(" data/fifo"))!, /^p/);

    const dir = await Deno.makeTempDir();
    try {
      await tar(["-xpf", "-", "--numeric-owner", "-C", dir], await image.archive("/data"));
      assert.equal(await Deno.readTextFile(`${dir}/data/sub/file`), "abc");
      assert.equal((await Deno.stat(`${dir}/data/sub/file`)).mode! & 0o7777, 0o640);
      assert.equal(await Deno.readLink(`${dir}/data/link`), "sub/file");
      assert.equal(await Deno.readTextFile(`${dir}/data/${long}`), "deep\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  it("archives the root without a prefix and a single file by its name", async () => {
    const root = await tar(["-tf", "-"], await image.archive("/"));
    assert.ok(root.split("\n").includes("etc/hosts"));
    assert.ok(!root.split("\n").some((n) => n.startsWith("/") || n.startsWith("./")));
    assert.equal(await tar(["-tf", "-"], await image.archive("/etc/hosts")), "hosts\n");
    assert.equal(await tar(["-xOf", "-"], await image.archive("/x")), IMAGE_SHADOW);
  });

  it("rejects the archive of a missing path or a dangling symlink before any byte", async () => {
    await assert.rejects(image.archive("/missing"), PathNotFoundError);
    await assert.rejects(image.archive("/hostfile"), PathNotFoundError);
    await assert.rejects(image.archive("/loop1"), SymlinkLoopError);
  });
});
