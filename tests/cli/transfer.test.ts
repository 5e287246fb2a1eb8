// Transfers: progress bars drawn under a pseudo-terminal (`script`) and absent when piped or
// with -f json, for downloads (cp, cat), uploads (--file, file cp) and imports; and `cp`
// resuming with Range requests through a loopback proxy that cuts connections.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { type Fault, startFaultProxy } from "../core/_fault_proxy.ts";
import { buildImage, type Registry, startRegistry, tarOf } from "../server/_registry.ts";
import {
  type CliFixture,
  collect,
  commandLine,
  type Mode,
  ROOT,
  scriptLine,
  startCli,
} from "./_cli.ts";

const BAR =
  /\[[=-]{24}\] \d+% \| [\d.]+ (B|KiB|MiB) ?\/[\d.]+ (B|KiB|MiB) \| [\d.]+ (B|KiB|MiB)\/s \| ETA/;

/** Runs `contree ARGS` with its stdout and stderr on a pseudo-terminal (`script`). */
function underPty(t: CliFixture, mode: Mode, args: string[]) {
  const quote = (word: string) => `'${word.replaceAll("'", `'"'"'`)}'`;
  const line = [...commandLine(mode), ...args].map(quote).join(" ");
  return collect(["script", "-qefc", `stty cols 200; ${line}`, "/dev/null"], {
    env: {
      ...process.env,
      CONTREE_HOME: t.home,
      CONTREE_SESSION: "pty",
      NO_COLOR: "1",
      TERM: "xterm",
    },
    cwd: t.scratch,
  });
}

/**
 * A proxy to `target` that breaks the first download answers as `faults` say, and records the
 * requests' Range headers.
 */
async function downloadFaults(target: string, faults: Fault[]) {
  const ranges: string[] = [];
  const proxy = await startFaultProxy(target, {
    fault({ path, head }) {
      if (!/^\/v1\/inspect\/[^/]+\/download/.test(path)) return undefined;
      ranges.push(/\r\nrange: *([^\r]*)/i.exec(head)?.[1] ?? "");
      return faults.shift();
    },
  });
  return Object.assign(proxy, { ranges });
}

describe("contree transfers", () => {
  let t: CliFixture;
  let registry: Registry;
  const SIZE = 24 << 20;

  before(async () => {
    registry = await startRegistry();
    t = await startCli(["--insecure-registry", registry.host]);
    for (const session of ["pty", "piped"]) {
      const env = { CONTREE_SESSION: session };
      assert.equal((await t.run("deno", ["use", "tag:busybox:latest"], { env })).code, 0);
      const made = await t.run("deno", ["run", "-s", "--", `head -c ${SIZE} /dev/urandom > /big`], {
        env,
      });
      assert.equal(made.code, 0, made.stderr);
    }
    writeFileSync(
      join(t.scratch, "upload.bin"),
      new Uint8Array(6 << 20).map((_, i) => (i * 31) & 0xff),
    );
  });
  after(async () => {
    await t?.dispose();
    await registry?.stop();
  });

  for (const mode of ["binary", "deno"] as Mode[]) {
    it(`draws progress bars on a terminal (${mode})`, async () => {
      const cp = await underPty(t, mode, ["cp", "/big", `big-${mode}.bin`]);
      assert.equal(cp.code, 0, cp.stdout);
      assert.match(cp.stdout, BAR);
      assert.match(cp.stdout, /cp big \[/);
      assert.equal(readFileSync(join(t.scratch, `big-${mode}.bin`)).length, SIZE);
      writeFileSync(join(t.scratch, `up-${mode}.bin`), new Uint8Array(5 << 20).fill(mode.length));
      const upload = await underPty(t, mode, [
        "run",
        "-D",
        "--file",
        `up-${mode}.bin:/up.bin`,
        "--",
        "true",
      ]);
      assert.equal(upload.code, 0, upload.stdout);
      assert.match(upload.stdout, /upload up-\w+\.bin \[/);
      assert.match(upload.stdout, BAR);
      const staged = await underPty(t, mode, ["file", "cp", "upload.bin", "/staged.bin"]);
      assert.equal(staged.code, 0, staged.stdout);
      const cat = await underPty(t, mode, ["cat", "/big"]);
      assert.match(cat.stdout, /cat big \[/);
    });

    it(`draws no progress when piped or with -f json (${mode})`, async () => {
      const env = { CONTREE_SESSION: "piped" };
      const piped = await t.run(mode, ["cp", "/big", `piped-${mode}.bin`], { env });
      assert.equal(piped.code, 0, piped.stderr);
      assert.doesNotMatch(piped.stderr, /ETA/);
      assert.equal(readFileSync(join(t.scratch, `piped-${mode}.bin`)).length, SIZE);
      const json = await underPty(t, mode, ["-f", "json", "cp", "/big", `json-${mode}.bin`]);
      assert.equal(json.code, 0, json.stdout);
      assert.doesNotMatch(json.stdout, /ETA/);
      assert.match(json.stdout, /"size":25165824/);
    });
  }

  it("shows import progress on a terminal and none when piped", async () => {
    const files = Array.from({ length: 3 }, (_, i) => ({
      name: `data/f${i}`,
      content: new Uint8Array(1 << 20).fill(i + 1),
    }));
    await registry.pushImage(
      "cli/progress",
      "1",
      buildImage({ layers: files.map((f) => tarOf([f])) }),
    );
    await registry.pushImage("cli/progress", "2", buildImage({ layers: [tarOf([files[0]])] }));
    const shown = await underPty(t, "binary", [
      "images",
      "import",
      `${registry.host}/cli/progress:1`,
    ]);
    assert.equal(shown.code, 0, shown.stdout);
    assert.match(shown.stdout, /import cli\/progress:1 \[/);
    assert.match(shown.stdout, /100%/);
    const piped = await t.run("deno", ["images", "import", `${registry.host}/cli/progress:2`]);
    assert.equal(piped.code, 0, piped.stderr);
    assert.doesNotMatch(piped.stderr, /ETA/);
    assert.match(piped.stdout, /cli\/progress:2\s+\S+\s+SUCCESS/);
  });

  for (const mode of ["binary", "deno"] as const) {
    it(`cp resumes with Range requests after the connection breaks (${mode})`, async () => {
      const proxy = await downloadFaults(
        t.backend.url,
        [1 << 20, 5_000_123, 9 << 20].map((after) => ({ after, then: "cut" })),
      );
      try {
        const env = { CONTREE_SESSION: "piped" };
        const direct = await t.run("deno", ["cp", "/big", "direct.bin"], { env });
        assert.equal(direct.code, 0, direct.stderr);
        proxy.ranges.length = 0;
        const resumed = await t.run(mode, [
          "--url",
          proxy.url,
          "-L",
          "debug",
          "cp",
          "/big",
          "resumed.bin",
        ], {
          env,
        });
        assert.equal(resumed.code, 0, resumed.stderr);
        assert.match(resumed.stderr, /resuming/);
        assert.deepEqual(
          readFileSync(join(t.scratch, "resumed.bin")),
          readFileSync(join(t.scratch, "direct.bin")),
        );
        assert.equal(proxy.ranges[0], "");
        assert.equal(proxy.ranges.length, 4);
        for (const range of proxy.ranges.slice(1)) assert.match(range, /^bytes=\d+-$/);
      } finally {
        await proxy.close();
      }
    });
  }

  // The command line keeps the default stall limit (five minutes); its download is driven
  // here with one of a second, in each runtime: Bun's native write watches the file's size,
  // the others the SDK's idle timeout.
  for (const runtime of ["bun", "deno", "node"] as const) {
    it(`cp gives up on a stalled connection and resumes (${runtime})`, async () => {
      const proxy = await downloadFaults(t.backend.url, [
        { after: 3 << 20, then: "stall" },
        { after: 7_000_001, then: "cut" },
      ]);
      try {
        const env = { CONTREE_SESSION: "piped" };
        const direct = await t.run("deno", ["cp", "/big", `direct-${runtime}.bin`], { env });
        assert.equal(direct.code, 0, direct.stderr);
        const session = await t.run("deno", ["-f", "json", "use"], { env });
        const image = JSON.parse(session.stdout).current_image;
        const dest = join(t.scratch, `stalled-${runtime}.bin`);
        const resumed = await collect([
          ...scriptLine(runtime, join(ROOT, "tests/cli/_resume.ts")),
          proxy.url,
          t.backend.token,
          image,
          "/big",
          dest,
          "1000",
        ], { env: process.env, cwd: t.scratch });
        assert.equal(resumed.code, 0, resumed.stderr);
        assert.equal(resumed.stdout.trim(), String(SIZE));
        assert.match(resumed.stderr, /\(request timed out after 1000 ms\); resuming/);
        assert.deepEqual(
          readFileSync(dest),
          readFileSync(join(t.scratch, `direct-${runtime}.bin`)),
        );
        assert.equal(proxy.ranges.length, 3);
        for (const range of proxy.ranges.slice(1)) assert.match(range, /^bytes=\d+-$/);
      } finally {
        await proxy.close();
      }
    });
  }
});
