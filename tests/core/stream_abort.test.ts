// Aborting a signal ends a streamed response even after the Response object itself became
// garbage (Deno unhooks the abort then, unless the body keeps its Response alive).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import process from "node:process";

/** This runtime, started again with the garbage collector exposed, on `script`. */
function sameRuntime(script: string): [string, string[]] {
  const runtime = process.versions as Record<string, string | undefined>;
  if (runtime.deno) {
    return [process.execPath, ["run", "-A", "--no-check", "--v8-flags=--expose-gc", script]];
  }
  if (runtime.bun) return [process.execPath, [script]];
  return [process.execPath, ["--expose-gc", "--import", "tsx", script]];
}

describe("streamed responses", () => {
  it("end on abort after a garbage collection", () => {
    const script = new URL("./_abort_after_gc.ts", import.meta.url).pathname;
    const [command, args] = sameRuntime(script);
    const output = execFileSync(command, args, { encoding: "utf8", timeout: 60_000 });
    const outcome = JSON.parse(output.trim().split("\n").at(-1)!);
    assert.deepEqual(outcome, {
      followOperationEvents: "aborted",
      downloadStream: "aborted",
      archive: "aborted",
    });
  });
});
