// The gateway under `wrangler dev` (what Workers developers run), next to a bare pass-through
// Worker (`return fetch(upstream)`) under the same set-up and the Deno gateway as the baseline,
// all in front of the same local backend:
//
//   node --import tsx bench/gateway_wrangler.ts [rounds]
//
// Two set-ups of `wrangler dev`:
// - "default": as it starts. Its inspector proxy enables the runtime's `Network` domain (workerd
//   then reads a subrequest body in 4 KiB pieces, one `Network.dataReceived` event each) and
//   keeps every event in memory until a DevTools window connects: a 200 MiB download crawls
//   and wrangler's proxy process grows by hundreds of MB.
// - "no inspector": `VSCODE_INSPECTOR_OPTIONS` set, which makes wrangler start no inspector
//   proxy (as in a VS Code debug terminal); the worker and the rest of `wrangler dev` are the same.
//
// Per set-up and worker: the median time of a 200 MiB download (curl), the peak RSS growth of
// wrangler's workerd processes, and for the gateway how long a streamed run takes to be
// CANCELLED upstream after its client disconnects. Targets (no inspector): download within 2x
// the Deno gateway's time, RSS growth <= 64 MiB, cancel within 2 s.
// Prints one line per figure and a JSON summary (also bench/out/gateway_wrangler.json).
// Wrangler is kept off the internet: no metrics, no `cf` fetch, loopback only.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ContreeClient } from "../mod.ts";
import { startBackend } from "../tests/server/_backend.ts";
import { makeImage } from "../tests/gateway/_fixture.ts";
import { root, rssOf, startGateway, wranglerCompat } from "../tests/gateway/_gateway.ts";
import { median } from "./_wire_bench.ts";

const MIB = 1024 * 1024;
const SIZE = 200 * MIB;
const KEY = "gk_bench_0123456789abcdefghijkl";
const rounds = Number(process.argv[2] ?? 3);
const run = promisify(execFile);

/** Every process under `pid` (children, grandchildren, ...). */
function descendants(pid: number): { pid: number; name: string }[] {
  const parents = new Map<number, { ppid: number; name: string }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), { ppid, name });
    } catch {
      // the process ended while we looked
    }
  }
  const found: { pid: number; name: string }[] = [];
  const walk = (parent: number) => {
    for (const [child, { ppid, name }] of parents) {
      if (ppid === parent) {
        found.push({ pid: child, name });
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

/** Resident memory of every workerd under `pid`, in bytes. */
function workerdRss(pid: number): number {
  let total = 0;
  for (const child of descendants(pid)) {
    if (child.name !== "workerd") continue;
    try {
      total += rssOf(child.pid);
    } catch {
      // ended meanwhile
    }
  }
  return total;
}

/** Downloads `url` with curl; seconds and the peak of `rss()` sampled every 20 ms. */
async function download(url: string, headers: Record<string, string>, rss: () => number) {
  let peak = rss();
  const sampler = setInterval(() => peak = Math.max(peak, rss()), 20);
  try {
    const { stdout } = await run("curl", [
      ...["--silent", "--show-error", "--output", "/dev/null"],
      ...["--speed-limit", "1", "--speed-time", "60"],
      ...["--write-out", "%{http_code} %{size_download} %{time_total}"],
      ...Object.entries(headers).flatMap(([name, value]) => ["--header", `${name}: ${value}`]),
      url,
    ], { timeout: 300_000 });
    const [status, size, seconds] = stdout.trim().split(" ");
    if (status !== "200" || Number(size) !== SIZE) {
      throw new Error(`${url}: status ${status}, ${size} bytes`);
    }
    return { seconds: Number(seconds), peak };
  } finally {
    clearInterval(sampler);
  }
}

interface Dev {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** `wrangler dev` on a free loopback port, for a project in `dir`. */
async function wranglerDev(dir: string, inspector: boolean): Promise<Dev> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/root",
    NO_COLOR: "1",
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_HIDE_BANNER: "true",
    CI: "1",
  };
  if (!inspector) env.VSCODE_INSPECTOR_OPTIONS = "{}";
  const child: ChildProcess = spawn(
    join(root, "node_modules/.bin/wrangler"),
    ["dev", "--ip", "127.0.0.1", "--port", "0", "--local", "--show-interactive-dev-session=false"],
    { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`wrangler dev did not start:\n${output}`)),
      60_000,
    );
    const onData = (chunk: Uint8Array) => {
      output += new TextDecoder().decode(chunk);
      const match = /Ready on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`wrangler dev exited (${code}):\n${output}`));
    });
  });
  // The inspector proxy attaches a moment after "Ready": measure what a developer gets later.
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        process.kill(-child.pid!, "SIGTERM");
      }),
  };
}

const BARE = `export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.CONTREE_URL + url.pathname + url.search, {
      headers: { authorization: "Bearer " + env.CONTREE_TOKEN, "accept-encoding": "identity" },
      signal: request.signal,
    });
  },
};
`;

/** A Workers project in a temp dir: the gateway entry of this repository, or the bare proxy. */
function project(worker: "gateway" | "bare", vars: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), `wrangler-${worker}-`));
  const { compatibilityDate, compatibilityFlags } = wranglerCompat();
  const main = worker === "gateway" ? join(root, "worker/cloudflare.ts") : "bare.js";
  if (worker === "bare") writeFileSync(join(dir, "bare.js"), BARE);
  writeFileSync(
    join(dir, "wrangler.toml"),
    [
      `name = "bench-${worker}"`,
      `main = ${JSON.stringify(main)}`,
      `compatibility_date = "${compatibilityDate}"`,
      `compatibility_flags = ${JSON.stringify(compatibilityFlags)}`,
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(dir, ".dev.vars"),
    Object.entries(vars).map(([name, value]) => `${name}=${JSON.stringify(value)}`).join("\n"),
  );
  return dir;
}

/** Seconds from a streamed run's client disconnect to its operation being CANCELLED upstream. */
async function cancelLatency(url: string, direct: ContreeClient): Promise<number> {
  const abort = new AbortController();
  const res = await fetch(`${url}/images/busybox:latest/run`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${KEY}`,
      "content-type": "application/json",
      accept: "text/event-stream",
    },
    body: JSON.stringify({ shell: "echo started; sleep 60" }),
    signal: abort.signal,
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("event: stdout")) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the run ended early: ${text}`);
    text += value;
  }
  const operation = /: operation (\S+)/.exec(text)?.[1];
  if (!operation) throw new Error(`no operation in ${text}`);
  const started = performance.now();
  abort.abort();
  for (;;) {
    const status = (await direct.getOperation(operation)).status;
    if (status === "CANCELLED") return (performance.now() - started) / 1000;
    if (status !== "EXECUTING" && status !== "PENDING" && status !== "ASSIGNED") {
      throw new Error(`not cancelled: the run ended ${status}`);
    }
    if (performance.now() - started > 60_000) throw new Error("not cancelled within 60 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const backend = await startBackend();
const results: Record<string, unknown>[] = [];
const verdict = (ok: boolean) => ok ? "ok" : "MISSED";
try {
  const direct = new ContreeClient({ baseUrl: backend.url, token: backend.token });
  const image = await makeImage(
    direct,
    `mkdir -p /data && head -c ${SIZE} /dev/urandom > /data/big.bin`,
  );
  const path = `/images/${image}/files/data/big.bin`;
  const headers = { authorization: `Bearer ${KEY}` };
  const vars = { CONTREE_URL: backend.url, CONTREE_TOKEN: backend.token, GATEWAY_KEYS: KEY };

  const deno = await startGateway("deno", vars);
  const denoRuns: number[] = [];
  try {
    await download(`${deno.url}${path}`, headers, deno.rss);
    for (let i = 0; i < rounds; i++) {
      denoRuns.push((await download(`${deno.url}${path}`, headers, deno.rss)).seconds);
    }
  } finally {
    await deno.stop();
  }
  const baseline = median(denoRuns);
  console.log(`deno gateway: 200 MiB in ${baseline.toFixed(2)} s (runs ${denoRuns.join(", ")})`);
  results.push({ setup: "deno", worker: "gateway", seconds: denoRuns });

  for (const inspector of [false, true]) {
    const setup = inspector ? "wrangler dev (default)" : "wrangler dev (no inspector)";
    // The default set-up is so slow that one round says enough.
    const times = inspector ? 1 : rounds;
    for (const worker of ["gateway", "bare"] as const) {
      const dir = project(worker, vars);
      const dev = await wranglerDev(dir, inspector);
      try {
        const upstreamPath = `/v1/inspect/${image}/download?path=%2Fdata%2Fbig.bin`;
        const url = `${dev.url}${worker === "gateway" ? path : upstreamPath}`;
        const rss = () => workerdRss(dev.pid);
        const before = rss();
        const seconds: number[] = [];
        let peak = before;
        for (let i = 0; i < times; i++) {
          const result = await download(url, headers, rss);
          seconds.push(result.seconds);
          peak = Math.max(peak, result.peak);
        }
        const growth = (peak - before) / MIB;
        const ratio = median(seconds) / baseline;
        const line: Record<string, unknown> = {
          setup,
          worker,
          seconds,
          timesDeno: Number(ratio.toFixed(2)),
          rssGrowthMiB: Number(growth.toFixed(1)),
        };
        let text = `${setup}, ${worker}: 200 MiB in ${median(seconds).toFixed(2)} s ` +
          `(runs ${seconds.join(", ")}; ${ratio.toFixed(2)}x Deno, <= 2 ${verdict(ratio <= 2)}); ` +
          `workerd RSS growth ${growth.toFixed(1)} MiB (<= 64 ${verdict(growth <= 64)})`;
        if (worker === "gateway") {
          try {
            const cancel = await cancelLatency(dev.url, direct);
            line.cancelSeconds = Number(cancel.toFixed(2));
            const ok = verdict(cancel <= 2);
            text += `; cancel after disconnect ${cancel.toFixed(2)} s (<= 2 ${ok})`;
          } catch (error) {
            line.cancelError = (error as Error).message;
            text += `; cancel after disconnect MISSED: ${(error as Error).message}`;
          }
        }
        console.log(text);
        results.push(line);
      } catch (error) {
        console.log(`${setup}, ${worker}: FAILED: ${(error as Error).message}`);
        results.push({ setup, worker, error: (error as Error).message });
      } finally {
        await dev.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
} finally {
  await backend.dispose();
}
mkdirSync(`${root}bench/out`, { recursive: true });
writeFileSync(`${root}bench/out/gateway_wrangler.json`, JSON.stringify(results, null, 2));
console.log(JSON.stringify(results));
