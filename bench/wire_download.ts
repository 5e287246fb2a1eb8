// Streaming download of 1 GiB from a loopback server: the client's downloadStream against a
// raw fetch of the same URL, alternating in the same run; medians of RUNS runs each.
//   deno run -A bench/wire_download.ts [RUNS]
import { ContreeClient } from "../mod.ts";
import { DOWNLOAD_BYTES, drain, median, startWireServer } from "./_wire_bench.ts";

const runs = Number(Deno.args[0] ?? 5);
const server = await startWireServer();
const client = new ContreeClient({ baseUrl: server.url, token: "bench" });
const url = `${server.url}/v1/inspect/img/download?path=/big`;
const MiB = 1024 * 1024;

async function timed(get: () => Promise<ReadableStream<Uint8Array>>): Promise<number> {
  const start = performance.now();
  const bytes = await drain(await get());
  const seconds = (performance.now() - start) / 1000;
  if (bytes !== DOWNLOAD_BYTES) throw new Error(`got ${bytes} bytes`);
  return bytes / MiB / seconds;
}

const raw: number[] = [];
const sdk: number[] = [];
const rssBefore = Deno.memoryUsage().rss;
let rssPeak = rssBefore;
try {
  // One warm-up of each, not counted.
  await timed(async () => (await fetch(url)).body!);
  await timed(async () => (await client.downloadStream("img", "/big")).body);
  for (let i = 0; i < runs; i++) {
    raw.push(
      await timed(async () => (await fetch(url, { headers: { "accept-encoding": "gzip" } })).body!),
    );
    sdk.push(await timed(async () => (await client.downloadStream("img", "/big")).body));
    rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
    console.log(
      `run ${i + 1}: raw fetch ${raw[i].toFixed(0)} MiB/s, downloadStream ${
        sdk[i].toFixed(0)
      } MiB/s`,
    );
  }
} finally {
  await server.stop();
}
const ratio = median(sdk) / median(raw);
const growth = (rssPeak - rssBefore) / MiB;
console.log(`raw fetch:      median ${median(raw).toFixed(0)} MiB/s over ${runs} runs of 1 GiB`);
console.log(`downloadStream: median ${median(sdk).toFixed(0)} MiB/s over ${runs} runs of 1 GiB`);
console.log(`ratio: ${ratio.toFixed(3)} (target >= 0.95) ${ratio >= 0.95 ? "ok" : "MISSED"}`);
console.log(
  `client RSS growth: ${growth.toFixed(1)} MiB (target <= 32 MiB) ${
    growth <= 32 ? "ok" : "MISSED"
  }`,
);
