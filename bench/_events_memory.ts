// The in-memory half of bench/wire_events.ts, run under each runtime (Deno, Node with tsx,
// Bun): decodes the same bytes (200 000 stdout events in 64 KiB chunks) three ways and prints
// one JSON line of events/s, medians of RUNS runs, and the median of each run's typed /
// baseline:
//   baseline: decode the text, split it on blank lines, JSON.parse every `data:` line (what
//             the official JS client does; no validation, no types);
//   typed:    OperationEventDecoder (the client's decoder: SSE framing, JSON, validation);
//   client:   ContreeClient.operationEvents over a fetch answering with the same chunks.
//   <runtime> bench/_events_memory.ts [RUNS]
import process from "node:process";
import { ContreeClient, OperationEventDecoder } from "../mod.ts";
import { median } from "./_wire_bench.ts";

const EVENTS = 200_000;
const CHUNK = 64 * 1024;
const runs = Number(process.argv[2] ?? 5);

function eventStream(): Uint8Array[] {
  const frames: string[] = [];
  for (let id = 0; id < EVENTS; id++) {
    const event = {
      id,
      ts: "2026-06-08T20:00:00.123456Z",
      spid: 1,
      type: "stdout",
      data: { value: `${id} some output of the command\n`, encoding: "ascii" },
    };
    frames.push(`id: ${id}\nevent: stdout\ndata: ${JSON.stringify(event)}\n\n`);
  }
  const bytes = new TextEncoder().encode(frames.join(""));
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += CHUNK) chunks.push(bytes.slice(i, i + CHUNK));
  return chunks;
}

function baseline(chunks: Uint8Array[]): number {
  const decoder = new TextDecoder();
  let buffer = "";
  let count = 0;
  for (const chunk of chunks) {
    buffer += decoder.decode(chunk, { stream: true });
    const frames = buffer.split("\n\n");
    buffer = frames.pop()!;
    for (const frame of frames) {
      for (const line of frame.split("\n")) {
        if (line.startsWith("data:")) {
          JSON.parse(line.slice(5));
          count++;
        }
      }
    }
  }
  return count;
}

function typed(chunks: Uint8Array[]): number {
  const decoder = new OperationEventDecoder();
  let count = 0;
  for (const chunk of chunks) {
    for (const event of decoder.push(chunk)) if (event.type === "stdout") count++;
  }
  return count;
}

async function client(chunks: Uint8Array[]): Promise<number> {
  const api = new ContreeClient({
    baseUrl: "http://127.0.0.1:9",
    retry: false,
    fetch: () =>
      Promise.resolve(
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              for (const chunk of chunks) controller.enqueue(chunk.slice());
              controller.close();
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
      ),
  });
  let count = 0;
  for await (const event of api.operationEvents("op")) if (event.type === "stdout") count++;
  return count;
}

/** Events per second of one run of `decode`, checking it saw every event. */
async function rate(decode: () => number | Promise<number>): Promise<number> {
  const start = performance.now();
  const count = await decode();
  const seconds = (performance.now() - start) / 1000;
  if (count !== EVENTS) throw new Error(`saw ${count} events of ${EVENTS}`);
  return EVENTS / seconds;
}

const chunks = eventStream();
const results = {
  baseline: [] as number[],
  typed: [] as number[],
  client: [] as number[],
  ratio: [] as number[],
};
// One warm-up round, then interleaved runs, so that drift hits all three alike.
for (let i = -1; i < runs; i++) {
  const round = [
    await rate(() => baseline(chunks)),
    await rate(() => typed(chunks)),
    await rate(() => client(chunks)),
  ];
  if (i < 0) continue;
  results.baseline.push(round[0]);
  results.typed.push(round[1]);
  results.client.push(round[2]);
  // Each round's own ratio: neighbours in time share the machine's load.
  results.ratio.push(round[1] / round[0]);
}
const versions = process.versions as Record<string, string | undefined>;
const runtime = versions.deno
  ? `deno ${versions.deno}`
  : versions.bun
  ? `bun ${versions.bun}`
  : `node ${versions.node}`;
console.log(JSON.stringify({
  runtime,
  baseline: median(results.baseline),
  typed: median(results.typed),
  client: median(results.client),
  ratio: median(results.ratio),
}));
