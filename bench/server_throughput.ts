// Throughput of the local backend: disposable `true` runs completed per second with 16
// concurrent clients (each spawns, then follows the events to completion), and the error
// count; the baseline is 16 concurrent bare `bwrap ... true` loops.
//   deno run -A bench/server_throughput.ts [ROUNDS] [RUNS_PER_ROUND]
import { startBackend } from "../tests/server/_backend.ts";
import { bareBwrap, median, runToCompletion } from "./server_util.ts";

const CLIENTS = 16;
const rounds = Math.max(5, Number(Deno.args[0] ?? 5));
const perRound = Number(Deno.args[1] ?? 160);

async function round(job: () => Promise<unknown>): Promise<{ rate: number; errors: number }> {
  let next = 0;
  let errors = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next++ < perRound) {
      try {
        await job();
      } catch (error) {
        errors++;
        if (errors <= 3) console.error(`error: ${(error as Error).message}`);
      }
    }
  }));
  return { rate: perRound / ((performance.now() - start) / 1000), errors };
}

const backend = await startBackend();
try {
  const server = () => runToCompletion(backend, { command: "true", disposable: true });
  await round(server);
  const bare: number[] = [];
  const served: number[] = [];
  let errors = 0;
  for (let i = 0; i < rounds; i++) {
    bare.push((await round(bareBwrap)).rate);
    const r = await round(server);
    served.push(r.rate);
    errors += r.errors;
  }
  console.log(`rounds: ${rounds} x ${perRound} runs, ${CLIENTS} concurrent clients`);
  console.log(`bare bwrap true:  median ${median(bare).toFixed(1)} runs/s`);
  console.log(`server:           median ${median(served).toFixed(1)} runs/s`);
  console.log(`errors: ${errors} (target 0)`);
} finally {
  await backend.dispose();
}
