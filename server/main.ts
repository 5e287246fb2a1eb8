/**
 * The local ConTree-compatible backend's command line. The token comes from `CONTREE_TOKEN`
 * or `--token-file` (a command-line `--token` shows in `ps`; it still works).
 *
 * ```sh
 * CONTREE_TOKEN=s3cret deno run -A server/main.ts serve --port 8080 --data-dir ./.data
 * deno run -A server/main.ts serve --data-dir ./.data --token-file ./token
 * deno run -A server/main.ts import-rootfs ./rootfs.tar --tag my/base:1 --data-dir ./.data
 * deno run -A server/main.ts import-archive ./image.tar --tag my/app:1 --data-dir ./.data
 * ```
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type BackendConfig, openBackend } from "./backend.ts";
import { LayerError } from "./images/errors.ts";
import { importArchiveInto, importRootfsInto } from "./local_import.ts";
import { ImportError } from "./registry/mod.ts";
import { SandboxError, SandboxUnsupportedError } from "./sandbox/errors.ts";
import { defaultIdRange, type IdRange, parseIdRange } from "./sandbox/id_range.ts";
import { rootlessHostRange, runRootless } from "./sandbox/rootless.ts";
import { DataDirLockedError, OwnerIdsError, tagProblem } from "./store/mod.ts";

const USAGE = `usage:
  deno run -A server/main.ts serve --data-dir DIR [--port PORT] [--host HOST]
      [--token-file FILE] [--max-concurrent N] [--max-queue N] [--max-timeout SECONDS]
      [--max-output BYTES] [--max-body BYTES] [--keepalive SECONDS]
      [--insecure-registry HOST[:PORT]]... [--memory-total BYTES|PERCENT%]
      [--max-layer-bytes BYTES] [--id-range START:COUNT]
    Sandbox uids and gids 0-65535 are host ids START.. (default: the server user's range in
    /etc/subuid and /etc/subgid, else 1073741824:65536 as root).
    The token is read from CONTREE_TOKEN or --token-file (--token TOKEN works too, but shows
    in ps); without any, one is generated and printed.
  deno run -A server/main.ts import-rootfs PATH_OR_TARBALL --tag NAME --data-dir DIR
  deno run -A server/main.ts import-archive FILE_OR_DIR --tag NAME --data-dir DIR [--name IMAGE]`;

/** Settings of `serve`, validated. */
interface ServeConfig extends BackendConfig {
  host: string;
  port: number;
  tokenGenerated: boolean;
}

/** Smallest memory share of one run that `--memory-total` may leave. */
const MIN_RUN_MEMORY = 32 * 1024 * 1024;

/** A mistake in the command line: reported with the usage text, exit status 2. */
class UsageError extends Error {}

/** A condition that stops the command (busy port, missing file): exit status 1. */
class FatalError extends Error {}

function integer(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** The token, from `--token`, `--token-file` or `CONTREE_TOKEN`, in that order; else none. */
function readToken(flag: string | undefined, file: string | undefined): string | undefined {
  if (flag !== undefined && file !== undefined) {
    throw new UsageError("give --token or --token-file, not both");
  }
  let token = flag;
  let source = "--token";
  if (file !== undefined) {
    try {
      token = readFileSync(file, "utf8").replace(/\r?\n$/, "");
    } catch (error) {
      throw new FatalError(`--token-file: cannot read ${file}: ${(error as Error).message}`);
    }
    source = "--token-file";
  } else if (token === undefined && Deno.env.get("CONTREE_TOKEN") !== undefined) {
    token = Deno.env.get("CONTREE_TOKEN");
    source = "CONTREE_TOKEN";
  }
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) {
    throw new UsageError(`${source}: the token must be non-empty printable ASCII without spaces`);
  }
  return token;
}

function idRange(value: string | undefined): IdRange | undefined {
  if (value === undefined) return undefined;
  try {
    return parseIdRange(value);
  } catch (error) {
    throw new UsageError(`--id-range: ${(error as Error).message}`);
  }
}

function parseServe(args: string[]): ServeConfig {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8080" },
      "data-dir": { type: "string" },
      token: { type: "string" },
      "token-file": { type: "string" },
      "max-concurrent": { type: "string" },
      "max-queue": { type: "string" },
      "max-timeout": { type: "string" },
      "max-output": { type: "string" },
      "max-body": { type: "string" },
      keepalive: { type: "string" },
      "insecure-registry": { type: "string", multiple: true },
      "memory-total": { type: "string", default: "50%" },
      "max-layer-bytes": { type: "string" },
      "id-range": { type: "string" },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  if (!values["data-dir"]) throw new UsageError("--data-dir DIR is required");
  const port = integer(values.port, "port", 0)!;
  if (port > 65535) throw new UsageError("--port must be between 0 and 65535");
  const token = readToken(values.token, values["token-file"]);
  const keepalive = integer(values.keepalive, "keepalive", 1);
  const maxConcurrent = integer(values["max-concurrent"], "max-concurrent", 1) ??
    4 * cpus().length;
  const memoryTotal = memoryAmount(values["memory-total"]!, "memory-total");
  if (memoryTotal / maxConcurrent < MIN_RUN_MEMORY) {
    throw new UsageError(
      `--memory-total (${memoryTotal} bytes) leaves less than ${MIN_RUN_MEMORY} bytes to each ` +
        `of the --max-concurrent ${maxConcurrent} runs`,
    );
  }
  return {
    host: values.host!,
    port,
    dataDir: resolve(values["data-dir"]),
    token: token ?? crypto.randomUUID().replaceAll("-", ""),
    tokenGenerated: token === undefined,
    maxConcurrent,
    maxQueue: integer(values["max-queue"], "max-queue", 0),
    maxTimeout: integer(values["max-timeout"], "max-timeout", 1),
    maxOutput: integer(values["max-output"], "max-output", 0),
    maxBody: integer(values["max-body"], "max-body", 1),
    keepaliveMs: keepalive === undefined ? undefined : keepalive * 1000,
    insecureRegistries: values["insecure-registry"] ?? [],
    memoryTotal,
    maxLayerBytes: integer(values["max-layer-bytes"], "max-layer-bytes", 0),
    idRange: idRange(values["id-range"]),
    log: console.log,
  };
}

/** Bytes from `BYTES` or `PERCENT%` (of the host's RAM). */
function memoryAmount(value: string, name: string): number {
  const percent = value.match(/^(\d+(?:\.\d+)?)%$/);
  if (!percent) return integer(value, name, 1)!;
  const share = Number(percent[1]);
  if (!(share > 0 && share <= 100)) {
    throw new UsageError(`--${name} must be a percentage in (0, 100], got ${value}`);
  }
  return Math.floor(totalmem() * share / 100);
}

const REMEDIES: Record<string, string> = {
  root: "run the server as root (e.g. `sudo deno run -A server/main.ts serve ...`)",
  bwrap: "install bubblewrap: `apt-get install -y bubblewrap`",
  overlay: "load overlayfs: `modprobe overlay`",
  "cgroup memory": "enable the cgroup memory controller (cgroup v1 or v2)",
  "cgroup pids": "enable the cgroup pids controller (cgroup v1 or v2)",
};

function remedy(what: string): string {
  if (REMEDIES[what]) return REMEDIES[what];
  if (what.startsWith("gcc")) return "install a C compiler: `apt-get install -y gcc`";
  if (what.startsWith("helper build")) {
    return "install gcc and a static libc: `apt-get install -y gcc libc6-dev`";
  }
  return "see the item itself";
}

/** Explains what the host lacks for sandboxes and how to get it. */
function unsupportedHelp(missing: string[]): string {
  const lines = missing.map((what) => `  - ${what}: ${remedy(what)}`);
  return [
    "error: this machine cannot run sandboxes. Missing:",
    ...lines,
    "On Debian, `bash scripts/setup.sh` (as root) installs every package the server needs.",
  ].join("\n");
}

/**
 * For an ordinary user, runs this command again inside the user namespace of a server
 * without root (see server/sandbox/rootless.ts) and exits with its status; else returns.
 */
async function againWithoutRoot(args: string[], range?: IdRange): Promise<void> {
  if (Deno.uid() === 0 || rootlessHostRange() !== null) return;
  const host = range ?? await defaultIdRange();
  const main = fileURLToPath(import.meta.url);
  Deno.exit(await runRootless(host, [Deno.execPath(), "run", "-A", main, ...args]));
}

async function serve(args: string[]): Promise<void> {
  const config = parseServe(args);
  await againWithoutRoot(["serve", ...args], config.idRange);
  const backend = await openBackend(config);
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: config.host,
      port: config.port,
      onListen: ({ hostname, port }) => {
        if (config.tokenGenerated) console.log(`token: ${config.token}`);
        const host = hostname.includes(":") ? `[${hostname}]` : hostname;
        console.log(`listening on http://${host}:${port}`);
      },
    }, backend.app.fetch);
  } catch (error) {
    await backend.stop();
    if (error instanceof Deno.errors.AddrInUse || error instanceof Deno.errors.AddrNotAvailable) {
      throw new FatalError(`cannot listen on ${config.host}:${config.port}: ${error.message}`);
    }
    throw error;
  }
  const stop = async () => {
    await backend.stop(() => server.shutdown());
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  await server.finished;
}

/** The source, `--tag` and `--data-dir` of an import command, validated. */
function parseImport(args: string[], what: string, extra: { name?: { type: "string" } } = {}) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { tag: { type: "string" }, "data-dir": { type: "string" }, ...extra },
  });
  if (positionals.length !== 1) throw new UsageError(`expected one ${what}`);
  if (!values["data-dir"]) throw new UsageError("--data-dir DIR is required");
  if (!values.tag) throw new UsageError("--tag NAME is required");
  const problem = tagProblem(values.tag);
  if (problem) throw new UsageError(`--tag: ${problem}`);
  return {
    source: resolve(positionals[0]),
    tag: values.tag,
    dataDir: values["data-dir"],
    name: (values as { name?: string }).name,
  };
}

async function importRootfs(args: string[]): Promise<void> {
  const { source, tag, dataDir } = parseImport(args, "PATH_OR_TARBALL");
  await againWithoutRoot(["import-rootfs", ...args]);
  try {
    Deno.statSync(source);
  } catch {
    throw new FatalError(`${source} does not exist`);
  }
  const uuid = await importRootfsInto({ dataDir, source, tag }).catch((error) => {
    throw error instanceof LayerError ? new FatalError(error.message) : error;
  });
  console.log(`imported ${source} as ${uuid} tagged ${tag}`);
}

async function importArchiveCommand(args: string[]): Promise<void> {
  const options = parseImport(args, "FILE_OR_DIR", { name: { type: "string" } });
  await againWithoutRoot(["import-archive", ...args]);
  const { uuid, digest } = await importArchiveInto({ ...options, log: console.log });
  console.log(`imported ${options.source} (${digest}) as ${uuid} tagged ${options.tag}`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    if (command === "serve") await serve(rest);
    else if (command === "import-rootfs") await importRootfs(rest);
    else if (command === "import-archive") await importArchiveCommand(rest);
    else if (command === "-h" || command === "--help" || command === "help") console.log(USAGE);
    else throw new UsageError(command ? `unknown command ${command}` : "a command is required");
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (error instanceof UsageError || code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`error: ${(error as Error).message}\n${USAGE}`);
      Deno.exit(2);
    }
    if (error instanceof SandboxUnsupportedError) {
      console.error(unsupportedHelp(error.missing));
      Deno.exit(1);
    }
    if (
      error instanceof ImportError || error instanceof FatalError ||
      error instanceof DataDirLockedError || error instanceof SandboxError ||
      error instanceof OwnerIdsError
    ) {
      console.error(`error: ${error.message}`);
      Deno.exit(1);
    }
    throw error;
  }
}

if (import.meta.main) await main(Deno.args);
