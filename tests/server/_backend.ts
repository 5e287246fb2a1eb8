// Starts the local backend (server/main.ts) as a real process for tests, under any runtime:
// only node:child_process, node:fs, node:path, node:os and fetch are used.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DENO = join(ROOT, "node_modules/.bin/deno");

/** Options of {@linkcode startBackend}. */
export interface BackendOptions {
  /** Data directory to use (default: a fresh temporary one, removed by `dispose`). */
  dataDir?: string;
  /** Bearer token (default: a random one). */
  token?: string;
  /** How the token reaches the server: `CONTREE_TOKEN` (default) or a `--token-file`. */
  tokenVia?: "env" | "file";
  /** Extra `serve` arguments, e.g. `["--max-concurrent", "2"]`. */
  args?: string[];
  /** A checkout of this repository to run `server/main.ts` from (default: this one). */
  checkout?: string;
  /** How long to wait for the `listening on` line, in ms (default 120000). */
  startTimeoutMs?: number;
}

/** A running backend. `url` and `pid` change on `restart`. */
export interface Backend {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  url: string;
  /** The bearer token. */
  token: string;
  /** The data directory. */
  dataDir: string;
  /** Process id of the server. */
  pid: number;
  /** What the server printed (stdout and stderr), for failure messages. */
  logs(): string;
  /** SIGTERM, then wait for the exit (SIGKILL after 15 s). */
  stop(): Promise<void>;
  /** SIGKILL, then wait for the exit. */
  kill9(): Promise<void>;
  /** Starts the server again on the same data directory (stopping it first if running). */
  restart(): Promise<void>;
  /** Stops the server and removes a data directory this helper created. */
  dispose(): Promise<void>;
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise((resolve) => child.once("exit", resolve));
  }
  // Deno's node:child_process can report the exit while the process still runs its last
  // steps (a server unmounting its workspaces): wait until it is gone.
  for (let i = 0; i < 600 && existsSync(`/proc/${child.pid}`); i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Starts `deno run -A server/main.ts serve --port 0 --data-dir DIR` with the token in
 * `CONTREE_TOKEN` (never on the command line) and waits for its `listening on
 * http://HOST:PORT` line.
 */
export async function startBackend(options: BackendOptions = {}): Promise<Backend> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "contree-backend-"));
  const token = options.token ?? `test-${Math.random().toString(36).slice(2)}`;
  let child: ChildProcess | undefined;
  let output = "";
  const { CONTREE_TOKEN: _inherited, ...childEnv } = process.env;
  let tokenArgs: string[] = [];
  let tokenDir: string | undefined;
  let tokenEnv: Record<string, string> = { CONTREE_TOKEN: token };
  if (options.tokenVia === "file") {
    tokenDir = mkdtempSync(join(tmpdir(), "contree-token-"));
    const file = join(tokenDir, "token");
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    tokenArgs = ["--token-file", file];
    tokenEnv = {};
  }

  const launch = () =>
    new Promise<{ url: string; child: ChildProcess }>((resolve, reject) => {
      const proc = spawn(DENO, [
        "run",
        "-A",
        "server/main.ts",
        "serve",
        "--port",
        "0",
        "--data-dir",
        dataDir,
        ...tokenArgs,
        ...(options.args ?? []),
      ], {
        cwd: options.checkout ?? ROOT,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...childEnv, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...tokenEnv },
      });
      let stdoutBuffer = "";
      let done = false;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        proc.kill("SIGKILL");
        reject(new Error(`backend did not start in time:\n${output}`));
      }, options.startTimeoutMs ?? 120_000);
      const keep = (text: string) => {
        output = (output + text).slice(-200_000);
      };
      proc.stderr!.on("data", (data: Uint8Array) => keep(new TextDecoder().decode(data)));
      proc.stdout!.on("data", (data: Uint8Array) => {
        const text = new TextDecoder().decode(data);
        keep(text);
        stdoutBuffer += text;
        const match = /listening on (http:\/\/\S+)/.exec(stdoutBuffer);
        if (match && !done) {
          done = true;
          clearTimeout(timer);
          resolve({ url: match[1].replace(/\/$/, ""), child: proc });
        }
      });
      proc.once("exit", (code, signal) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        reject(new Error(`backend exited (${code ?? signal}) before listening:\n${output}`));
      });
    });

  const started = await launch();
  child = started.child;
  const backend: Backend = {
    url: started.url,
    token,
    dataDir,
    pid: child.pid!,
    logs: () => output,
    async stop() {
      if (!child) return;
      const proc = child;
      child = undefined;
      const killer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      proc.kill("SIGTERM");
      await exited(proc);
      clearTimeout(killer);
    },
    async kill9() {
      if (!child) return;
      const proc = child;
      child = undefined;
      proc.kill("SIGKILL");
      await exited(proc);
    },
    async restart() {
      await backend.stop();
      const again = await launch();
      child = again.child;
      backend.url = again.url;
      backend.pid = again.child.pid!;
    },
    async dispose() {
      await backend.stop();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
      if (tokenDir) rmSync(tokenDir, { recursive: true, force: true });
    },
  };
  return backend;
}
