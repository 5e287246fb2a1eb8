// Snapshot cost and run latency of the local backend's sandboxes (medians).
//   deno run -A bench/server_snapshot.ts [runs]
// 1. A non-disposable `touch /x` (workspace + sandbox + commit) on a 1 GiB image vs on the
//    busybox image: copy-on-write layers make the ratio ~1 (target <= 1.2).
// 2. Latency of `true` through runSandbox vs a bare `bwrap ... true` with the same namespaces.
// 3. Flattening the 1 GiB image into one layer (hard links, no data copy).
// 4. The cost of a disk cap: the same `touch /x` in a capped workspace (its own loop-mounted
//    ext4, moved out at commit) vs the plain one. Only runs with a cap pay it.
import { busyboxRootfs, LayerStore } from "../server/images/layer_store.ts";
import { runSandbox } from "../server/sandbox/run.ts";
import { median } from "./_wire_bench.ts";

const RUNS = Math.max(5, Number(Deno.args[0] ?? 20));

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/**
 * One run of `command` on `layers`; commits (and removes the new layer) unless disposable.
 * With `cap`, the run writes into a capped workspace of that many bytes.
 */
async function runOnce(
  store: LayerStore,
  layers: string[],
  command: string[],
  disposable: boolean,
  cap?: number,
): Promise<void> {
  const ws = cap === undefined ? store.createWorkspace() : await store.createCappedWorkspace(cap);
  const result = await runSandbox({
    layers: layers.map((id) => store.path(id)),
    command: command[0],
    args: command.slice(1),
    env: {},
    cwd: "/",
    uid: 0,
    gid: 0,
    hostname: "bench",
    files: [],
    timeoutMs: 600_000,
    network: false,
    upperDir: ws.upperDir,
    workDir: ws.workDir,
    onOutput: () => {},
  });
  if (result.exitCode !== 0) throw new Error(`${command.join(" ")} exited ${result.exitCode}`);
  if (disposable) return await store.discard(ws.id);
  const layer = await store.commit(ws.id);
  if (layer) await store.remove(layer);
}

const dataDir = await Deno.makeTempDir({ prefix: "contree-bench-" });
const store = new LayerStore(dataDir);
try {
  await store.init();
  const rootfs = await Deno.makeTempDir({ dir: dataDir });
  await busyboxRootfs(rootfs);
  const base = await store.importRootfs(rootfs);

  // A 1 GiB image: 1024 files of 1 MiB in 32 directories, written by a sandboxed run.
  const ws = store.createWorkspace();
  const fill = await runSandbox({
    layers: [store.path(base)],
    command: "/bin/sh",
    args: [
      "-c",
      "for d in $(seq 32); do mkdir -p /big/$d; for f in $(seq 32); do " +
      "head -c 1048576 /dev/urandom > /big/$d/$f; done; done",
    ],
    env: {},
    cwd: "/",
    uid: 0,
    gid: 0,
    hostname: "bench",
    files: [],
    timeoutMs: 600_000,
    network: false,
    upperDir: ws.upperDir,
    workDir: ws.workDir,
    onOutput: () => {},
  });
  if (fill.exitCode !== 0) throw new Error("could not build the 1 GiB image");
  const big = [base, (await store.commit(ws.id))!];
  const gib = (await store.size(big[1])) / 2 ** 30;

  const touch = ["/bin/touch", "/x"];
  const small: number[] = [];
  const large: number[] = [];
  await runOnce(store, [base], touch, false); // warm-up: helper, cgroups, page cache
  for (let i = 0; i < RUNS; i++) {
    small.push(await timed(() => runOnce(store, [base], touch, false)));
    large.push(await timed(() => runOnce(store, big, touch, false)));
  }

  const sandboxed: number[] = [];
  const bare: number[] = [];
  const bwrapTrue = new Deno.Command("bwrap", {
    args: [
      ...["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"],
      ...["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup", "--unshare-net"],
      ...["--die-with-parent", "--new-session", "true"],
    ],
    stdout: "null",
    stderr: "null",
  });
  for (let i = 0; i < RUNS; i++) {
    sandboxed.push(await timed(() => runOnce(store, [base], ["true"], true)));
    bare.push(await timed(() => bwrapTrue.output()));
  }

  const capped: number[] = [];
  const uncapped: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    uncapped.push(await timed(() => runOnce(store, big, touch, false)));
    capped.push(await timed(() => runOnce(store, big, touch, false, 64 * 2 ** 20)));
  }

  const flatten: number[] = [];
  for (let i = 0; i < Math.min(RUNS, 5); i++) {
    let flat = "";
    flatten.push(await timed(async () => flat = await store.flatten(big)));
    await store.remove(flat);
  }

  const ms = (v: number) => `${v.toFixed(1)} ms`;
  console.log(`runs per figure: ${RUNS} (medians)`);
  console.log(`touch /x, committed, busybox image:        ${ms(median(small))}`);
  console.log(`touch /x, committed, ${gib.toFixed(2)} GiB image:       ${ms(median(large))}`);
  console.log(
    `ratio 1 GiB / busybox:                     ${
      (median(large) / median(small)).toFixed(2)
    } (target <= 1.2)`,
  );
  console.log(`true via runSandbox (disposable):          ${ms(median(sandboxed))}`);
  console.log(`true via bare bwrap (same namespaces):     ${ms(median(bare))}`);
  console.log(`overhead runSandbox - bwrap:               ${ms(median(sandboxed) - median(bare))}`);
  console.log(`flatten of the 1 GiB image (2 layers):     ${ms(median(flatten))}`);
  console.log(`touch /x, committed, 64 MiB disk cap:      ${ms(median(capped))}`);
  console.log(
    `ratio capped / uncapped:                   ${(median(capped) / median(uncapped)).toFixed(2)}`,
  );
} finally {
  await store.close();
  await Deno.remove(dataDir, { recursive: true });
}
