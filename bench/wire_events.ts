// Event decoding speed, two ways, medians of RUNS runs each:
// 1. In memory, under Deno, Node (tsx) and Bun (bench/_events_memory.ts in each): the same
//    bytes (200 000 stdout events in 64 KiB chunks) decoded by a naive baseline (decode the
//    text, split on blank lines, JSON.parse each `data:` line, as the official JS client does)
//    and by the client's typed decoder (SSE framing, JSON, validation); prints typed / baseline.
// 2. Over the network, under Deno: a 100 000-event gzip stream (one sync flush per frame) from
//    a loopback server, followOperationEvents (parse, JSON, validation, dedupe) against a
//    baseline that only decodes the text and splits lines.
//   deno run -A bench/wire_events.ts [RUNS]
import { ContreeClient } from "../mod.ts";
import { EVENT_COUNT, median, startWireServer } from "./_wire_bench.ts";

const runs = Number(Deno.args[0] ?? 5);

const memory = new URL("./_events_memory.ts", import.meta.url).pathname;
const root = new URL("../", import.meta.url).pathname;
const runtimes: [string, string, string[]][] = [
  ["deno", Deno.execPath(), ["run", "-A", memory, String(runs)]],
  ["node", `${root}node_modules/.bin/tsx`, [memory, String(runs)]],
  ["bun", `${root}node_modules/.bin/bun`, [memory, String(runs)]],
];
console.log("in memory: 200 000 stdout events, 64 KiB chunks (events/s, medians)");
for (const [name, command, args] of runtimes) {
  const { success, stdout, stderr } = await new Deno.Command(command, { args, cwd: root }).output();
  if (!success) {
    console.log(`${name}: failed\n${new TextDecoder().decode(stderr)}`);
    continue;
  }
  const result = JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!);
  console.log(
    `${result.runtime.padEnd(12)} baseline ${result.baseline.toFixed(0).padStart(8)}, typed ${
      result.typed.toFixed(0).padStart(8)
    }, operationEvents ${result.client.toFixed(0).padStart(8)}; typed / baseline ${
      result.ratio.toFixed(2)
    }`,
  );
}

console.log("\nover loopback, deno: 100 000 events, gzip");
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
