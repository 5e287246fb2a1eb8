// Runs through a LauncherPool: warm launchers take each run's own limits and stdin, dead ones
// are replaced, and closing the pool leaves no process or cgroup behind.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { LauncherPool } from "../../server/sandbox/launcher_pool.ts";
import { defaultLimits } from "../../server/sandbox/run.ts";
import { type Fixture, makeFixture, run } from "./_sandbox_fixture.ts";

/** Pids of this process's children running the helper's `launch`, idle or not. */
async function launchers(): Promise<number[]> {
  const found: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`).catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const argv = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => ""))
      .split("\0");
    if (ppid === Deno.pid && argv[1] === "launch") found.push(Number(entry.name));
  }
  return found;
}

/** Run cgroups of this process (named after its pid) left in the pids hierarchy. */
async function runCgroups(): Promise<string[]> {
  const text = await Deno.readTextFile("/proc/self/mountinfo");
  const mount = text.split("\n").map((line) => line.split(" "))
    .find((f) => f[f.indexOf("-") + 1] === "cgroup" && f.at(-1)!.split(",").includes("pids"));
  const base = mount ? mount[4] : "/sys/fs/cgroup";
  const names: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isDirectory) continue;
      if (entry.name.startsWith(`contree-run-${Deno.pid}-`)) names.push(entry.name);
      else if (entry.name.startsWith("contree")) await walk(`${dir}/${entry.name}`);
    }
  };
  await walk(base);
  return names;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("LauncherPool", () => {
  let fx: Fixture;
  let pool: LauncherPool;
  before(async () => {
    fx = await makeFixture();
    pool = new LauncherPool(2, defaultLimits);
  });
  after(async () => {
    await pool.close();
    await fx.close();
  });

  it("keeps launchers warm and gives each run its own limits", async () => {
    const first = await run(fx.store, [fx.base], "echo one", { launchers: pool });
    assert.equal(first.stdout, "one\n");
    await until(async () => (await launchers()).length === 2, "two warm launchers");
    // A warm launcher was started with the default limits: this run's limit applies instead.
    const limited = await run(
      fx.store,
      [fx.base],
      "i=0; while [ $i -lt 60 ]; do sleep 4331 & i=$((i+1)); done 2>/dev/null; " +
        "set -- /proc/[0-9]*; echo $#",
      { launchers: pool, limits: { pids: 16 } },
    );
    assert.ok(Number(limited.stdout.trim()) <= 16, limited.stdout);
    const unlimited = await run(
      fx.store,
      [fx.base],
      "i=0; while [ $i -lt 60 ]; do sleep 4332 & i=$((i+1)); done 2>/dev/null; " +
        "set -- /proc/[0-9]*; echo $#",
      { launchers: pool },
    );
    assert.ok(Number(unlimited.stdout.trim()) > 60, unlimited.stdout);
  });

  it("passes stdin through a warm launcher; no stdin means /dev/null", async () => {
    await until(async () => (await launchers()).length === 2, "two warm launchers");
    const input = new TextEncoder().encode("over the pipe\n");
    const cat = await run(fx.store, [fx.base], "cat", { launchers: pool, stdin: input });
    assert.equal(cat.stdout, "over the pipe\n");
    const streamed = await run(fx.store, [fx.base], "cat", {
      launchers: pool,
      stdin: ReadableStream.from([input, input]),
    });
    assert.equal(streamed.stdout, "over the pipe\nover the pipe\n");
    const none = await run(fx.store, [fx.base], "cat; readlink /proc/self/fd/0", {
      launchers: pool,
    });
    assert.equal(none.stdout, "/dev/null\n");
  });

  it("replaces launchers that died while they waited", async () => {
    await until(async () => (await launchers()).length === 2, "two warm launchers");
    const killed = await launchers();
    for (const pid of killed) Deno.kill(pid, "SIGKILL");
    await until(async () => {
      const states = await Promise.all(killed.map(async (pid) => {
        const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => ") Z");
        return stat.slice(stat.lastIndexOf(")") + 2)[0];
      }));
      return states.every((state) => state === "Z");
    }, "the killed launchers to be dead");
    const after = await run(fx.store, [fx.base], "echo still fine", { launchers: pool });
    assert.equal(after.stdout, "still fine\n");
    assert.equal(after.result.exitCode, 0);
  });

  it("leaves no launcher and no cgroup behind once closed", async () => {
    await until(async () => (await launchers()).length === 2, "two warm launchers");
    assert.equal((await runCgroups()).length, 2);
    await pool.close();
    assert.deepEqual(await launchers(), []);
    assert.deepEqual(await runCgroups(), []);
    const cold = await run(fx.store, [fx.base], "echo without the pool", { launchers: pool });
    assert.equal(cold.stdout, "without the pool\n");
    assert.deepEqual(await launchers(), []);
  });
});
