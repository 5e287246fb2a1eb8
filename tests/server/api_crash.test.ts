// kill -9 of the server in the middle of runs, then a restart: completed images intact,
// interrupted operations FAILED, no temporary leftovers, no orphan sandbox processes.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LayerStore } from "../../server/images/layer_store.ts";
import { type Backend, startBackend } from "./_backend.ts";
import { call, events, request, run, spawn, waitOp, waitOutput } from "./_api.ts";

/** PIDs of processes whose command line contains `marker`. */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, "utf8").includes(marker)) pids.push(Number(name));
    } catch { /* gone */ }
  }
  return pids;
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

describe("server crash recovery", () => {
  let b: Backend;

  before(async () => {
    b = await startBackend({ args: ["--max-concurrent", "3"] });
  });
  after(async () => {
    await b?.dispose();
  });

  it("survives kill -9 mid-run", async () => {
    const kept = await run(b, { command: "echo keep > /keep", shell: true });
    assert.equal(kept.status, "SUCCESS");

    const marker = `crash-marker-${crypto.randomUUID()}`;
    const sleeper = await spawn(b, { command: `echo up; sleep 300; echo ${marker}`, shell: true });
    await waitOutput(b, sleeper, "up");
    assert.ok(processesWith(marker).length > 0, "the sandboxed shell runs");

    // A burst of writers in every state (running, queued, committing) at the moment of the kill.
    const writers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        spawn(b, {
          command: `head -c ${(i + 1) * 200_000} /dev/zero > /blob; echo w${i} > /w`,
          shell: true,
        })),
    );
    await waitOp(b, writers[0]);
    await b.kill9();

    assert.ok(
      await until(() => processesWith(marker).length === 0, 10_000),
      "sandbox processes die with the server",
    );

    await b.restart();
    const failed = await waitOp(b, sleeper);
    assert.equal(failed.status, "FAILED");
    assert.match(failed.error, /server restarted/);
    assert.equal(failed.result_image_uuid, null);
    const log = await events(b, sleeper);
    assert.equal(log.at(-1)!.type, "completion");
    assert.equal(log.at(-1)!.data.status, "FAILED");
    assert.deepEqual(log.map((e) => e.id), log.map((_, i) => i));

    const keep = await request(
      b,
      "GET",
      `/v1/inspect/${kept.result_image_uuid}/download?path=/keep`,
    );
    assert.equal(await keep.text(), "keep\n");

    for (const [i, uuid] of writers.entries()) {
      const op = await waitOp(b, uuid);
      if (op.status === "SUCCESS") {
        const res = await request(
          b,
          "GET",
          `/v1/inspect/${op.result_image_uuid}/download?path=/w`,
        );
        assert.equal(await res.text(), `w${i}\n`, `image of writer ${i}`);
        const size = await call(
          b,
          "GET",
          `/v1/inspect/${op.result_image_uuid}/list?path=/`,
        );
        const blob = size.body.files.find((f: { path: string }) => f.path === "blob");
        assert.equal(blob.size, (i + 1) * 200_000);
      } else {
        assert.equal(op.status, "FAILED", `writer ${i}`);
        assert.match(op.error, /server restarted/);
      }
    }

    assert.deepEqual(entries(join(b.dataDir, "blobs", "tmp")), []);
    assert.deepEqual(entries(join(b.dataDir, "work")), []);
    assert.deepEqual(entries(join(b.dataDir, "tmp")), []);

    const after = await run(b, {
      image: kept.result_image_uuid,
      command: "cat /keep",
      disposable: true,
    });
    assert.equal(after.status, "SUCCESS");
  });

  it("removes layers no image or import record refers to (a crash before the record)", async () => {
    const kept = await run(b, { command: "echo kept > /kept", shell: true });
    await b.stop();
    // What a crash between publishing a layer and recording its image leaves, and a layer
    // that only the import cache remembers (kept for a later import).
    const layers = new LayerStore(b.dataDir);
    const commitLayer = async (name: string) => {
      const ws = layers.createWorkspace();
      await Deno.writeTextFile(join(ws.upperDir, name), name);
      return (await layers.commit(ws.id))!;
    };
    const orphan = await commitLayer("orphan");
    const cached = await commitLayer("cached");
    await Deno.writeTextFile(
      join(b.dataDir, "imports", "layers", `sha256-${"ab".repeat(32)}.json`),
      JSON.stringify({ layer: cached, rootOpaque: false }),
    );
    const logged = b.logs().length;
    await b.restart();

    const left = entries(join(b.dataDir, "layers"));
    assert.ok(!left.includes(orphan), "the orphan layer is gone");
    assert.ok(!left.includes(`${orphan}.json`), "with its sidecar");
    assert.ok(left.includes(cached), "a layer the import cache points at stays");
    assert.match(b.logs().slice(logged), /removed 1 layer\(s\) no image refers to/);
    const read = await request(
      b,
      "GET",
      `/v1/inspect/${kept.result_image_uuid}/download?path=/kept`,
    );
    assert.equal(await read.text(), "kept\n");
  });
});
