// The sandbox's seccomp filter and the host's keyrings: denied system calls fail with EPERM
// inside a run (and only there), the host root's keys stay invisible, and nothing a run does
// reaches the host's keyring.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type Fixture, makeFixture, run } from "./_sandbox_fixture.ts";
import type { SandboxFile } from "../../server/sandbox/run.ts";

const PROBE_SOURCE = fileURLToPath(new URL("./_syscall_probe.c", import.meta.url));

async function command(name: string, args: string[]): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await new Deno.Command(name, { args }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code, out: decode(stdout) + decode(stderr) };
}

/** `NAME RESULT` lines into a map. */
function results(text: string): Map<string, string> {
  return new Map(text.trim().split("\n").map((line) => line.split(" ") as [string, string]));
}

describe("sandbox seccomp filter", () => {
  let fx: Fixture;
  let dir: string;
  let probes: SandboxFile[];
  /** Runs /probe (or /probe32) in a sandbox and returns its results. */
  const runProbe = async (binary: "probe" | "probe32", ...args: string[]) => {
    const { stdout, stderr, result } = await run(fx.store, [fx.base], "", {
      command: `/${binary}`,
      args,
      files: probes,
      commit: false,
    });
    assert.equal(result.exitCode, 0, stderr);
    return results(stdout);
  };

  before(async () => {
    fx = await makeFixture();
    dir = await Deno.makeTempDir({ prefix: "contree-probe-" });
    const built = await command("gcc", ["-static", "-O2", "-o", `${dir}/probe`, PROBE_SOURCE]);
    assert.equal(built.code, 0, built.out);
    probes = ["probe", "probe32"].map((name) => ({
      path: `/${name}`,
      source: `${dir}/${name}`,
      mode: 0o755,
      uid: 0,
      gid: 0,
    }));
    // An i386 build where the kernel runs them (x86_64): the filter's second ABI. Elsewhere a
    // copy of the native one stands in, so both paths below exist.
    const i386 = Deno.build.arch === "x86_64"
      ? await command("gcc", ["-m32", "-static", "-O2", "-o", `${dir}/probe32`, PROBE_SOURCE])
      : await command("cp", [`${dir}/probe`, `${dir}/probe32`]);
    assert.equal(i386.code, 0, i386.out);
  });
  after(async () => {
    await fx.close();
    await Deno.remove(dir, { recursive: true });
  });

  it("fails each denied call with EPERM inside, where the host's kernel gives other errors", async () => {
    const host = results((await command(`${dir}/probe`, ["denied"])).out);
    const inside = await runProbe("probe", "denied");
    assert.ok(inside.size >= 20, `${[...inside]}`);
    assert.deepEqual([...inside.keys()], [...host.keys()]);
    for (const [name, outcome] of inside) {
      assert.equal(outcome, "EPERM", `${name} inside: ${outcome}`);
      assert.notEqual(host.get(name), "EPERM", `${name} on the host: the arguments must not`);
    }
  });

  it("does the same for i386 programs, with their own system call numbers", async () => {
    const host = results((await command(`${dir}/probe32`, ["denied"])).out);
    const inside = await runProbe("probe32", "denied");
    assert.deepEqual([...inside.keys()], [...host.keys()]);
    for (const [name, outcome] of inside) {
      assert.equal(outcome, "EPERM", `${name} inside: ${outcome}`);
      assert.notEqual(host.get(name), "EPERM", `${name} on the host: the arguments must not`);
    }
  });

  it("denies nested user namespaces, keeps fork and reading the clock", async () => {
    for (const binary of ["probe", "probe32"] as const) {
      assert.deepEqual(Object.fromEntries(await runProbe(binary, "allowed")), {
        unshare_newuser: "EPERM",
        clone3: "ENOSYS",
        adjtimex_read: "ok",
        adjtimex_set: "EPERM",
        clock_adjtime_set: "EPERM",
        fork: "ok",
      }, binary);
    }
  });

  it("hides the host root's keys and keeps a run's keys off the host", async () => {
    const name = `contree-test-${crypto.randomUUID()}`;
    const added = await command("keyctl", ["add", "user", name, "host secret", "@u"]);
    assert.equal(added.code, 0, added.out);
    const id = added.out.trim();
    try {
      // The key is there for host root: the search below would find it without the filter.
      assert.equal((await command("keyctl", ["search", "@u", "user", name])).out.trim(), id);
      const inside = await runProbe("probe", "keys", name);
      assert.deepEqual(Object.fromEntries(inside), {
        keyctl_search: "EPERM",
        add_key: "EPERM",
        request_key: "EPERM",
      });
      const { stdout } = await run(fx.store, [fx.base], "cat /proc/keys; echo end", {
        commit: false,
      });
      assert.equal(stdout, "end\n");
      const leaked = await command("keyctl", ["search", "@u", "user", `run-${name}`]);
      assert.notEqual(leaked.code, 0, leaked.out);
    } finally {
      await command("keyctl", ["unlink", id, "@u"]);
    }
  });
});
