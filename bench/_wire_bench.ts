// Shared pieces of the benches: the wire benches' loopback server, a big file to download,
// statistics.
import type { Contree, ContreeImage } from "../src/sdk/mod.ts";

/** Bytes served by the download route. */
export const DOWNLOAD_BYTES = 1024 ** 3;
/** Events served by the events route. */
export const EVENT_COUNT = 100_000;

/** The median of some numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Starts bench/_wire_server.ts in its own process; resolves to its URL and a stop function. */
export async function startWireServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_wire_server.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error("bench server exited before listening");
    text += value;
  }
  return {
    url: text.split("\n")[0].trim(),
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await reader.cancel().catch(() => {});
    },
  };
}

/**
 * Reads a body to its end into one reused 1 MiB buffer (a BYOB reader, as a consumer
 * writing to a file would); resolves to the byte count. With a default reader every
 * chunk is a fresh buffer and Deno's RSS grows by ~85 MiB per GiB before GC catches up,
 * for a raw fetch and the client alike.
 */
export async function drain(body: ReadableStream<Uint8Array>): Promise<number> {
  let bytes = 0;
  const reader = body.getReader({ mode: "byob" });
  let buffer = new Uint8Array(1024 * 1024);
  while (true) {
    const { done, value } = await reader.read(buffer);
    if (done) return bytes;
    bytes += value.length;
    buffer = new Uint8Array(value.buffer);
  }
}

/** A new image of busybox with `size` random bytes at `/big`. */
export async function imageWithBigFile(contree: Contree, size: number): Promise<ContreeImage> {
  const image = await contree.images.use("busybox:latest");
  return await image.run({
    shell: `head -c ${size} /dev/urandom > /big`,
    disposable: false,
    timeout: 600,
  });
}
