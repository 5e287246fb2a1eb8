// LayerStore with real sandboxes: commits, chains, whiteouts, opaque directories, flatten,
// long chains, imports and crash safety.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { ImageView } from "../../server/images/fs_view.ts";
import { LayerError, PathNotFoundError } from "../../server/images/errors.ts";
import { busyboxRootfs, LayerStore } from "../../server/images/layer_store.ts";
import { encodeHeader, END_OF_ARCHIVE, padding, TYPEFLAG } from "../../server/tar/mod.ts";
import { type Fixture, makeFixture, run, step } from "./_sandbox_fixture.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Every entry of an image as one line: path, type, mode, ids, size, target, content. */
async function describeTree(view: ImageView, path = "/"): Promise<string[]> {
  const lines: string[] = [];
  for (const item of (await view.list(path)).files) {
    const full = path === "/" ? `/${item.path}` : `${path}/${item.path}`;
    let content = "";
    if (item.is_regular) {
      content = await new Response(await (await view.open(full)).stream()).text();
    }
    lines.push(
      [full, item.mode.toString(8), item.uid, item.gid, item.size, item.symlink_to, content]
        .join("|"),
    );
    if (item.is_dir) lines.push(...await describeTree(view, full));
  }
  return lines;
}

async function entries(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

describe("LayerStore", () => {
  let fx: Fixture;
  let view: (layers: string[]) => ImageView;
  before(async () => {
    fx = await makeFixture();
    view = (layers) => new ImageView(layers.map((id) => fx.store.path(id)));
  });
  after(() => fx.close());

  it("commits nothing for a run that changed nothing", async () => {
    const { layer } = await run(
      fx.store,
      [fx.base],
      "cat /etc/passwd >/dev/null; ls -R / >/dev/null",
    );
    assert.equal(layer, null);
    assert.deepEqual(await entries(`${fx.dataDir}/work`), []);
  });

  it("chains runs: the next run sees the committed change, layers stay immutable", async () => {
    const first = await run(fx.store, [fx.base], "mkdir /data && echo one > /data/a");
    assert.ok(first.layer);
    assert.deepEqual(await entries(fx.store.path(first.layer)), ["data"]);
    const second = await run(fx.store, [fx.base, first.layer], "cat /data/a; echo two >> /data/a");
    assert.equal(second.stdout, "one\n");
    assert.ok(second.layer);
    const third = await run(fx.store, [fx.base, first.layer, second.layer], "cat /data/a");
    assert.equal(third.stdout, "one\ntwo\n");
    assert.equal(await Deno.readTextFile(`${fx.store.path(first.layer)}/data/a`), "one\n");
    assert.ok(await fx.store.size(second.layer) >= 8);
  });

  it("honours deletions (whiteouts) in the next run and in ImageView", async () => {
    const { layer } = await run(fx.store, [fx.base], "rm /etc/hosts");
    assert.ok(layer);
    const whiteout = await Deno.lstat(`${fx.store.path(layer)}/etc/hosts`);
    assert.equal(whiteout.isCharDevice, true);
    const image = view([fx.base, layer]);
    assert.equal(await image.stat("/etc/hosts"), null);
    assert.ok(!(await image.list("/etc")).files.some((f) => f.path === "hosts"));
    await assert.rejects(image.open("/etc/hosts"), PathNotFoundError);
    const next = await run(fx.store, [fx.base, layer], "test -e /etc/hosts; echo $?");
    assert.equal(next.stdout, "1\n");
    const back = await run(fx.store, [fx.base, layer], "echo new > /etc/hosts");
    assert.equal(
      await new Response(
        await (await view([fx.base, layer, back.layer!]).open("/etc/hosts")).stream(),
      )
        .text(),
      "new\n",
    );
  });

  it("honours opaque directories: a recreated directory hides the old contents", async () => {
    const { layer } = await run(fx.store, [fx.base], "rm -rf /etc; mkdir /etc; touch /etc/new");
    assert.ok(layer);
    const sidecar = JSON.parse(await Deno.readTextFile(`${fx.store.path(layer)}.json`));
    assert.deepEqual(sidecar.opaque, ["etc"]);
    const image = view([fx.base, layer]);
    assert.deepEqual((await image.list("/etc")).files.map((f) => f.path), ["new"]);
    assert.equal(await image.stat("/etc/passwd"), null);
    const next = await run(fx.store, [fx.base, layer], "ls /etc");
    assert.equal(next.stdout, "new\n");
  });

  it("flattens a chain into one layer equal to the merged view", async () => {
    let layers = [fx.base];
    layers = await step(
      fx.store,
      layers,
      "mkdir -p /w/keep /w/gone /w/opaque/old && echo 1 > /w/keep/f && " +
        "echo x > /w/gone/f && touch /w/opaque/old/f && ln -s ../keep/f /w/link && mkfifo /w/fifo",
    );
    layers = await step(
      fx.store,
      layers,
      "rm -rf /w/gone /w/opaque && mkdir -p /w/opaque/new && " +
        "echo 2 >> /w/keep/f && chmod 4711 /w/keep/f && rm /bin/vi",
    );
    layers = await step(fx.store, layers, "mkdir /home/user/mine && echo u > /home/user/mine/f", {
      uid: 1000,
      gid: 1000,
    });
    layers = await step(
      fx.store,
      layers,
      "echo 3 > /w/opaque/new/f && ln -sf /etc/hosts /w/link && " +
        "touch -d '2001-02-03 04:05:06' /w/keep/f && rm /etc/group",
    );
    const flat = await fx.store.flatten(layers);
    assert.equal((await fx.store.size(flat)) > 0, true);
    const chain = await describeTree(view(layers));
    assert.deepEqual(await describeTree(view([flat])), chain);
    // The overlay's own view of the chain agrees with ImageView.
    const overlay = await run(
      fx.store,
      layers,
      "find / \\( -path /proc -o -path /dev \\) -prune -o -print | sort",
      { commit: false },
    );
    const fromView = ["/", ...chain.map((line) => line.split("|")[0])]
      .filter((p) => !/^\/(proc|dev)(\/|$)/.test(p)).sort();
    assert.deepEqual(overlay.stdout.trim().split("\n"), fromView);
    const onFlat = await run(
      fx.store,
      [flat],
      "cat /w/keep/f; ls /w/opaque; test -e /etc/group || echo no group",
    );
    assert.equal(onFlat.stdout, "1\n2\nnew\nno group\n");
    assert.equal(await view([flat]).stat("/bin/vi"), null);
  });

  it("keeps working over 500+ chained runs by flattening every maxDepth layers", async () => {
    const runs = 5 * fx.store.maxDepth + 20;
    let layers = [fx.base];
    let flattened = 0;
    for (let i = 1; i <= runs; i++) {
      layers = await step(fx.store, layers, `echo ${i} >> /log; rm -f /f${i - 1}; touch /f${i}`);
      if (layers.length > fx.store.maxDepth) {
        layers = [await fx.store.flatten(layers)];
        flattened++;
      }
    }
    assert.equal(flattened, 5);
    const image = view(layers);
    const log = await new Response(await (await image.open("/log")).stream()).text();
    assert.equal(log.split("\n").filter(Boolean).length, runs);
    const fs = (await image.list("/")).files.map((f) => f.path).filter((p) => /^f\d+$/.test(p));
    assert.deepEqual(fs, [`f${runs}`]);
    const last = await run(fx.store, layers, "wc -l < /log; ls / | grep -c '^f[0-9]'", {
      commit: false,
    });
    assert.equal(last.stdout, `${runs}\n1\n`);
  });

  it("imports a root filesystem from a directory, a .tar and a .tar.gz", async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.mkdir(`${dir}/src/etc`, { recursive: true });
      await Deno.writeTextFile(`${dir}/src/etc/motd`, "hello\n");
      await Deno.chown(`${dir}/src/etc/motd`, 1000, 1001);
      await Deno.chmod(`${dir}/src/etc/motd`, 0o640);
      await Deno.symlink("/etc/motd", `${dir}/src/motd`);
      const tar = async (args: string[]) => {
        const out = await new Deno.Command("tar", { args, stderr: "inherit" }).output();
        assert.ok(out.success);
      };
      await tar(["-cf", `${dir}/rootfs.tar`, "-C", `${dir}/src`, "."]);
      await tar(["-czf", `${dir}/rootfs.tar.gz`, "-C", `${dir}/src`, "."]);
      for (const source of [`${dir}/src`, `${dir}/rootfs.tar`, `${dir}/rootfs.tar.gz`]) {
        const layer = await fx.store.importRootfs(source);
        const motd = await view([layer]).stat("/etc/motd");
        assert.deepEqual([motd?.uid, motd?.gid, motd?.mode], [1000, 1001, 0o100640]);
        assert.equal((await view([layer]).stat("/motd"))?.symlink_to, "/etc/motd");
        const text = await new Response(await (await view([layer]).open("/motd")).stream()).text();
        assert.equal(text, "hello\n");
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  it("rejects a tarball whose members escape the root, writing nothing outside", async () => {
    const dir = await Deno.makeTempDir();
    try {
      const member = (name: string, type: "file" | "symlink", linkname = "") => {
        const data = new TextEncoder().encode(type === "file" ? "evil\n" : "");
        return [
          encodeHeader({
            name,
            type: TYPEFLAG[type],
            mode: 0o644,
            uid: 0,
            gid: 0,
            uname: "",
            gname: "",
            size: data.length,
            mtime: 0,
            linkname,
            devmajor: 0,
            devminor: 0,
          }),
          data,
          padding(data.length),
        ];
      };
      const parts = [
        ...member("link", "symlink", dir),
        ...member("link/escaped", "file"),
        ...member("../escaped-up", "file"),
        ...member("a/../../escaped-dots", "file"),
        END_OF_ARCHIVE,
      ];
      const bytes = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
      parts.reduce((offset, part) => (bytes.set(part, offset), offset + part.length), 0);
      await Deno.writeFile(`${dir}/evil.tar`, bytes);
      await assert.rejects(fx.store.importRootfs(`${dir}/evil.tar`), LayerError);
      assert.deepEqual(await entries(dir), ["evil.tar"]);
      await assert.rejects(Deno.stat(`${fx.dataDir}/escaped-up`), Deno.errors.NotFound);
      assert.deepEqual(await entries(`${fx.dataDir}/tmp`), []);
      await assert.rejects(fx.store.importRootfs(`${dir}/missing.tar`), LayerError);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  it("removes layers with their sidecar and rejects malformed ids", async () => {
    const { layer } = await run(fx.store, [fx.base], "touch /x");
    assert.ok(layer);
    await fx.store.remove(layer);
    await assert.rejects(Deno.lstat(fx.store.path(layer)), Deno.errors.NotFound);
    await assert.rejects(Deno.lstat(`${fx.store.path(layer)}.json`), Deno.errors.NotFound);
    await fx.store.remove(layer);
    assert.throws(() => fx.store.path("../../etc"), LayerError);
    await assert.rejects(fx.store.commit("nope"), LayerError);
  });

  it("init() removes what a crash left behind and keeps committed layers", async () => {
    const { layer } = await run(fx.store, [fx.base], "echo kept > /kept");
    const ws = fx.store.createWorkspace();
    await Deno.writeTextFile(`${ws.upperDir}/half-written`, "x");
    await Deno.mkdir(`${fx.dataDir}/tmp/abcdefghijkl/deep`, { recursive: true });
    await Deno.writeTextFile(`${fx.dataDir}/layers/zzzzzzzzzzzz.json`, "{}");
    await fx.store.init();
    assert.deepEqual(await entries(`${fx.dataDir}/work`), []);
    assert.deepEqual(await entries(`${fx.dataDir}/tmp`), []);
    await assert.rejects(
      Deno.lstat(`${fx.dataDir}/layers/zzzzzzzzzzzz.json`),
      Deno.errors.NotFound,
    );
    const kept = await new Response(await (await view([fx.base, layer!]).open("/kept")).stream())
      .text();
    assert.equal(kept, "kept\n");
  });

  it("survives kill -9 at any moment: init() leaves only whole layers", async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "contree-crash-" });
    const script = `${dataDir}.ts`;
    await Deno.writeTextFile(
      script,
      `import { LayerStore, busyboxRootfs } from "${ROOT}server/images/layer_store.ts";
       import { runSandbox } from "${ROOT}server/sandbox/run.ts";
       const store = new LayerStore(${JSON.stringify(dataDir)});
       await store.init();
       const mode = Deno.args[0];
       if (mode === "sandbox") {
         const rootfs = await Deno.makeTempDir({ dir: ${JSON.stringify(dataDir)} });
         await busyboxRootfs(rootfs);
         const base = await store.importRootfs(rootfs);
         const ws = store.createWorkspace();
         await runSandbox({ layers: [store.path(base)], command: "sh", args: ["-c", "touch /t; sleep 4325"],
           env: {}, cwd: "/", uid: 0, gid: 0, hostname: "h", files: [], timeoutMs: 60000,
           network: false, upperDir: ws.upperDir, workDir: ws.workDir,
           onOutput: () => {}, onSpawn: () => console.log("spawned") });
       } else {
         const layers = [];
         for (let i = 0; ; i++) {
           const ws = store.createWorkspace();
           for (let j = 0; j < 20; j++) await Deno.writeTextFile(ws.upperDir + "/f" + j, "x".repeat(j));
           await Deno.writeTextFile(ws.upperDir + "/complete", "yes");
           layers.push(await store.commit(ws.id));
           if (i % 3 === 2) layers.push(await store.flatten(layers.slice(-3)));
           if (i % 5 === 4) await store.remove(layers.shift());
         }
       }`,
    );
    const spawn = (mode: string) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--config", `${ROOT}deno.json`, script, mode],
        stdout: "piped",
        stderr: "null",
      }).spawn();
    try {
      for (let round = 0; round < 6; round++) {
        const child = spawn("layers");
        await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 400));
        child.kill("SIGKILL");
        await child.status;
        await child.stdout.cancel();
      }
      for (let round = 0; round < 5; round++) {
        const sandboxed = spawn("sandbox");
        const reader = sandboxed.stdout.pipeThrough(new TextDecoderStream()).getReader();
        assert.match((await reader.read()).value ?? "", /spawned/);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 80));
        sandboxed.kill("SIGKILL");
        await sandboxed.status;
        await reader.cancel();
      }

      const store = new LayerStore(dataDir);
      await store.init();
      assert.deepEqual(await entries(`${dataDir}/work`), []);
      assert.deepEqual(await entries(`${dataDir}/tmp`), []);
      const names = await entries(`${dataDir}/layers`);
      const dirs = names.filter((n) => !n.endsWith(".json"));
      assert.deepEqual(names.filter((n) => n.endsWith(".json")), dirs.map((d) => `${d}.json`));
      for (const id of dirs) {
        const whole = await Deno.readTextFile(`${store.path(id)}/complete`).catch(() => null) ??
          (await Deno.lstat(`${store.path(id)}/bin/busybox`), "yes");
        assert.equal(whole, "yes");
      }
      // Every sandbox (launcher, bwrap, init, command) died with its server.
      for (let i = 0; i < 50; i++) {
        const procs = await Array.fromAsync(Deno.readDir("/proc"));
        const cmdlines = await Promise.all(
          procs.filter((e) => /^\d+$/.test(e.name)).map((e) =>
            Deno.readTextFile(`/proc/${e.name}/cmdline`).catch(() => "")
          ),
        );
        if (!cmdlines.some((c) => c.includes(dataDir) || c.split("\0").includes("4325"))) break;
        assert.ok(i < 49, "the sandbox outlived its server");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await Deno.remove(dataDir, { recursive: true });
      await Deno.remove(script);
    }
  });
});

describe("busyboxRootfs", () => {
  it("builds a root filesystem with applets, users and the usual directories", async () => {
    const dir = await Deno.makeTempDir();
    try {
      await busyboxRootfs(dir);
      const view = new ImageView([dir]);
      assert.equal((await view.stat("/bin/sh"))?.symlink_to, "/bin/busybox");
      assert.equal((await view.stat("/tmp"))?.mode, 0o41777);
      assert.equal((await view.stat("/root"))?.mode, 0o40700);
      const passwd = await new Response(await (await view.open("/etc/passwd")).stream()).text();
      assert.match(passwd, /^root:x:0:0:/);
      assert.equal((await view.stat("/home/user"))?.owner, "user");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
