// Run latency of the local backend: a disposable `true` from POST /v1/instances to its
// completion event over HTTP, against a bare `bwrap ... true` on the same machine.
//   deno run -A bench/server_latency.ts [ROUNDS]
import { startBackend } from "../tests/server/_backend.ts";
import { bareBwrap, median, runToCompletion, time } from "./server_util.ts";

const rounds = Math.max(5, Number(Deno.args[0] ?? 15));

const backend = await startBackend();
try {
  for (let i = 0; i < 3; i++) {
    await bareBwrap();
    await runToCompletion(backend, { command: "true", disposable: true });
  }
  const bare: number[] = [];
  const server: number[] = [];
  for (let i = 0; i < rounds; i++) {
    bare.push(await time(bareBwrap));
    server.push(await time(() => runToCompletion(backend, { command: "true", disposable: true })));
  }
  const m = { bare: median(bare), server: median(server) };
  console.log(`rounds: ${rounds}`);
  console.log(`bare bwrap true:           median ${m.bare.toFixed(1)} ms`);
  console.log(`server spawn->completion:  median ${m.server.toFixed(1)} ms`);
  console.log(`ratio: ${(m.server / m.bare).toFixed(2)} (target <= 3)`);
} finally {
  await backend.dispose();
}
