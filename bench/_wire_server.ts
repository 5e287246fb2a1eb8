// A loopback server for the wire benches, run as its own process so that the client's RSS is
// measured alone: `deno run -A bench/_wire_server.ts`. Prints its URL on the first line.
//   GET /v1/inspect/{id}/download -> 1 GiB of bytes, identity encoding, with Content-Length;
//   GET /v1/operations/{id}/events -> 100 000 events, gzip, one sync flush per frame.
import zlib from "node:zlib";

import { DOWNLOAD_BYTES, EVENT_COUNT } from "./_wire_bench.ts";

async function eventsGzip(): Promise<Uint8Array<ArrayBuffer>> {
  const gzip = zlib.createGzip();
  const parts: Uint8Array[] = [];
  gzip.on("data", (part: Uint8Array) => parts.push(part));
  const ended = new Promise((resolve) => gzip.once("end", resolve));
  for (let id = 0; id < EVENT_COUNT; id++) {
    const event = id === EVENT_COUNT - 1
      ? {
        id,
        ts: "2026-06-08T20:00:00.2Z",
        spid: 0,
        type: "completion",
        data: { status: "SUCCESS", duration_ms: 1 },
      }
      : {
        id,
        ts: "2026-06-08T20:00:00.1Z",
        spid: 1,
        type: "stdout",
        data: { value: `line ${id}\n`, encoding: "ascii" },
      };
    gzip.write(`id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    await new Promise<void>((resolve) => gzip.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
  }
  gzip.end();
  await ended;
  const joined = Buffer.concat(parts);
  const out = new Uint8Array(joined.length);
  out.set(joined);
  return out;
}

const events = await eventsGzip();
const block = new Uint8Array(1024 * 1024).map((_, i) => i % 251);

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
  const { pathname } = new URL(request.url);
  if (pathname.endsWith("/download")) {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      type: "bytes",
      pull(controller) {
        if (sent >= DOWNLOAD_BYTES) return controller.close();
        controller.enqueue(block.slice());
        sent += block.length;
      },
    });
    return new Response(body, { headers: { "content-length": String(DOWNLOAD_BYTES) } });
  }
  if (pathname.endsWith("/events")) {
    return new Response(events, {
      headers: { "content-type": "text/event-stream", "content-encoding": "gzip" },
    });
  }
  return new Response("not found", { status: 404 });
});
console.log(`http://127.0.0.1:${server.addr.port}`);
