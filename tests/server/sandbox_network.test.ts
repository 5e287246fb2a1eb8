// A sandbox's network: without networking only its own loopback; with it, the outside world
// through pasta (DNS to the host's resolver here) and still nothing on the host's loopback.
// Traffic goes only to 127.0.0.1/::1, to the host's DNS resolver, and into the sandbox's own
// namespace: nothing probes the gateway or any other address.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Fixture, makeFixture, run } from "./_sandbox_fixture.ts";

/** Listeners on the host's 127.0.0.1 and ::1 that count their connections. */
function hostListeners() {
  let connections = 0;
  const listeners = [
    Deno.listen({ hostname: "127.0.0.1", port: 0 }),
    Deno.listen({ hostname: "::1", port: 0 }),
  ];
  const serving = listeners.map(async (listener) => {
    for await (const conn of listener) {
      connections++;
      await conn.write(new TextEncoder().encode("from host\n")).catch(() => {});
      conn.close();
    }
  });
  return {
    ports: listeners.map((listener) => listener.addr.port),
    get connections() {
      return connections;
    },
    async close() {
      for (const listener of listeners) listener.close();
      await Promise.allSettled(serving);
    },
  };
}

/** The host's first resolver that is not on its loopback (DNS through pasta reaches it). */
async function hostResolver(): Promise<string> {
  const conf = await Deno.readTextFile("/etc/resolv.conf");
  const servers = [...conf.matchAll(/^nameserver\s+(\S+)/gm)].map((match) => match[1]);
  const resolver = servers.find((server) => !/^127\.|^::1$/.test(server));
  assert.ok(resolver, `the host has no resolver off its loopback: ${servers.join(", ")}`);
  return resolver;
}

describe("sandbox network", () => {
  let fx: Fixture;
  before(async () => {
    fx = await makeFixture();
  });
  after(() => fx.close());

  it("never reaches the host's loopback, with networking or without", async () => {
    const host = hostListeners();
    try {
      const [v4, v6] = host.ports;
      const script = `nc -w 2 127.0.0.1 ${v4} </dev/null; echo "v4=$?"; ` +
        `nc -w 2 ::1 ${v6} </dev/null; echo "v6=$?"; ip -o link | grep -vc ': lo:'; ip route`;
      const off = await run(fx.store, [fx.base], script, { commit: false });
      // Only its loopback: no other interface, no route.
      assert.equal(off.stdout, "v4=1\nv6=1\n0\n", off.stderr);
      const on = await run(fx.store, [fx.base], script, { network: true, commit: false });
      // Connected to the outside (an interface and a default route), yet both refused: the
      // namespace's loopback is its own and nothing is forwarded to the host's.
      assert.match(on.stdout, /^v4=1\nv6=1\n1\n(.|\n)*^default via /m, on.stderr);
      assert.match(on.stderr, /Connection refused/);
      assert.equal(host.connections, 0);
    } finally {
      await host.close();
    }
  });

  it("resolves names with networking, and cannot without", async () => {
    const resolver = await hostResolver();
    const lookup =
      "nslookup deb.debian.org >/tmp/out 2>&1; echo rc=$?; grep -c '^Address' /tmp/out";
    const on = await run(fx.store, [fx.base], lookup, { network: true, commit: false });
    assert.match(on.stdout, /^rc=0\n[1-9]/, on.stderr);
    // Even with a resolver named, no network: no answer.
    const script = `echo 'nameserver ${resolver}' > /etc/resolv.conf; ${lookup}`;
    const off = await run(fx.store, [fx.base], script, { commit: false });
    assert.match(off.stdout, /^rc=[1-9]/);
  });

  it("lends a run the host's resolver configuration, never kept in the image", async () => {
    const host = await Deno.readTextFile("/etc/resolv.conf");
    const script = "cat /etc/resolv.conf; nslookup deb.debian.org >/dev/null 2>&1; " +
      "echo rc=$?; echo changed > /x";
    // The base image's own (empty) file is covered for the run and left as it was.
    const own = await run(fx.store, [fx.base], script, { network: true });
    assert.equal(own.stdout, `${host}rc=0\n`, own.stderr);
    assert.equal(await Deno.readTextFile(`${fx.store.path(fx.base)}/etc/resolv.conf`), "");
    // An image without one: the mount point bwrap makes, and the /etc copied up for it, are
    // not part of the result; the run's own change is.
    const none = await run(fx.store, [fx.base], "rm /etc/resolv.conf");
    const missing = await run(fx.store, [fx.base, none.layer!], script, { network: true });
    assert.equal(missing.stdout, `${host}rc=0\n`, missing.stderr);
    const layer = fx.store.path(missing.layer!);
    assert.equal(await Deno.readTextFile(`${layer}/x`), "changed\n");
    await assert.rejects(Deno.lstat(`${layer}/etc`), Deno.errors.NotFound);
    const after = await run(
      fx.store,
      [fx.base, none.layer!, missing.layer!],
      "test -e /etc/resolv.conf; echo $?",
      { commit: false },
    );
    assert.equal(after.stdout, "1\n");
  });

  it("runs pasta with no path to the host, and ends it with the run", async () => {
    let launcher = 0;
    const pastas = new Set<number>();
    const commandLines: string[] = [];
    const { stdout } = await run(fx.store, [fx.base], "echo up; sleep 0.3", {
      network: true,
      commit: false,
      onSpawn: (info) => {
        launcher = info.pid;
      },
      onChunk: () => {
        // pasta is the launcher's child while the run goes on.
        const children = Deno.readTextFileSync(`/proc/${launcher}/task/${launcher}/children`);
        for (const pid of children.trim().split(" ").map(Number)) {
          const comm = Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
          if (!comm.startsWith("passt") || pastas.has(pid)) continue;
          pastas.add(pid);
          commandLines.push(Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").join(" "));
        }
      },
    });
    assert.equal(stdout, "up\n");
    assert.equal(pastas.size, 1);
    // Traffic to the gateway's address (never sent here) goes to the real gateway rather than
    // to the host's loopback, and no port is forwarded either way: the defaults would.
    const options = [
      "--no-map-gw",
      ...["--tcp-ports none", "--udp-ports none", "--tcp-ns none", "--udp-ns none"],
    ];
    for (const option of options) {
      assert.ok(commandLines[0].includes(option), `${option} in ${commandLines[0]}`);
    }
    // Killed by its parent-death signal once the launcher has ended: gone, or a zombie.
    const alive = (pid: number) => {
      try {
        const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
        return !/^\d+ \(.*\) [ZX] /.test(stat);
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 100 && [...pastas].some(alive); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual([...pastas].filter(alive), []);
  });

  it("lets any user serve on a low port of its own namespace", async () => {
    const { stdout, stderr } = await run(
      fx.store,
      [fx.base],
      "(nc -l -p 80 >/tmp/got &); sleep 0.3; echo hello | nc -w 1 127.0.0.1 80; " +
        "sleep 0.2; cat /tmp/got",
      { network: true, commit: false, uid: 1000, gid: 1000 },
    );
    assert.equal(stdout, "hello\n", stderr);
  });
});
