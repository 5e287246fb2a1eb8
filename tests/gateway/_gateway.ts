// Starts the gateway under one runtime: `worker/deno.ts` or `worker/bun.ts` as a child process,
// or the bundled Workers entry inside workerd through Miniflare (Node only).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";

export type GatewayKind = "deno" | "bun" | "workerd";

export interface GatewayEnv {
  CONTREE_URL: string;
  CONTREE_TOKEN: string;
  GATEWAY_KEYS: string;
  GATEWAY_CORS_ORIGINS?: string;
}

export interface RunningGateway {
  kind: GatewayKind;
  url: string;
  /** Everything the gateway printed (access-log lines included). */
  output(): string;
  /** Resident memory of the process that serves requests, in bytes. */
  rss(): number;
  /** CPU time (user + system) that process has used so far, in seconds. */
  cpu(): number;
  stop(): Promise<void>;
}

export const root: string = new URL("../../", import.meta.url).pathname;
const bin = (name: string) => join(root, "node_modules/.bin", name);

/** VmRSS of a process, from /proc. */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return kb ? Number(kb[1]) * 1024 : 0;
}

/** User + system CPU seconds of a process, from /proc (clock ticks of 1/100 s). */
export function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function childEnv(env: GatewayEnv): Record<string, string> {
  const base: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "NODE_EXTRA_CA_CERTS", "TMPDIR"]) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  return { ...base, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", PORT: "0", ...env };
}

/** Starts `entry` (by default the runtime's own in `worker/`) under Deno or Bun. */
export async function startProcess(
  kind: "deno" | "bun",
  env: GatewayEnv,
  entry = join(root, `worker/${kind}.ts`),
): Promise<RunningGateway> {
  const args = kind === "deno" ? ["run", "-A", "--no-check", entry] : [entry];
  const child: ChildProcess = spawn(bin(kind), args, {
    env: childEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${kind} gateway did not start:\n${output}`)),
      30_000,
    );
    const onData = (chunk: Uint8Array) => {
      output += new TextDecoder().decode(chunk);
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1].replace(/\/$/, ""));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} gateway exited (${code}):\n${output}`));
    });
  });
  return {
    kind,
    url,
    output: () => output,
    rss: () => rssOf(child.pid!),
    cpu: () => cpuOf(child.pid!),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** The newest workerd process started by this process (Miniflare's child). */
function workerdPid(): number {
  const mine = String(process.pid);
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[1] === mine && stat.includes("(workerd)")) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  if (found.length === 0) throw new Error("no workerd child process found");
  return Math.max(...found);
}

/** Bundles the Workers entry point with esbuild, as `wrangler deploy` would. */
export function bundleWorker(): string {
  const dir = mkdtempSync(join(tmpdir(), "gateway-bundle-"));
  try {
    const out = join(dir, "worker.js");
    execFileSync(bin("esbuild"), [
      join(root, "worker/cloudflare.ts"),
      "--bundle",
      "--format=esm",
      "--platform=neutral",
      "--main-fields=module,main",
      "--conditions=workerd,worker,browser",
      "--log-level=warning",
      `--outfile=${out}`,
    ]);
    return readFileSync(out, "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The compatibility date and flags of worker/wrangler.toml, so tests run what deploys. */
export function wranglerCompat(): { compatibilityDate: string; compatibilityFlags: string[] } {
  const toml = readFileSync(join(root, "worker/wrangler.toml"), "utf8");
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? "";
  if (!date) throw new Error("worker/wrangler.toml has no compatibility_date");
  return {
    compatibilityDate: date,
    compatibilityFlags: [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1]),
  };
}

async function startWorkerd(env: GatewayEnv): Promise<RunningGateway> {
  const { Miniflare } = await import("miniflare");
  let output = "";
  const mf = new Miniflare({
    modules: true,
    script: bundleWorker(),
    ...wranglerCompat(),
    cf: false,
    bindings: { ...env },
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      stdout.on("data", (chunk: Uint8Array) => output += new TextDecoder().decode(chunk));
      stderr.on("data", (chunk: Uint8Array) => output += new TextDecoder().decode(chunk));
    },
  });
  const url = (await mf.ready).href.replace(/\/$/, "");
  const pid = workerdPid();
  return {
    kind: "workerd",
    url,
    output: () => output,
    rss: () => rssOf(pid),
    cpu: () => cpuOf(pid),
    stop: () => mf.dispose(),
  };
}

/** Starts a gateway of `kind` with `env`; resolves once it listens. */
export function startGateway(kind: GatewayKind, env: GatewayEnv): Promise<RunningGateway> {
  return kind === "workerd" ? startWorkerd(env) : startProcess(kind, env);
}
