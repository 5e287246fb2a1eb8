// Memory that cannot sink the host: every sandbox of a server lives under one parent cgroup
// capped at --memory-total; a run's default limit is its share; a hog is OOM-killed alone and
// reported (exit event, result state, error naming the limits) while other runs carry on.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { configureSandboxMemory, defaultLimits, memoryTotal } from "../../server/sandbox/run.ts";
import { type Backend, startBackend } from "./_backend.ts";
import { call, events, spawn, text, waitOp } from "./_api.ts";
import { type Fixture, makeFixture, run } from "./_sandbox_fixture.ts";

const MiB = 1024 * 1024;
/** Doubles a string until the OOM killer stops it. */
const HOG = "awk 'BEGIN { s = \"xxxxxxxxxxxxxxxx\"; while (1) s = s s }'";

/** The memory cgroup hierarchy: its mount point and its version. */
function memoryHierarchy(): { mount: string; version: 1 | 2 } {
  const lines = Deno.readTextFileSync("/proc/self/mountinfo").split("\n").map((l) => l.split(" "));
  const v1 = lines.find((f) =>
    f[f.indexOf("-") + 1] === "cgroup" && f.at(-1)!.split(",").includes("memory")
  );
  if (v1) return { mount: v1[4], version: 1 };
  return { mount: lines.find((f) => f[f.indexOf("-") + 1] === "cgroup2")![4], version: 2 };
}

/** The memory cgroup directory of process `pid`, on the host. */
function memoryCgroupOf(pid: number): string {
  const { mount, version } = memoryHierarchy();
  const line = Deno.readTextFileSync(`/proc/${pid}/cgroup`).split("\n").find((l) => {
    const [id, names] = l.split(":");
    return version === 2 ? id === "0" : names.split(",").includes("memory");
  })!;
  return `${mount}${line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1)}`.replace(/\/$/, "");
}

function memoryLimit(dir: string): number {
  const file = memoryHierarchy().version === 1 ? "memory.limit_in_bytes" : "memory.max";
  return Number(Deno.readTextFileSync(`${dir}/${file}`).trim());
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

describe("sandbox memory: one capped parent cgroup", () => {
  let fx: Fixture;
  const saved = { total: memoryTotal() };
  before(async () => {
    fx = await makeFixture();
  });
  after(async () => {
    await configureSandboxMemory({
      totalBytes: saved.total,
      maxConcurrent: 4 * navigator.hardwareConcurrency,
    });
    await fx.close();
  });

  it("caps all runs together even above their own limits, and names the OOM kill", async () => {
    await configureSandboxMemory({ totalBytes: 96 * MiB, maxConcurrent: 2 });
    assert.equal(defaultLimits().memoryBytes, 48 * MiB);
    const parent = `${memoryCgroupOf(Deno.pid)}/contree-sandboxes-${Deno.pid}`;
    assert.equal(memoryLimit(parent), 96 * MiB);
    // The run's own limit (1 GiB) is far above the parent's: the parent's cap stops it.
    const { result } = await run(fx.store, [fx.base], HOG, {
      limits: { memoryBytes: 1024 * MiB },
      commit: false,
    });
    assert.equal(result.signal, 9);
    assert.equal(result.exitCode, -1);
    assert.equal(result.oomKilled, true);
    assert.ok(
      result.resources.max_rss_kb * 1024 < 2 * 96 * MiB,
      String(result.resources.max_rss_kb),
    );
    const fine = await run(fx.store, [fx.base], "echo fine", { commit: false });
    assert.equal(fine.stdout, "fine\n");
    assert.equal(fine.result.oomKilled, false);
  });
});

describe("server memory: --memory-total, shares, OOM reporting", () => {
  let b: Backend;
  const total = 768 * MiB;
  before(async () => {
    b = await startBackend({ args: ["--memory-total", String(total), "--max-concurrent", "3"] });
  });
  after(async () => {
    await b?.dispose();
  });

  it("runs live under the server's own parent cgroup, capped at the total", async () => {
    const parent = `${memoryCgroupOf(b.pid)}/contree-sandboxes-${b.pid}`;
    assert.equal(memoryLimit(parent), total);
    const uuid = await spawn(b, { command: "sleep 30", shell: true, disposable: true });
    try {
      let runDir: string | undefined;
      for (let i = 0; i < 400 && !runDir; i++) {
        // The sandbox's processes: members of a run cgroup under the parent.
        for (const entry of Deno.readDirSync(parent)) {
          const dir = `${parent}/${entry.name}`;
          if (!entry.isDirectory || !entry.name.startsWith(`contree-run-${b.pid}-`)) continue;
          const pids = Deno.readTextFileSync(`${dir}/cgroup.procs`).trim().split("\n")
            .filter(Boolean).map(Number);
          const sleeping = pids.some((pid) => {
            const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
            return argv[0] === "sleep" && argv[1] === "30";
          });
          if (sleeping) runDir = dir;
        }
        if (!runDir) await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(runDir, "the run's processes are in a run cgroup under the server's parent");
      // The default limit of a run is its share: total / max-concurrent.
      assert.equal(memoryLimit(runDir), total / 3);
    } finally {
      await call(b, "DELETE", `/v1/operations/${uuid}`);
      await waitOp(b, uuid);
    }
  });

  it("OOM-kills a hog alone and reports it, while a concurrent run completes", async () => {
    const [hog, worker] = await Promise.all([
      spawn(b, { command: HOG, shell: true }),
      spawn(b, {
        command: "i=0; while [ $i -lt 20 ]; do echo $i > /f; i=$((i+1)); sleep 0.1; done; cat /f",
        shell: true,
      }),
    ]);
    const [hogOp, workerOp] = await Promise.all([waitOp(b, hog), waitOp(b, worker)]);
    assert.equal(hogOp.status, "FAILED");
    assert.match(hogOp.error, /out of memory/);
    assert.match(hogOp.error, new RegExp(`${total / 3} bytes a run, ${total} bytes all runs`));
    assert.equal(hogOp.result_image_uuid, null);
    const state = hogOp.metadata.result.state;
    assert.equal(state.exit_code, -1);
    assert.equal(state.signal, 9);
    assert.equal(state.timed_out, false);
    const exit = (await events(b, hog)).find((e) => e.type === "exit")!;
    assert.equal(exit.data.code, -1);
    assert.equal(exit.data.signal, 9);
    const completion = (await events(b, hog)).find((e) => e.type === "completion")!;
    assert.equal(completion.data.status, "FAILED");

    assert.equal(workerOp.status, "SUCCESS", JSON.stringify(workerOp));
    assert.equal(workerOp.metadata.result.state.exit_code, 0);
    assert.equal(text(workerOp.metadata.result.stdout), "19\n");
    // The server carries on.
    const after = await spawn(b, { command: "echo alive", shell: true, disposable: true });
    assert.equal((await waitOp(b, after)).status, "SUCCESS");
  });

  it("removes its parent cgroup when it stops", async () => {
    const parent = `${memoryCgroupOf(b.pid)}/contree-sandboxes-${b.pid}`;
    assert.ok(exists(parent));
    await b.stop();
    assert.ok(!exists(parent), `${parent} is left behind`);
  });
});
