// Events per second over a 100 000-event gzip stream (one sync flush per frame) from a
// loopback server: followOperationEvents (parse, JSON, validation, dedupe) against a
// baseline that only decodes the text and splits lines. Medians of RUNS runs each.
//   deno run -A bench/wire_events.ts [RUNS]
import { ContreeClient } from "../mod.ts";
import { EVENT_COUNT, median, startWireServer } from "./_wire_bench.ts";

const runs = Number(Deno.args[0] ?? 5);
const server = await startWireServer();
const client = new ContreeClient({ baseUrl: server.url, token: "bench" });
const url = `${server.url}/v1/operations/op/events`;

async function baseline(): Promise<number> {
  const start = performance.now();
  const res = await fetch(url, { headers: { "accept-encoding": "gzip" } });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let lines = 0;
  let rest = "";
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    const parts = (rest + value).split("\n");
    rest = parts.pop()!;
    lines += parts.length;
  }
  if (lines !== EVENT_COUNT * 4) throw new Error(`baseline saw ${lines} lines`);
  return EVENT_COUNT / ((performance.now() - start) / 1000);
}

async function sdk(): Promise<number> {
  const start = performance.now();
  let events = 0;
  for await (const event of client.followOperationEvents("op")) {
    if (event.type !== "unknown") events++;
  }
  if (events !== EVENT_COUNT) throw new Error(`client saw ${events} events`);
  return EVENT_COUNT / ((performance.now() - start) / 1000);
}

const base: number[] = [];
const typed: number[] = [];
try {
  await baseline();
  await sdk();
  for (let i = 0; i < runs; i++) {
    base.push(await baseline());
    typed.push(await sdk());
    console.log(
      `run ${i + 1}: baseline ${base[i].toFixed(0)} events/s, client ${
        typed[i].toFixed(0)
      } events/s`,
    );
  }
} finally {
  await server.stop();
}
console.log(`baseline (decode + split lines): median ${median(base).toFixed(0)} events/s`);
console.log(`followOperationEvents (typed):   median ${median(typed).toFixed(0)} events/s`);
console.log(`client / baseline: ${(median(typed) / median(base)).toFixed(2)}`);
