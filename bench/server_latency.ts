// Run latency of the local backend: a disposable `true` from POST /v1/instances to its
// completion event over HTTP, against a bare `bwrap ... true` on the same machine; then the
// same with networking on, against a bare bwrap in a network namespace wired by pasta; and with
// a 64 MiB disk cap (`resources_limits.max_layer_bytes`: its own loop-mounted ext4).
//   deno run -A bench/server_latency.ts [ROUNDS]
import { startBackend } from "../tests/server/_backend.ts";
import { bareBwrap, median, runToCompletion, time } from "./server_util.ts";

const rounds = Math.max(5, Number(Deno.args[0] ?? 15));
const plain = { command: "true", disposable: true };
const networked = { ...plain, networking: { enabled: true } };
const capped = { ...plain, resources_limits: { max_layer_bytes: 64 << 20 } };

const backend = await startBackend();
try {
  for (let i = 0; i < 3; i++) {
    await bareBwrap();
    await bareBwrap(true);
    await runToCompletion(backend, plain);
    await runToCompletion(backend, networked);
    await runToCompletion(backend, capped);
  }
  const times = {
    bare: [] as number[],
    server: [] as number[],
    bareNet: [] as number[],
    net: [] as number[],
    capped: [] as number[],
  };
  for (let i = 0; i < rounds; i++) {
    times.bare.push(await time(() => bareBwrap()));
    times.server.push(await time(() => runToCompletion(backend, plain)));
    times.bareNet.push(await time(() => bareBwrap(true)));
    times.net.push(await time(() => runToCompletion(backend, networked)));
    times.capped.push(await time(() => runToCompletion(backend, capped)));
  }
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  console.log(`rounds: ${rounds}`);
  console.log(`bare bwrap true:                      median ${m.bare.toFixed(1)} ms`);
  console.log(`server spawn->completion:             median ${m.server.toFixed(1)} ms`);
  console.log(`ratio: ${(m.server / m.bare).toFixed(2)} (target <= 3)`);
  console.log(`bare bwrap true, pasta-wired netns:   median ${m.bareNet.toFixed(1)} ms`);
  console.log(`server spawn->completion, networking: median ${m.net.toFixed(1)} ms`);
  console.log(
    `ratio networking: ${(m.net / m.bareNet).toFixed(2)} vs the pasta-wired bwrap, ` +
      `${(m.net / m.bare).toFixed(2)} vs bare bwrap; networking adds ${
        (m.net - m.server).toFixed(1)
      } ms`,
  );
  console.log(`server spawn->completion, 64 MiB cap:  median ${m.capped.toFixed(1)} ms`);
  console.log(`ratio with the cap: ${(m.capped / m.bare).toFixed(2)}`);
} finally {
  await backend.dispose();
}
