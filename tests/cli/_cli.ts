// Shared set-up of the CLI tests: a real local backend, a fresh $CONTREE_HOME with a saved
// profile, and `contree` run as a real process, either as the Deno entry (`deno run -A
// cli/main.ts`) or as the binary `bun build --compile` makes.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type Backend, startBackend } from "../server/_backend.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DENO = join(ROOT, "node_modules/.bin/deno");
const BUN = join(ROOT, "node_modules/.bin/bun");

/** How `contree` is started. */
export type Mode = "deno" | "binary" | "bun" | "node";

/** What one invocation did. */
export interface Result {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Uint8Array;
}

/** Options of one invocation. */
export interface InvokeOptions {
  /** Bytes or text for stdin (default: none, `/dev/null`). */
  stdin?: string | Uint8Array;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Working directory (default: the test's scratch directory). */
  cwd?: string;
}

let binary: string | undefined;

/**
 * Builds the binary with `deno task build:cli` (`bun build --compile`, once per process) and
 * returns a private copy of it, so that other test processes rebuilding it do not disturb it.
 */
export function compiledBinary(): string {
  if (binary) return binary;
  const built = spawnSync(DENO, ["task", "build:cli"], { cwd: ROOT, encoding: "utf8" });
  if (built.status !== 0) throw new Error(`deno task build:cli failed:\n${built.stderr}`);
  const out = join(mkdtempSync(join(tmpdir(), "contree-cli-bin-")), "contree");
  copyFileSync(join(ROOT, ".build/contree"), out);
  chmodSync(out, 0o755);
  return binary = out;
}

/** The command line that starts `contree` in `mode`. */
export function commandLine(mode: Mode): string[] {
  return mode === "binary" ? [compiledBinary()] : scriptLine(mode, join(ROOT, "cli/main.ts"));
}

/** The command line that runs the TypeScript file `script` under `runtime`. */
export function scriptLine(runtime: Exclude<Mode, "binary">, script: string): string[] {
  switch (runtime) {
    case "deno":
      return [DENO, "run", "-A", "--no-check", script];
    case "bun":
      return [BUN, script];
    case "node":
      // tsx by path: the scratch directory the CLI runs in has no node_modules.
      return [
        "node",
        "--import",
        pathToFileURL(join(ROOT, "node_modules/tsx/dist/loader.mjs")).href,
        script,
      ];
  }
}

/** A backend, a scratch directory and a CONTREE_HOME with the backend's profile saved. */
export interface CliFixture {
  backend: Backend;
  home: string;
  scratch: string;
  /** Runs `contree ARGS` in `mode`. */
  run(mode: Mode, args: string[], options?: InvokeOptions): Promise<Result>;
  /** Runs a bash script in which `$contree` starts `contree` in `mode`. */
  shell(mode: Mode, script: string, env?: Record<string, string>): Promise<Result>;
  dispose(): Promise<void>;
}

/** Runs a process to its end, collecting its output. */
export function collect(
  argv: string[],
  options: { env: Record<string, string | undefined>; cwd: string; stdin?: string | Uint8Array },
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(argv[0], argv.slice(1), {
      cwd: options.cwd,
      env: options.env,
      stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr!.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const bytes = new Uint8Array(Buffer.concat(out));
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: new TextDecoder().decode(bytes),
        stderr: Buffer.concat(err).toString("utf8"),
        stdoutBytes: bytes,
      });
    });
    if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  });
}

/** Starts a backend (with `backendArgs`) and saves a profile for it with `contree auth`. */
export async function startCli(backendArgs: string[] = []): Promise<CliFixture> {
  const backend = await startBackend({ args: backendArgs });
  const home = mkdtempSync(join(tmpdir(), "contree-cli-home-"));
  const scratch = mkdtempSync(join(tmpdir(), "contree-cli-work-"));
  const baseEnv = () => {
    const env: Record<string, string | undefined> = { ...process.env, CONTREE_HOME: home };
    for (
      const key of [
        "CONTREE_SESSION",
        "CONTREE_PROFILE",
        "CONTREE_TOKEN",
        "CONTREE_URL",
        "FORCE_COLOR",
      ]
    ) {
      delete env[key];
    }
    env.NO_COLOR = "1";
    return env;
  };
  const fixture: CliFixture = {
    backend,
    home,
    scratch,
    run: (mode, args, options = {}) =>
      collect([...commandLine(mode), ...args], {
        env: { ...baseEnv(), ...options.env },
        cwd: options.cwd ?? scratch,
        stdin: options.stdin,
      }),
    shell: (mode, script, env = {}) =>
      collect(["bash", "-c", `contree="${commandLine(mode).join(" ")}"; ${script}`], {
        env: { ...baseEnv(), ...env },
        cwd: scratch,
      }),
    async dispose() {
      await backend.dispose();
      rmSync(home, { recursive: true, force: true });
      rmSync(scratch, { recursive: true, force: true });
    },
  };
  const saved = await fixture.run("deno", [
    "auth",
    "--token",
    backend.token,
    "--url",
    backend.url,
    "--type",
    "jwt",
  ]);
  if (saved.code !== 0) throw new Error(`contree auth failed: ${saved.stderr}`);
  return fixture;
}

/** Parses JSON lines. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line));
}
