// Starts the local backend (server/main.ts) as a real process for tests, under any runtime:
// only node:child_process, node:fs, node:path, node:os and fetch are used.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DENO = join(ROOT, "node_modules/.bin/deno");

/**
 * The user the tests' servers run as: `CONTREE_TEST_SERVER_USER` (e.g. `contree-test`, made by
 * scripts/setup.sh with a subordinate id range: a server without root); unset, the runner's.
 */
export const SERVER_USER: string | undefined = process.env.CONTREE_TEST_SERVER_USER || undefined;

interface ServerUser {
  uid: number;
  gid: number;
  /** Its HOME and DENO_DIR. */
  home: string;
}

const serverUsers = new Map<string, ServerUser>();

function run(command: string, args: string[], cwd = ROOT): string {
  const out = spawnSync(command, args, { cwd, encoding: "utf8" });
  if (out.status !== 0) throw new Error(`${command} ${args.join(" ")}: ${out.stderr}`);
  return out.stdout.trim();
}

/** SERVER_USER's ids, with the helper of `checkout` built first (the user cannot build it). */
function serverUser(name: string, checkout: string): ServerUser {
  const key = `${name}\0${checkout}`;
  let user = serverUsers.get(key);
  if (!user) {
    const home = mkdtempSync(join(tmpdir(), `contree-${name}-home-`));
    user = { uid: Number(run("id", ["-u", name])), gid: Number(run("id", ["-g", name])), home };
    chownSync(home, user.uid, user.gid);
    const as = [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups"];
    if (
      spawnSync("setpriv", [...as, "test", "-r", join(checkout, "server/main.ts")]).status !== 0
    ) {
      throw new Error(
        `${name} cannot read ${checkout} (a parent directory is not searchable by other ` +
          "users): the tests of a server without root need a checkout other users can read",
      );
    }
    process.once("exit", () => rmSync(home, { recursive: true, force: true }));
    const build = 'import { helperPath } from "./server/helper/mod.ts"; await helperPath();';
    run(DENO, ["eval", build], checkout);
    serverUsers.set(key, user);
  }
  return user;
}

/** Gives `path` (a data directory, a token file) to SERVER_USER, when set. */
export function giveToServerUser(path: string): void {
  if (!SERVER_USER) return;
  const { uid, gid } = serverUser(SERVER_USER, ROOT);
  chownSync(path, uid, gid);
}

/**
 * How to run `deno run -A server/main.ts ARGS` from `checkout`: as SERVER_USER when set
 * (through `setpriv`, with a HOME and DENO_DIR of its own).
 */
export function serverCommand(
  args: string[],
  checkout = ROOT,
): { command: string; args: string[]; env: Record<string, string> } {
  const deno = ["run", "-A", "server/main.ts", ...args];
  if (!SERVER_USER) return { command: DENO, args: deno, env: {} };
  const { uid, gid, home } = serverUser(SERVER_USER, checkout);
  return {
    command: "setpriv",
    args: [`--reuid=${uid}`, `--regid=${gid}`, "--init-groups", DENO, ...deno],
    env: { HOME: home, DENO_DIR: home },
  };
}

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
  giveToServerUser(dataDir);
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
    giveToServerUser(tokenDir);
    giveToServerUser(file);
    tokenArgs = ["--token-file", file];
    tokenEnv = {};
  }

  const launch = () =>
    new Promise<{ url: string; child: ChildProcess }>((resolve, reject) => {
      const server = serverCommand(
        ["serve", "--port", "0", "--data-dir", dataDir, ...tokenArgs, ...(options.args ?? [])],
        options.checkout,
      );
      const proc = spawn(server.command, server.args, {
        cwd: options.checkout ?? ROOT,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...childEnv,
          NO_COLOR: "1",
          DENO_NO_UPDATE_CHECK: "1",
          ...tokenEnv,
          ...server.env,
        },
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
