// `contree cp` of a 1 GiB file against `curl` of the same inspect download (uncompressed),
// alternating in the same run, for the compiled binary and the Deno entry; medians of RUNS runs.
// Memory: RSS growth of the `cp` process during the transfer: its peak RSS minus its RSS when
// the first bytes reached `DEST.part` (start-up excluded), read from /proc every 20 ms; the
// peak RSS of `ls /` (same start-up, no transfer) is printed beside it. Start-up: `contree
// --help`, medians of 10. Beside them, the runtime's own ceiling: a process of the same runtime
// (Bun for the binary) that fetches the same download and drops the bytes, so no file is
// written and no CLI is loaded.
//   deno run -A bench/cli_cp.ts [RUNS]
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { commandLine, startCli } from "../tests/cli/_cli.ts";
import { Contree } from "../src/sdk/mod.ts";
import { imageWithBigFile, median } from "./_wire_bench.ts";

const runs = Number(Deno.args[0] ?? 11);
const SIZE = 1024 ** 3;
const MiB = 1024 * 1024;

/**
 * Runs a command to its end; returns seconds, the peak RSS (MiB) seen in /proc, and the RSS
 * when `watch` (a file) first had bytes.
 */
function measured(argv: string[], env: Record<string, string>, cwd: string, watch?: string) {
  return new Promise<{ seconds: number; peak: number; atStart: number; code: number }>(
    (resolve, reject) => {
      const start = performance.now();
      const child = spawn(argv[0], argv.slice(1), {
        env: { ...Deno.env.toObject(), ...env },
        cwd,
        stdio: "ignore",
      });
      let peak = 0;
      let atStart = NaN;
      const poll = setInterval(() => {
        try {
          const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
          const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
          peak = Math.max(peak, rss);
          if (watch && Number.isNaN(atStart) && statSync(watch, { throwIfNoEntry: false })?.size) {
            atStart = rss;
          }
        } catch { /* exited */ }
      }, 20);
      child.on("error", reject);
      child.on("close", (code) => {
        clearInterval(poll);
        resolve({ seconds: (performance.now() - start) / 1000, peak, atStart, code: code ?? 1 });
      });
    },
  );
}

// A backend, a CONTREE_HOME with its profile saved by `contree auth`, and a scratch directory.
const fixture = await startCli();
const { backend, home, scratch: work } = fixture;
const contree = new Contree({ baseUrl: backend.url, token: backend.token });
try {
  const big = await imageWithBigFile(contree, SIZE);
  const env = { CONTREE_HOME: home, CONTREE_SESSION: "bench", NO_COLOR: "1" };
  const deno = commandLine("deno");
  const binary = commandLine("binary");
  const used = await fixture.run("deno", ["use", big.uuid!], { env });
  if (used.code !== 0) throw new Error(used.stderr);
  const url = `${backend.url}/v1/inspect/${big.uuid}/download?path=/big`;
  const curl = [
    "curl",
    "-sf",
    "-o",
    join(work, "curl.bin"),
    "-H",
    `authorization: Bearer ${backend.token}`,
    "-H",
    "accept-encoding: identity",
    url,
  ];

  // The runtime's fetch alone: the download read to its end and dropped.
  const drop = "const r = await fetch(process.env.URL, { headers: { authorization: " +
    "`Bearer ${process.env.TOKEN}`, 'accept-encoding': 'identity' } }); let n = 0; " +
    "for await (const c of r.body) n += c.length; if (n !== " + SIZE + ") process.exit(1);";
  const ceilings = {
    "binary": [commandLine("bun")[0], "-e", drop],
    "deno run": [deno[0], "eval", `import process from "node:process"; ${drop}`],
  };
  const fetchOnly = async (argv: string[]) => {
    const result = await measured(argv, { URL: url, TOKEN: backend.token }, work);
    if (result.code !== 0) throw new Error(`${argv[0]} fetch failed`);
    return SIZE / MiB / result.seconds;
  };

  const speed = async (argv: string[], out: string) => {
    const result = await measured(argv, env, work, join(work, `${out}.part`));
    if (result.code !== 0 || statSync(join(work, out)).size !== SIZE) {
      throw new Error(`${argv.join(" ")} failed`);
    }
    rmSync(join(work, out));
    // Every transfer starts from the same state: the last one's file gone from disk too.
    spawnSync("sync");
    return {
      mibs: SIZE / MiB / result.seconds,
      peak: result.peak,
      growth: result.peak - result.atStart,
    };
  };
  for (const [name, cli] of [["binary", binary], ["deno run", deno]] as const) {
    await speed(curl, "curl.bin");
    await speed([...cli, "cp", "/big", "cli.bin"], "cli.bin");
    const baseline = (await measured([...cli, "ls", "/"], env, work)).peak;
    const c: number[] = [];
    const k: number[] = [];
    const f: number[] = [];
    let peak = 0;
    let growth = 0;
    for (let i = 0; i < runs; i++) {
      c.push((await speed(curl, "curl.bin")).mibs);
      const cp = await speed([...cli, "cp", "/big", "cli.bin"], "cli.bin");
      k.push(cp.mibs);
      f.push(await fetchOnly(ceilings[name]));
      peak = Math.max(peak, cp.peak);
      growth = Math.max(growth, cp.growth);
      console.log(
        `${name} run ${i + 1}: curl ${c[i].toFixed(0)} MiB/s, contree cp ${k[i].toFixed(0)} ` +
          `MiB/s, the runtime's fetch alone ${f[i].toFixed(0)} MiB/s`,
      );
    }
    const ratio = median(k) / median(c);
    console.log(
      `${name}: curl median ${median(c).toFixed(0)} MiB/s, contree cp median ${
        median(k).toFixed(0)
      } MiB/s`,
    );
    console.log(
      `${name}: ratio ${ratio.toFixed(3)} (target >= 0.9) ${ratio >= 0.9 ? "ok" : "MISSED"}`,
    );
    console.log(
      `${name}: the runtime's fetch alone (no file, no CLI) median ${median(f).toFixed(0)} ` +
        `MiB/s, ratio to curl ${(median(f) / median(c)).toFixed(3)}`,
    );
    console.log(
      `${name}: RSS growth during the transfer ${growth.toFixed(1)} MiB (target <= 32) ${
        growth <= 32 ? "ok" : "MISSED"
      }; peak ${peak.toFixed(0)} MiB (ls / ${baseline.toFixed(0)} MiB)`,
    );
    const starts: number[] = [];
    for (let i = 0; i < 10; i++) {
      starts.push((await measured([...cli, "--help"], env, work)).seconds * 1000);
    }
    console.log(`${name}: contree --help start-up median ${median(starts).toFixed(0)} ms over 10`);
  }
} finally {
  await contree.close();
  await fixture.dispose();
}
