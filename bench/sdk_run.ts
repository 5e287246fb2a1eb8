// SDK overhead on a disposable run: `await image.run({ shell: "true" })` against the same calls
// made with raw fetch (spawn, follow the event stream to its completion, read the operation).
//   1. on the real local backend, alternating ABBA in the same run: medians of RUNS runs each;
//   2. against canned in-memory answers (one fetch function serves both sides), which leaves
//      only the client's own CPU time: medians of 2000 runs each.
//   deno run -A bench/sdk_run.ts [RUNS]
import { startBackend } from "../tests/server/_backend.ts";
import { Contree } from "../src/sdk/mod.ts";
import { ZERO_RESOURCES } from "../server/sandbox/_report.ts";
import { median } from "./_wire_bench.ts";

const runs = Number(Deno.args[0] ?? 60);
type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** The SDK's calls, by hand: spawn, events until `completion`, then the operation record. */
async function rawRun(fetcher: Fetch, base: string, token: string, image: string): Promise<void> {
  const headers = { authorization: `Bearer ${token}`, "accept-encoding": "gzip" };
  const spawn = await fetcher(`${base}/v1/instances`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({
      image,
      command: "true",
      shell: true,
      disposable: true,
      timeout: 1000,
      truncate_output_at: 1048576,
    }),
  });
  const { uuid } = await spawn.json();
  const events = await fetcher(`${base}/v1/operations/${uuid}/events?follow=1`, {
    headers: { ...headers, accept: "text/event-stream" },
  });
  let text = "";
  for await (const chunk of events.body!.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    if (text.includes("event: completion")) break;
  }
  const op = await (await fetcher(`${base}/v1/operations/${uuid}`, { headers })).json();
  if (op.status !== "SUCCESS") throw new Error(`raw run: ${op.status}`);
}

/** Times both sides ABBA; resolves to the medians in ms, raw first. */
async function compare(
  count: number,
  raw: () => Promise<void>,
  sdk: () => Promise<void>,
): Promise<[number, number]> {
  for (let i = 0; i < 3; i++) {
    await raw();
    await sdk();
  }
  const timesRaw: number[] = [];
  const timesSdk: number[] = [];
  const timed = async (fn: () => Promise<void>, into: number[]) => {
    const start = performance.now();
    await fn();
    into.push(performance.now() - start);
  };
  // ABBA order, so that drift in the machine's load hits both sides alike.
  for (let i = 0; i < count; i++) {
    if (i % 2 === 0) {
      await timed(raw, timesRaw);
      await timed(sdk, timesSdk);
    } else {
      await timed(sdk, timesSdk);
      await timed(raw, timesRaw);
    }
  }
  return [median(timesRaw), median(timesSdk)];
}

// 1. The real local backend.
const backend = await startBackend();
const contree = new Contree({ baseUrl: backend.url, token: backend.token });
try {
  const image = await contree.images.use("busybox:latest", { strict: true });
  const [raw, sdk] = await compare(
    runs,
    () => rawRun(fetch, backend.url, backend.token, image.uuid!),
    async () => {
      if ((await image.run({ shell: "true" })).exitCode !== 0) throw new Error("sdk run failed");
    },
  );
  const ratio = sdk / raw;
  console.log(
    `local backend, ${runs} runs each: raw fetch median ${raw.toFixed(1)} ms, SDK run()` +
      ` median ${sdk.toFixed(1)} ms; ratio ${ratio.toFixed(3)} (target <= 1.1)` +
      ` ${ratio <= 1.1 ? "ok" : "MISSED"}`,
  );
} finally {
  await contree.close();
  await backend.dispose();
}

// 2. Canned answers: the client's own work only.
const IMAGE = "00000000-0000-0000-0000-000000000001";
const OPERATION = "00000000-0000-0000-0000-000000000002";

const ts = "2026-01-01T00:00:00Z";
const events = [
  {
    id: 0,
    ts,
    spid: 0,
    type: "init",
    data: { started_at: ts, runtime_path: "/", verbose: false, init_pid: 1 },
  },
  {
    id: 1,
    ts,
    spid: 1,
    type: "exit",
    data: {
      pid: 2,
      code: 0,
      signal: -1,
      timed_out: false,
      duration_ms: 1,
      resources: ZERO_RESOURCES,
    },
  },
  {
    id: 2,
    ts,
    spid: 0,
    type: "completion",
    data: { status: "SUCCESS", result_image_uuid: null, error: null, duration_ms: 2 },
  },
];
const sse = events.map((e) => `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join(
  "",
);
const operation = JSON.stringify({
  uuid: OPERATION,
  kind: "instance",
  status: "SUCCESS",
  metadata: { command: "true", image: IMAGE },
});
const canned: Fetch = (url) => {
  if (url.endsWith("/instances")) {
    return Promise.resolve(new Response(JSON.stringify({ uuid: OPERATION }), { status: 201 }));
  }
  if (url.includes("/events")) {
    return Promise.resolve(new Response(sse, { headers: { "content-type": "text/event-stream" } }));
  }
  return Promise.resolve(new Response(operation));
};
const offline = new Contree({ baseUrl: "http://canned.invalid", fetch: canned as typeof fetch });
const cannedImage = await offline.images.use(IMAGE);
const [raw, sdk] = await compare(
  2000,
  () => rawRun(canned, "http://canned.invalid", "t", IMAGE),
  async () => {
    if ((await cannedImage.run({ shell: "true" })).exitCode !== 0) throw new Error("failed");
  },
);
console.log(
  `canned answers, 2000 runs each: raw fetch median ${raw.toFixed(3)} ms, SDK run()` +
    ` median ${sdk.toFixed(3)} ms: the SDK's own work is ${(sdk - raw).toFixed(3)} ms per run`,
);
await offline.close();
