// Shared set-up of the sandbox and image tests: a layer store in a temp dir with a busybox
// base layer, and a helper that runs one command and commits its changes.
import { busyboxRootfs, LayerStore } from "../../server/images/layer_store.ts";
import { runSandbox, type SandboxResult, type SandboxSpec } from "../../server/sandbox/run.ts";

/** A store with a busybox base layer; `close()` removes everything. */
export interface Fixture {
  store: LayerStore;
  dataDir: string;
  base: string;
  close(): Promise<void>;
}

export async function makeFixture(): Promise<Fixture> {
  const dataDir = await Deno.makeTempDir({ prefix: "contree-test-" });
  const store = new LayerStore(dataDir);
  await store.init();
  const rootfs = await Deno.makeTempDir({ prefix: "contree-rootfs-" });
  await busyboxRootfs(rootfs);
  const base = await store.importRootfs(rootfs);
  await Deno.remove(rootfs, { recursive: true });
  return {
    store,
    dataDir,
    base,
    close: () => Deno.remove(dataDir, { recursive: true }),
  };
}

export interface RunOutcome {
  result: SandboxResult;
  stdout: string;
  stderr: string;
  /** Output chunks in arrival order. */
  chunks: { stream: "stdout" | "stderr"; text: string }[];
  /** The committed layer (null: nothing changed; undefined: not committed). */
  layer?: string | null;
}

export type RunOptions =
  & Partial<Omit<SandboxSpec, "layers" | "upperDir" | "workDir" | "onOutput">>
  & {
    /** Commit the changes (default) or discard them. */
    commit?: boolean;
    /** Called with each output chunk as it arrives. */
    onChunk?(stream: "stdout" | "stderr", text: string): void;
  };

/** Runs `sh -c script` (or `command`/`args` when given) on the layer ids `layers`. */
export async function run(
  store: LayerStore,
  layers: string[],
  script: string,
  options: RunOptions = {},
): Promise<RunOutcome> {
  const ws = store.createWorkspace();
  const decoder = new TextDecoder();
  const chunks: RunOutcome["chunks"] = [];
  const { commit = true, onChunk, ...rest } = options;
  const result = await runSandbox({
    command: "/bin/sh",
    args: ["-c", script],
    env: {},
    cwd: "/",
    uid: 0,
    gid: 0,
    hostname: "sandbox",
    files: [],
    timeoutMs: 30_000,
    network: false,
    ...rest,
    layers: layers.map((id) => store.path(id)),
    upperDir: ws.upperDir,
    workDir: ws.workDir,
    onOutput: (stream, chunk) => {
      const text = decoder.decode(chunk);
      chunks.push({ stream, text });
      onChunk?.(stream, text);
    },
  }).catch(async (error) => {
    await store.discard(ws.id);
    throw error;
  });
  const text = (stream: string) =>
    chunks.filter((c) => c.stream === stream).map((c) => c.text).join("");
  const outcome: RunOutcome = { result, stdout: text("stdout"), stderr: text("stderr"), chunks };
  if (commit) outcome.layer = await store.commit(ws.id);
  else await store.discard(ws.id);
  return outcome;
}

/** Runs `script` and returns the new stack (the same stack when nothing changed). */
export async function step(
  store: LayerStore,
  layers: string[],
  script: string,
  options: RunOptions = {},
): Promise<string[]> {
  const { layer, result, stderr } = await run(store, layers, script, options);
  if (result.exitCode !== 0) throw new Error(`step failed (${result.exitCode}): ${stderr}`);
  return layer ? [...layers, layer] : layers;
}
