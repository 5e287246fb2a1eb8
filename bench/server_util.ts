// Shared pieces of the server benches.
import type { Backend } from "../tests/server/_backend.ts";
import { PASTA_ARGS } from "../server/sandbox/mod.ts";

/**
 * `sh -c` script for a networked baseline, run in a new network namespace with the host
 * process's pid and pasta's options as arguments: pasta (from the host's namespace, as root)
 * wires it, bwrap runs `true` in it, pasta is killed.
 */
const WIRED = `host=$1; shift
exec 7</proc/self/ns/net
pidfile=$(mktemp)
nsenter --net=/proc/$host/ns/net pasta "$@" --netns /proc/self/fd/7 --runas 0 -P "$pidfile" || exit
bwrap --unshare-all --share-net --die-with-parent --ro-bind / / --proc /proc --dev /dev true
status=$?
kill -9 "$(cat "$pidfile")"; rm -f "$pidfile"
exit $status`;

export { median } from "./_wire_bench.ts";

/** Milliseconds one call of `fn` takes. */
export async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/**
 * Spawns a run and follows its event stream until the `completion` event; throws unless the
 * operation succeeded (a command's non-zero exit is a success on the wire: see
 * {@linkcode exitCode}). Returns the operation's UUID and the result image's (null when
 * disposable).
 */
export async function runToCompletion(
  b: Backend,
  body: Record<string, unknown>,
): Promise<{ operation: string; image: string | null }> {
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
  return { operation: uuid, image: data.result_image_uuid ?? null };
}

/** The exit code of a finished run's command. */
export async function exitCode(b: Backend, operation: string): Promise<number> {
  const res = await fetch(`${b.url}/v1/operations/${operation}`, {
    headers: { Authorization: `Bearer ${b.token}` },
  });
  if (!res.ok) throw new Error(`operation ${operation}: ${res.status}`);
  return (await res.json()).metadata.result.state.exit_code;
}

/**
 * The baseline: a bare `bwrap` sandbox (every namespace, read-only host root) running `true`.
 * With `network`, its network namespace is one of its own wired by pasta with the server's
 * options (pasta started and killed around it, as the server does), and bwrap keeps it.
 */
export async function bareBwrap(network = false): Promise<void> {
  if (network) {
    const { code, stderr } = await new Deno.Command("unshare", {
      args: ["--net", "--", "sh", "-c", WIRED, "wired", String(Deno.pid), ...PASTA_ARGS],
    }).output();
    if (code !== 0) {
      throw new Error(`bwrap in pasta's namespace: ${new TextDecoder().decode(stderr)}`);
    }
    return;
  }
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
