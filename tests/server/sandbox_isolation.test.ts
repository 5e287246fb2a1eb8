// What a sandboxed command must not reach: host files, host processes, capabilities, the
// sandbox's own init (the network: sandbox_network.test.ts).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Fixture, makeFixture, run } from "./_sandbox_fixture.ts";
import { defaultIdRange } from "../../server/sandbox/id_range.ts";
import { capLines, hostPrivilegeProbe, NO_CAPS, ROOT_CAPS } from "./_caps.ts";
import { descendants, hostIds } from "./_host_procs.ts";

describe("sandbox isolation", () => {
  let fx: Fixture;
  before(async () => {
    fx = await makeFixture();
  });
  after(() => fx.close());

  it("cannot read marker files created on the host", async () => {
    const name = `contree-marker-${crypto.randomUUID()}`;
    const markers = [`/tmp/${name}`, `/root/${name}`];
    for (const path of markers) await Deno.writeTextFile(path, "host secret");
    try {
      const { stdout, stderr } = await run(
        fx.store,
        [fx.base],
        `cat ${markers.join(" ")}; find / -name '${name}' 2>/dev/null; echo done`,
      );
      assert.equal(stdout, "done\n");
      assert.match(stderr, /No such file/);
      const host = await run(fx.store, [fx.base], "cat /etc/shadow");
      assert.notEqual(host.stdout, await Deno.readTextFile("/etc/shadow"));
    } finally {
      for (const path of markers) await Deno.remove(path);
    }
  });

  it("does not write to host paths", async () => {
    const name = `contree-out-${crypto.randomUUID()}`;
    const { result } = await run(fx.store, [fx.base], `echo x > /tmp/${name}`, { commit: false });
    assert.equal(result.exitCode, 0);
    await assert.rejects(Deno.stat(`/tmp/${name}`), Deno.errors.NotFound);
  });

  it("holds capabilities only in its own user namespace, over ids of its own range", async () => {
    for (const [uid, permitted] of [[0, ROOT_CAPS], [1000, NO_CAPS]] as const) {
      const { stdout } = await run(fx.store, [fx.base], "grep Cap /proc/self/status", {
        uid,
        gid: uid,
      });
      assert.equal(stdout.trim(), capLines(permitted));
    }
    const ids = await run(fx.store, [fx.base], "cat /proc/self/uid_map /proc/self/gid_map");
    const range = await defaultIdRange();
    assert.deepEqual(ids.stdout.trim().split(/\s+/).map(Number), [
      ...[0, range.uidStart, range.count],
      ...[0, range.gidStart, range.count],
    ]);
    // What root may do in its own namespaces...
    const own = await run(
      fx.store,
      [fx.base],
      "chown 1000:1000 /etc/hosts && hostname other && mount -t tmpfs t /tmp && " +
        "ip link set lo down && echo own",
      { commit: false },
    );
    assert.equal(own.stdout, "own\n", own.stderr);
    // ...and what needs the host's: devices, kernel knobs, the clock, host-owned files, the
    // sandbox's init, and with networking the namespace pasta wires (made by host root).
    for (const network of [false, true]) {
      const { stdout } = await run(fx.store, [fx.base], hostPrivilegeProbe(network), {
        network,
        commit: false,
      });
      assert.equal(stdout, "checked\n");
    }
  });

  it("runs as host ids of its range, never as host root", async () => {
    const range = await defaultIdRange();
    let launcher = 0;
    const seen = new Map<number, [number[], number[]]>();
    const { result } = await run(fx.store, [fx.base], "sleep 1 & sleep 1; wait", {
      uid: 0,
      onSpawn: (info) => {
        launcher = info.pid;
      },
      onChunk: () => {},
      files: [],
      stdin: new ReadableStream({
        async start(controller) {
          // While the run sleeps.
          await new Promise((resolve) => setTimeout(resolve, 500));
          // The sandbox: bwrap (its root) and everything below it.
          const bwrap = descendants(launcher).filter((pid) =>
            Deno.readTextFileSync(`/proc/${pid}/comm`).trim() === "bwrap"
          );
          for (const pid of bwrap.flatMap((pid) => [pid, ...descendants(pid)])) {
            seen.set(pid, hostIds(pid));
          }
          controller.close();
        },
      }),
    });
    assert.equal(result.exitCode, 0);
    assert.ok(seen.size >= 4, `bwrap, init, sh and sleeps: ${[...seen.keys()]}`);
    const inRange = (id: number, start: number) => id >= start && id < start + range.count;
    for (const [pid, [uids, gids]] of seen) {
      assert.ok(uids.every((id) => inRange(id, range.uidStart)), `${pid}: uids ${uids}`);
      assert.ok(gids.every((id) => inRange(id, range.gidStart)), `${pid}: gids ${gids}`);
    }
  });

  it("cannot see, signal or inspect host processes or its own init", async () => {
    const { stdout, result } = await run(
      fx.store,
      [fx.base],
      `kill -0 ${Deno.pid} 2>/dev/null && echo host visible; ` +
        "cat /proc/1/environ 2>/dev/null && echo init readable; " +
        "readlink /proc/1/fd/3 2>/dev/null && echo init fds; " +
        "echo '{}' 2>/dev/null > /proc/1/fd/3 && echo report forged; " +
        "kill -9 1; kill -TERM 1; kill -ALRM 1; sleep 0.2; " +
        "ls /proc | grep -c '^[0-9]'",
    );
    // init (1), sh, ls and grep: nothing from the host; init ignored the signals.
    assert.equal(result.exitCode, 0);
    assert.ok(Number(stdout.trim()) <= 4, stdout);
    assert.doesNotMatch(stdout, /visible|readable|fds|forged/);
  });

  it("keeps the run's environment out of host process lists and bwrap's environment", async () => {
    const secret = `s3cret-${crypto.randomUUID()}`;
    let pid = 0;
    const seen: string[] = [];
    const { stdout } = await run(fx.store, [fx.base], 'echo "$API_TOKEN"; sleep 0.5', {
      env: { API_TOKEN: secret, LD_PRELOAD: "/nonexistent.so" },
      onSpawn: (info) => {
        pid = info.pid;
      },
      onChunk: () => {
        // The launcher and its live children: bwrap (its network helper has ended, as the
        // run has no networking). The command's own environment holds the value.
        const children = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim()
          .split(" ").filter((child) =>
            !/\) Z /.test(Deno.readTextFileSync(`/proc/${child}/stat`))
          );
        for (const process of [pid, ...children]) {
          for (const file of ["cmdline", "environ"]) {
            seen.push(Deno.readTextFileSync(`/proc/${process}/${file}`));
          }
        }
      },
    });
    assert.equal(stdout, `${secret}\n`);
    assert.match(seen[0], /\0launch\0/);
    assert.ok(seen.some((text) => /^[^\0]*bwrap\0/.test(text)), "bwrap's command line");
    assert.ok(!seen.some((text) => text.includes(secret) || text.includes("LD_PRELOAD")));
  });

  it("keeps the host's hostname", async () => {
    const before = Deno.hostname();
    const { stdout } = await run(fx.store, [fx.base], "hostname", { hostname: "inner" });
    assert.equal(stdout, "inner\n");
    assert.equal(Deno.hostname(), before);
  });
});
