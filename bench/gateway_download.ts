// Download throughput, memory and time-to-first-byte of the gateway against the backend it
// fronts, in the same run: a 1 GiB file straight from the local backend vs through the gateway
// under Deno (worker/deno.ts) and under workerd (Miniflare, the bundled Workers entry).
//
//   node --import tsx bench/gateway_download.ts [deno|bun|workerd|bun-serve ...]
//
// `bun-serve` is a reference, not a deployment: the gateway behind Bun.serve, which passes
// bodies on natively but without their Content-Length (bench/_bun_serve_gateway.ts).
// Targets: throughput ratio >= 0.9 in every round, gateway RSS growth <= 32 MiB, median TTFB
// overhead <= 2 ms.
// Downloads go through curl; time-to-first-byte is measured with fetch over kept-alive
// connections.
// Prints one line per figure and a JSON summary (also written to bench/out/gateway_download.json).
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { startBackend } from "../tests/server/_backend.ts";
import {
  type GatewayEnv,
  type GatewayKind,
  root,
  type RunningGateway,
  startGateway,
  startProcess,
} from "../tests/gateway/_gateway.ts";
import { makeImage } from "../tests/gateway/_fixture.ts";
import { ContreeClient } from "../mod.ts";
import { median } from "./_wire_bench.ts";

const GIB = 1024 * 1024 * 1024;
const ROUNDS = 5;
const run = promisify(execFile);
const TTFB_SAMPLES = 300;
const KEY = "gk_bench_0123456789abcdefghijkl";
type Kind = GatewayKind | "bun-serve";
const kinds =
  (process.argv.slice(2).length ? process.argv.slice(2) : ["deno", "workerd"]) as Kind[];

function start(kind: Kind, env: GatewayEnv): Promise<RunningGateway> {
  return kind === "bun-serve"
    ? startProcess("bun", env, `${root}bench/_bun_serve_gateway.ts`)
    : startGateway(kind, env);
}

/** Seconds a download may go without a byte before it counts as stalled. */
const STALL_SECONDS = 30;

/**
 * Downloads `url` to /dev/null with curl; returns seconds (curl's own `time_total`) and the
 * peak of `rss()` sampled every 20 ms. curl, not fetch in this process: Node's fetch spends
 * 1.5 to 3 s of CPU per GiB, and on a small machine that client's noise, not the gateway,
 * decided the ratio. Throws when the transfer stalls or comes up short.
 */
async function download(url: string, headers: Record<string, string>, rss?: () => number) {
  let peak = rss ? rss() : 0;
  const sampler = rss ? setInterval(() => peak = Math.max(peak, rss()), 20) : undefined;
  const args = [
    ...["--silent", "--show-error", "--output", "/dev/null"],
    ...["--speed-limit", "1", "--speed-time", String(STALL_SECONDS)],
    ...["--write-out", "%{http_code} %{size_download} %{time_total}"],
    ...Object.entries(headers).flatMap(([name, value]) => ["--header", `${name}: ${value}`]),
    url,
  ];
  try {
    const { stdout } = await run("curl", args);
    const [status, size, seconds] = stdout.trim().split(" ");
    if (status !== "200") throw new Error(`${url}: status ${status}`);
    if (Number(size) !== GIB) throw new Error(`${url}: got ${size} bytes`);
    return { seconds: Number(seconds), peak };
  } finally {
    clearInterval(sampler);
  }
}

/** Milliseconds until the response headers of a small download arrived. */
async function ttfb(url: string, headers: Record<string, string>): Promise<number> {
  const started = performance.now();
  const res = await fetch(url, { headers });
  const elapsed = performance.now() - started;
  await res.arrayBuffer();
  return elapsed;
}

interface Setup {
  /** URL of a file straight from the backend. */
  direct: (path: string) => string;
  upstreamHeaders: Record<string, string>;
  image: string;
}

/** One runtime's figures; throws when a download fails or stalls. */
async function measure(
  kind: Kind,
  gateway: RunningGateway,
  { direct, upstreamHeaders, image }: Setup,
): Promise<Record<string, unknown>> {
  const headers = { authorization: `Bearer ${KEY}` };
  const via = (path: string) => `${gateway.url}/images/${image}/files${path}`;
  await download(via("/data/big.bin"), headers); // warm-up
  await download(direct("/data/big.bin"), upstreamHeaders);
  const baseline = gateway.rss();
  const directRuns: number[] = [];
  const gatewayRuns: number[] = [];
  let peak = baseline;
  const cpuRuns: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    directRuns.push((await download(direct("/data/big.bin"), upstreamHeaders)).seconds);
    const cpu = gateway.cpu();
    const run = await download(via("/data/big.bin"), headers, () => gateway.rss());
    cpuRuns.push(gateway.cpu() - cpu);
    gatewayRuns.push(run.seconds);
    peak = Math.max(peak, run.peak);
  }
  const directTtfb: number[] = [];
  const gatewayTtfb: number[] = [];
  for (let i = 0; i < TTFB_SAMPLES; i++) {
    directTtfb.push(await ttfb(direct("/data/hello.txt"), upstreamHeaders));
    gatewayTtfb.push(await ttfb(via("/data/hello.txt"), headers));
  }
  const directMiBps = 1024 / median(directRuns);
  const gatewayMiBps = 1024 / median(gatewayRuns);
  // Each round pairs a direct download with one through the gateway, back to back.
  const rounds = gatewayRuns.map((seconds, i) => Number((directRuns[i] / seconds).toFixed(3)));
  const result = {
    runtime: kind,
    directMiBps: Math.round(directMiBps),
    gatewayMiBps: Math.round(gatewayMiBps),
    ratio: Number((gatewayMiBps / directMiBps).toFixed(3)),
    roundRatios: rounds,
    worstRound: Math.min(...rounds),
    // CPU the gateway process spends per GiB: what the load on the machine changes least.
    gatewayCpuSecondsPerGiB: Number(median(cpuRuns).toFixed(2)),
    rssGrowthMiB: Number(((peak - baseline) / 1048576).toFixed(1)),
    directTtfbMs: Number(median(directTtfb).toFixed(3)),
    gatewayTtfbMs: Number(median(gatewayTtfb).toFixed(3)),
    ttfbOverheadMs: Number((median(gatewayTtfb) - median(directTtfb)).toFixed(3)),
  };
  const verdict = (ok: boolean) => ok ? "ok" : "MISSED";
  console.log(
    `${kind}: direct ${result.directMiBps} MiB/s, gateway ${result.gatewayMiBps} MiB/s, ` +
      `ratio ${result.ratio}, rounds ${rounds.join(" ")} ` +
      `(>= 0.9 every round ${verdict(result.worstRound >= 0.9)}); ` +
      `gateway CPU ${result.gatewayCpuSecondsPerGiB} s/GiB; ` +
      `RSS growth ${result.rssGrowthMiB} MiB (<= 32 ${verdict(result.rssGrowthMiB <= 32)}); ` +
      `median TTFB ${result.directTtfbMs} -> ${result.gatewayTtfbMs} ms, overhead ` +
      `${result.ttfbOverheadMs} ms (<= 2 ${verdict(result.ttfbOverheadMs <= 2)})`,
  );
  return result;
}

const backend = await startBackend();
const results: Record<string, unknown>[] = [];
try {
  const client = new ContreeClient({ baseUrl: backend.url, token: backend.token });
  console.log("making a 1 GiB fixture file in the backend...");
  const image = await makeImage(
    client,
    "mkdir -p /data && dd if=/dev/urandom of=/data/big.bin bs=1048576 count=1024 2>/dev/null && " +
      "printf 'hello world' > /data/hello.txt",
  );
  const setup: Setup = {
    direct: (path) =>
      `${backend.url}/v1/inspect/${image}/download?path=${encodeURIComponent(path)}`,
    upstreamHeaders: { authorization: `Bearer ${backend.token}`, "accept-encoding": "identity" },
    image,
  };
  for (const kind of kinds) {
    const gateway = await start(kind, {
      CONTREE_URL: backend.url,
      CONTREE_TOKEN: backend.token,
      GATEWAY_KEYS: KEY,
    });
    try {
      results.push(await measure(kind, gateway, setup));
    } catch (error) {
      console.log(`${kind}: FAILED: ${(error as Error).message}`);
      results.push({ runtime: kind, error: (error as Error).message });
    } finally {
      await gateway.stop();
    }
  }
} finally {
  await backend.dispose();
}
mkdirSync(`${root}bench/out`, { recursive: true });
writeFileSync(`${root}bench/out/gateway_download.json`, JSON.stringify(results, null, 2));
console.log(JSON.stringify(results));
