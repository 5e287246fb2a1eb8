// The grep engine's budgets, on plain directories used as one-layer images: a pattern that
// backtracks without end is stopped by killing the child process, and the time, scan,
// result and line-length budgets end a search with truncated results.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DEFAULT_GREP_LIMITS,
  grepImage,
  type GrepLimits,
  parseGrepQuery,
} from "../../server/grep/mod.ts";

describe("server grep budgets", () => {
  let layer: string;
  const grep = (query: Record<string, string[]>, limits: Partial<GrepLimits> = {}) =>
    grepImage([layer], parseGrepQuery(query), { limits: { ...DEFAULT_GREP_LIMITS, ...limits } });
  const where = (matches: { path: string; line_number: number }[]) =>
    matches.map((m) => `${m.path}:${m.line_number}`);

  before(() => {
    layer = mkdtempSync(join(tmpdir(), "contree-grep-limits-"));
    mkdirSync(join(layer, "d"));
    writeFileSync(join(layer, "d/1-small.txt"), "needle one\nneedle two\nneedle three\n");
    writeFileSync(join(layer, "d/2-evil.txt"), `needle\n${"a".repeat(40)}b\n`);
    mkdirSync(join(layer, "big"));
    const filler = "x".repeat(99) + "\n";
    writeFileSync(join(layer, "big/a.txt"), `needle a\n${filler.repeat(1000)}`);
    writeFileSync(join(layer, "big/b.txt"), `needle b\n${filler.repeat(1000)}`);
    writeFileSync(
      join(layer, "long.txt"),
      `needle before\n${"y".repeat(300_000)}\nneedle after\n`,
    );
  });
  after(() => {
    if (layer) rmSync(layer, { recursive: true, force: true });
  });

  it("kills a search stuck in a backtracking pattern and keeps what it found", async () => {
    const result = await grep({ pattern: ["^needle (one|two)$", "(a+)+$"], path: ["/d"] }, {
      timeoutMs: 200,
    });
    assert.equal(result.truncated, true);
    assert.deepEqual(where(result.matches), ["/d/1-small.txt:1", "/d/1-small.txt:2"]);
  });

  it("stops at the scan budget", async () => {
    const all = await grep({ pattern: ["needle"], path: ["/big"] });
    assert.deepEqual(where(all.matches), ["/big/a.txt:1", "/big/b.txt:1"]);
    assert.equal(all.truncated, false);
    const cut = await grep({ pattern: ["needle"], path: ["/big"] }, { maxScanBytes: 150_000 });
    assert.deepEqual(where(cut.matches), ["/big/a.txt:1"]);
    assert.equal(cut.truncated, true);
  });

  it("stops at the result budget", async () => {
    const cut = await grep({ pattern: ["needle"], path: ["/d/1-small.txt"] }, {
      maxResultBytes: 25,
    });
    assert.deepEqual(where(cut.matches), ["/d/1-small.txt:1", "/d/1-small.txt:2"]);
    assert.equal(cut.truncated, true);
  });

  it("searches a file only up to a line longer than the line budget", async () => {
    const whole = await grep({ pattern: ["needle"], path: ["/long.txt"] });
    assert.deepEqual(where(whole.matches), ["/long.txt:1", "/long.txt:3"]);
    const cut = await grep({ pattern: ["needle"], path: ["/long.txt"] }, {
      maxLineBytes: 200_000,
    });
    assert.deepEqual(where(cut.matches), ["/long.txt:1"]);
    assert.equal(cut.truncated, true);
  });

  it("stops at the time budget", async () => {
    const cut = await grep({ pattern: ["needle"] }, { timeoutMs: 0 });
    assert.deepEqual(cut.matches, []);
    assert.equal(cut.truncated, true);
  });
});
