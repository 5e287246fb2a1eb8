// Child of stream_abort.test.ts, run with the garbage collector exposed: opens each kind of
// streamed response, lets only the body (or iterator) live, collects garbage, aborts the
// signal, and prints for each kind whether the pending read ended within two seconds.
import { ContreeClient } from "../../mod.ts";
import { serve } from "./_serve.ts";
import { frame, LOG } from "./_wire_double.ts";

const encoder = new TextEncoder();

/** One chunk, then nothing: the connection stays open until the client gives up. */
function openEnded(first: string, type: string): Response {
  return new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(first));
      },
    }),
    { headers: { "content-type": type } },
  );
}

function collectGarbage(): void {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun) return bun.gc(true);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with the garbage collector exposed");
  gc();
}

const served = await serve((request) => {
  const path = new URL(request.url).pathname;
  if (path.endsWith("/events")) return openEnded(frame(LOG[0]), "text/event-stream");
  return openEnded("first bytes", "application/octet-stream");
});
const client = new ContreeClient({ baseUrl: served.url, token: "t" });
const UUID = "12345678-1234-4123-8123-123456789abc";

type Next = () => Promise<unknown>;
const kinds: Record<string, (signal: AbortSignal) => Promise<Next>> = {
  async followOperationEvents(signal) {
    const events = client.followOperationEvents(UUID, {}, { signal })[Symbol.asyncIterator]();
    await events.next();
    return () => events.next();
  },
  async downloadStream(signal) {
    const reader = (await client.downloadStream(UUID, "/f", { signal })).body.getReader();
    await reader.read();
    return () => reader.read();
  },
  async archive(signal) {
    const reader = (await client.archive(UUID, "/", {}, { signal })).getReader();
    await reader.read();
    return () => reader.read();
  },
};

const outcome: Record<string, string> = {};
for (const [kind, open] of Object.entries(kinds)) {
  const controller = new AbortController();
  const next = await open(controller.signal);
  for (let round = 0; round < 3; round++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  controller.abort(new Error("aborted"));
  outcome[kind] = await Promise.race([
    next().then(() => "ended", (error) => error instanceof Error ? error.message : String(error)),
    new Promise<string>((resolve) => setTimeout(() => resolve("still open"), 2000)),
  ]);
}
console.log(JSON.stringify(outcome));
await served.close();
// Bun and Node keep the process alive while the unanswered downloads are open.
setTimeout(() => globalThis.process?.exit(0), 0);
