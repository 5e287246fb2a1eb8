// open() of a 1 GiB file of an image on the real local backend, against a raw fetch of the same
// inspect URL (same encoding: the SDK asks for downloads uncompressed), alternating in the same
// run; medians of RUNS runs each, and the RSS growth of this process.
//   deno run -A bench/sdk_open.ts [RUNS]
import { startBackend } from "../tests/server/_backend.ts";
import { Contree } from "../src/sdk/mod.ts";
import { drain, imageWithBigFile, median } from "./_wire_bench.ts";

const runs = Number(Deno.args[0] ?? 5);
const SIZE = 1024 ** 3;
const MiB = 1024 * 1024;

const backend = await startBackend();
const contree = new Contree({ baseUrl: backend.url, token: backend.token });
try {
  const big = await imageWithBigFile(contree, SIZE);
  const url = `${backend.url}/v1/inspect/${big.uuid}/download?path=/big`;
  const headers = { authorization: `Bearer ${backend.token}`, "accept-encoding": "identity" };

  const timed = async (get: () => Promise<ReadableStream<Uint8Array>>): Promise<number> => {
    const start = performance.now();
    const bytes = await drain(await get());
    const seconds = (performance.now() - start) / 1000;
    if (bytes !== SIZE) throw new Error(`got ${bytes} bytes`);
    return bytes / MiB / seconds;
  };
  const viaFetch = async () => (await fetch(url, { headers })).body!;
  const viaSdk = () => big.open("/big");

  // One warm-up of each, not counted.
  await timed(viaFetch);
  await timed(viaSdk);
  const raw: number[] = [];
  const sdk: number[] = [];
  const rssBefore = Deno.memoryUsage().rss;
  let rssPeak = rssBefore;
  for (let i = 0; i < runs; i++) {
    raw.push(await timed(viaFetch));
    sdk.push(await timed(viaSdk));
    rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
    console.log(
      `run ${i + 1}: raw fetch ${raw[i].toFixed(0)} MiB/s, open() ${sdk[i].toFixed(0)} MiB/s`,
    );
  }
  const ratio = median(sdk) / median(raw);
  const growth = (rssPeak - rssBefore) / MiB;
  console.log(`raw fetch: median ${median(raw).toFixed(0)} MiB/s over ${runs} runs of 1 GiB`);
  console.log(`open():    median ${median(sdk).toFixed(0)} MiB/s over ${runs} runs of 1 GiB`);
  console.log(`ratio: ${ratio.toFixed(3)} (target >= 0.95) ${ratio >= 0.95 ? "ok" : "MISSED"}`);
  console.log(
    `RSS growth: ${growth.toFixed(1)} MiB (target <= 32 MiB) ${growth <= 32 ? "ok" : "MISSED"}`,
  );
} finally {
  await contree.close();
  await backend.dispose();
}
