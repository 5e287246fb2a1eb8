// `contree file cp DIR` of many small files (new content every run, so that each one is looked
// up and uploaded) against a baseline in the same run: one Deno process that posts the same
// files with fetch, one after another, as buffers. Medians of RUNS runs, for the binary and
// the Deno entry; the time per file is printed beside the ratio.
//   deno run -A bench/cli_upload.ts [RUNS] [FILES]
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { commandLine, startCli } from "../tests/cli/_cli.ts";
import { median } from "./_wire_bench.ts";

const runs = Number(Deno.args[0] ?? 5);
const count = Number(Deno.args[1] ?? 300);

const fixture = await startCli();
const { backend, home, scratch } = fixture;
const env = { ...Deno.env.toObject(), CONTREE_HOME: home, CONTREE_SESSION: "bench", NO_COLOR: "1" };
let generation = 0;

/** A directory of `count` new small files; returns its path. */
function freshFiles(): string {
  const dir = join(scratch, "files");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  generation++;
  for (let i = 0; i < count; i++) writeFileSync(join(dir, `f${i}.txt`), `${generation} ${i}\n`);
  return dir;
}

/** Seconds of the baseline: the files posted by fetch, one after another. */
async function baseline(dir: string): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${backend.url}/v1/files`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${backend.token}`,
        "content-type": "application/octet-stream",
      },
      body: readFileSync(join(dir, `f${i}.txt`)),
    });
    if (!response.ok) throw new Error(`upload: ${response.status}`);
    await response.arrayBuffer();
  }
  return (performance.now() - started) / 1000;
}

/** Seconds of `contree file cp DIR /files`. */
function contree(cli: string[], dir: string): number {
  const started = performance.now();
  const result = spawnSync(cli[0], [...cli.slice(1), "file", "cp", dir, "/files"], {
    env,
    cwd: scratch,
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`contree file cp: ${result.stderr}`);
  return (performance.now() - started) / 1000;
}

try {
  const used = await fixture.run("deno", ["use", "tag:busybox:latest"], {
    env: { CONTREE_SESSION: "bench" },
  });
  if (used.code !== 0) throw new Error(used.stderr);
  for (
    const [name, cli] of [["binary", commandLine("binary")], [
      "deno run",
      commandLine("deno"),
    ]] as const
  ) {
    const base: number[] = [];
    const cp: number[] = [];
    for (let i = 0; i < runs; i++) {
      base.push(await baseline(freshFiles()));
      cp.push(contree(cli, freshFiles()));
    }
    const ratio = median(cp) / median(base);
    console.log(
      `${name}: ${count} files: fetch one after another ${median(base).toFixed(2)} s, contree ` +
        `file cp ${median(cp).toFixed(2)} s (${(median(cp) / count * 1000).toFixed(2)} ms a ` +
        `file, start-up included); ratio ${ratio.toFixed(2)}`,
    );
  }
} finally {
  await fixture.dispose();
}
