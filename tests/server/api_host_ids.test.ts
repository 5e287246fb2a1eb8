// From the host, while a run sleeps: every process of its sandbox runs as a host user of the
// server's mapped range, never as host root (nor, without root, as the server's own user).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Backend, startBackend } from "./_backend.ts";
import { call, spawn, waitOp } from "./_api.ts";
import { descendants, hostIds } from "./_host_procs.ts";

describe("host ids of a run", () => {
  let b: Backend;
  before(async () => {
    b = await startBackend();
  });
  after(() => b?.dispose());

  it("are in the server's mapped range, never 0", async () => {
    const range = /sandboxes map ids 0-65535 to host uids (\d+)-(\d+) and gids (\d+)-(\d+)/
      .exec(b.logs());
    assert.ok(range, b.logs());
    const [uidFirst, uidLast, gidFirst, gidLast] = range.slice(1).map(Number);
    const uuid = await spawn(b, { command: "sleep 3 & sleep 3; wait", shell: true, uid: 1000 });
    let seen = new Map<number, [number[], number[]]>();
    for (let tries = 0; tries < 100 && seen.size < 4; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const op = await call(b, "GET", `/v1/operations/${uuid}`);
      if (op.body.status !== "EXECUTING") continue;
      // The sandbox: bwrap (its root) and everything below it.
      const bwraps = descendants(b.pid).filter((pid) => {
        try {
          return Deno.readTextFileSync(`/proc/${pid}/comm`).trim() === "bwrap";
        } catch {
          return false;
        }
      });
      seen = new Map();
      for (const pid of bwraps.flatMap((pid) => [pid, ...descendants(pid)])) {
        try {
          seen.set(pid, hostIds(pid));
        } catch {
          // Gone meanwhile.
        }
      }
    }
    assert.ok(seen.size >= 4, `bwrap, init, sh and sleeps: ${[...seen.keys()]}`);
    for (const [pid, [uids, gids]] of seen) {
      assert.ok(uids.every((id) => id >= uidFirst && id <= uidLast && id !== 0), `${pid}: ${uids}`);
      assert.ok(gids.every((id) => id >= gidFirst && id <= gidLast && id !== 0), `${pid}: ${gids}`);
    }
    // The command itself runs as sandbox uid 1000.
    assert.ok([...seen.values()].some(([uids]) => uids[0] === uidFirst + 1000));
    assert.equal((await waitOp(b, uuid)).status, "SUCCESS");
  });
});
