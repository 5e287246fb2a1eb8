// Download throughput, memory and time-to-first-byte of the gateway against the backend it
// fronts, in the same run: a 1 GiB file straight from the local backend vs through the gateway
// under Deno (worker/deno.ts) and under workerd (Miniflare, the bundled Workers entry).
//
//   node --import tsx bench/gateway_download.ts [deno|bun|workerd ...]
//
// Targets: throughput ratio >= 0.9, gateway RSS growth <= 32 MiB, median TTFB overhead <= 2 ms.
// Prints one line per figure and a JSON summary (also written to bench/out/gateway_download.json).
import { mkdirSync, writeFileSync } from "node:fs";
import { startBackend } from "../tests/server/_backend.ts";
import {
  type GatewayKind,
  root,
  type RunningGateway,
  startGateway,
} from "../tests/gateway/_gateway.ts";
import { makeImage } from "../tests/gateway/_fixture.ts";
import { ContreeClient } from "../mod.ts";

const GIB = 1024 * 1024 * 1024;
const ROUNDS = 3;
const TTFB_SAMPLES = 300;
const KEY = "gk_bench_0123456789abcdefghijkl";
const kinds =
  (process.argv.slice(2).length ? process.argv.slice(2) : ["deno", "workerd"]) as GatewayKind[];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** How long a download may go without a byte before it counts as stalled. */
const STALL_MS = 30_000;

/**
 * Downloads `url` to nowhere; returns seconds and the peak of `rss()` sampled every 32 MiB.
 * Throws when the transfer stalls for {@linkcode STALL_MS} or comes up short.
 */
async function download(url: string, headers: Record<string, string>, rss?: () => number) {
  const started = performance.now();
  const abort = new AbortController();
  let last = performance.now();
  const watchdog = setInterval(() => {
    if (performance.now() - last > STALL_MS) abort.abort(new Error("stalled"));
  }, 1000);
  let received = 0;
  let peak = 0;
  try {
    const res = await fetch(url, { headers, signal: abort.signal });
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    let next = 0;
    for await (const chunk of res.body!) {
      received += chunk.byteLength;
      last = performance.now();
      if (rss && received >= next) {
        peak = Math.max(peak, rss());
        next += 32 * 1024 * 1024;
      }
    }
  } catch (error) {
    throw new Error(`${url}: ${(error as Error).message} after ${received} bytes`);
  } finally {
    clearInterval(watchdog);
  }
  if (received !== GIB) throw new Error(`${url}: got ${received} bytes`);
  return { seconds: (performance.now() - started) / 1000, peak };
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
  kind: GatewayKind,
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
  for (let round = 0; round < ROUNDS; round++) {
    directRuns.push((await download(direct("/data/big.bin"), upstreamHeaders)).seconds);
    const run = await download(via("/data/big.bin"), headers, () => gateway.rss());
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
  const result = {
    runtime: kind,
    directMiBps: Math.round(directMiBps),
    gatewayMiBps: Math.round(gatewayMiBps),
    ratio: Number((gatewayMiBps / directMiBps).toFixed(3)),
    rssGrowthMiB: Number(((peak - baseline) / 1048576).toFixed(1)),
    directTtfbMs: Number(median(directTtfb).toFixed(3)),
    gatewayTtfbMs: Number(median(gatewayTtfb).toFixed(3)),
    ttfbOverheadMs: Number((median(gatewayTtfb) - median(directTtfb)).toFixed(3)),
  };
  const verdict = (ok: boolean) => ok ? "ok" : "MISSED";
  console.log(
    `${kind}: direct ${result.directMiBps} MiB/s, gateway ${result.gatewayMiBps} MiB/s, ` +
      `ratio ${result.ratio} (>= 0.9 ${verdict(result.ratio >= 0.9)}); ` +
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
    const gateway = await startGateway(kind, {
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
