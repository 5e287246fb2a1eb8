// Shared pieces of the server benches.
import type { Backend } from "../tests/server/_backend.ts";

/** The median of some numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Milliseconds one call of `fn` takes. */
export async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/**
 * Spawns a run and follows its event stream until the `completion` event; throws unless
 * the run succeeded with exit code 0.
 */
export async function runToCompletion(b: Backend, body: Record<string, unknown>): Promise<void> {
  const auth = { Authorization: `Bearer ${b.token}` };
  const spawned = await fetch(`${b.url}/v1/instances`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ image: "tag:busybox:latest", ...body }),
  });
  if (spawned.status !== 201) throw new Error(`spawn: ${spawned.status} ${await spawned.text()}`);
  const { uuid } = await spawned.json();
  const res = await fetch(`${b.url}/v1/operations/${uuid}/events?follow=1&spid=0`, {
    headers: { ...auth, Accept: "text/event-stream" },
  });
  const text = await res.text();
  const completion = /event: completion\ndata: (.*)\n/.exec(text);
  if (!completion) throw new Error(`no completion event for ${uuid}`);
  const { data } = JSON.parse(completion[1]);
  if (data.status !== "SUCCESS") throw new Error(`run ${uuid}: ${data.status} ${data.error}`);
}

/** The baseline: a bare `bwrap` sandbox (every namespace, read-only host root) running `true`. */
export async function bareBwrap(): Promise<void> {
  const { code } = await new Deno.Command("bwrap", {
    args: [
      "--unshare-all",
      "--die-with-parent",
      "--ro-bind",
      "/",
      "/",
      "--proc",
      "/proc",
      "--dev",
      "/dev",
      "true",
    ],
  }).output();
  if (code !== 0) throw new Error(`bwrap exited ${code}`);
}
