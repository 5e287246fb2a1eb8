/**
 * The sandbox helper: a small static C program (`_helper.c` with its parts `_seccomp.c` and
 * `_network.c`) compiled at first use with `gcc -static -O2` into `server/helper/bin/`,
 * keyed by the hash of its sources, so a changed source is rebuilt and concurrent builders
 * never see a half-written binary.
 */
import { fileURLToPath } from "node:url";

const SOURCE_NAMES = ["_helper.c", "_seccomp.c", "_network.c", "_sandbox.h"];
const SOURCES = SOURCE_NAMES.map((name) => fileURLToPath(new URL(`./${name}`, import.meta.url)));
const BIN_DIR = fileURLToPath(new URL("./bin", import.meta.url));

/**
 * The helper cannot be built here; `missing` names what is needed (gcc, a static libc).
 *
 * @example
 * ```ts
 * try {
 *   await helperPath();
 * } catch (error) {
 *   if (error instanceof HelperBuildError) console.error("missing:", error.missing);
 * }
 * ```
 */
export class HelperBuildError extends Error {
  /** What is missing, e.g. `gcc (not found)`. */
  readonly missing: string;

  /** Builds the error from what is missing. */
  constructor(missing: string) {
    super(`the sandbox helper cannot be built: missing ${missing}`);
    this.name = "HelperBuildError";
    this.missing = missing;
  }
}

let built: Promise<string> | undefined;

async function sourceHash(): Promise<string> {
  const sources = await Promise.all(SOURCES.map((path) => Deno.readFile(path)));
  const joined = new Uint8Array(sources.reduce((sum, source) => sum + source.length + 1, 0));
  let at = 0;
  for (const source of sources) {
    joined.set(source, at);
    at += source.length + 1; // a NUL between files: moving text across them changes the hash
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function build(): Promise<string> {
  const hash = await sourceHash();
  const path = `${BIN_DIR}/contree-helper-${hash}`;
  try {
    await Deno.stat(path);
    return path;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(BIN_DIR, { recursive: true });
  const temp = await Deno.makeTempFile({ dir: BIN_DIR, prefix: ".build-" });
  try {
    const gcc = await new Deno.Command("gcc", {
      args: ["-static", "-O2", "-Wall", "-o", temp, ...SOURCES.filter((p) => p.endsWith(".c"))],
      stdout: "null",
      stderr: "piped",
    }).output().catch((error) => {
      throw new HelperBuildError(`gcc (${error.message})`);
    });
    if (!gcc.success) {
      const reason = new TextDecoder().decode(gcc.stderr).trim().split("\n").slice(-3).join("; ");
      throw new HelperBuildError(`helper build (gcc -static: ${reason})`);
    }
    await Deno.chmod(temp, 0o755);
    await Deno.rename(temp, path);
    return path;
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
}

/**
 * The host path of the helper binary, building it on first use. Throws
 * {@linkcode HelperBuildError} when it cannot be built (no gcc or no static libc).
 *
 * @example
 * ```ts
 * const helper = await helperPath(); // ".../server/helper/bin/contree-helper-1a2b3c4d5e6f7a8b"
 * ```
 */
export function helperPath(): Promise<string> {
  built ??= build().catch((error) => {
    built = undefined;
    throw error;
  });
  return built;
}
