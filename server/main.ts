/**
 * The local ConTree-compatible backend.
 *
 * ```sh
 * deno run -A server/main.ts serve --port 8080 --data-dir ./.data --token s3cret
 * deno run -A server/main.ts import-rootfs ./rootfs.tar --tag my/base:1 --data-dir ./.data
 * deno run -A server/main.ts import-archive ./image.tar --tag my/app:1 --data-dir ./.data
 * ```
 *
 * @module
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createApp } from "./api/mod.ts";
import { LayerError } from "./images/errors.ts";
import { busyboxRootfs, LayerStore } from "./images/layer_store.ts";
import { EventHub, OperationEngine } from "./ops/mod.ts";
import { describeProgress, importArchive, ImportCache, ImportError } from "./registry/mod.ts";
import { checkSandboxSupport } from "./sandbox/run.ts";
import { getMeta, isoTime, setMeta, Store, tagProblem } from "./store/mod.ts";

const USAGE = `usage:
  deno run -A server/main.ts serve --data-dir DIR [--port PORT] [--host HOST] [--token TOKEN]
      [--max-concurrent N] [--max-queue N] [--max-timeout SECONDS] [--max-output BYTES]
      [--max-body BYTES] [--keepalive SECONDS] [--insecure-registry HOST[:PORT]]...
  deno run -A server/main.ts import-rootfs PATH_OR_TARBALL --tag NAME --data-dir DIR
  deno run -A server/main.ts import-archive FILE_OR_DIR --tag NAME --data-dir DIR [--name IMAGE]`;

const BASE_TAG = "busybox:latest";

/** Settings of `serve`, validated. */
interface ServeConfig {
  host: string;
  port: number;
  dataDir: string;
  token: string;
  tokenGenerated: boolean;
  maxConcurrent: number;
  maxQueue: number;
  maxTimeout: number;
  maxOutput: number;
  maxBody: number;
  keepaliveMs: number;
  /** Registries (`host` or `host:port`) imported from over plain HTTP. */
  insecureRegistries: string[];
}

/** A mistake in the command line: reported with the usage text, exit status 2. */
class UsageError extends Error {}

/** A condition that stops the command (busy port, locked data dir): exit status 1. */
class FatalError extends Error {}

function integer(value: string | undefined, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return n;
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
      "max-concurrent": { type: "string" },
      "max-queue": { type: "string" },
      "max-timeout": { type: "string" },
      "max-output": { type: "string" },
      "max-body": { type: "string" },
      keepalive: { type: "string" },
      "insecure-registry": { type: "string", multiple: true },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  if (!values["data-dir"]) throw new UsageError("--data-dir DIR is required");
  const port = integer(values.port, "port", 0, 8080);
  if (port > 65535) throw new UsageError("--port must be between 0 and 65535");
  if (values.token !== undefined && !/^[\x21-\x7e]+$/.test(values.token)) {
    throw new UsageError("--token must be non-empty printable ASCII without spaces");
  }
  const token = values.token ?? crypto.randomUUID().replaceAll("-", "");
  return {
    host: values.host!,
    port,
    dataDir: resolve(values["data-dir"]),
    token,
    tokenGenerated: values.token === undefined,
    maxConcurrent: integer(values["max-concurrent"], "max-concurrent", 1, 4 * cpus().length),
    maxQueue: integer(values["max-queue"], "max-queue", 0, 1024),
    maxTimeout: integer(values["max-timeout"], "max-timeout", 1, 3600),
    maxOutput: integer(values["max-output"], "max-output", 0, 128 * 1024 * 1024),
    maxBody: integer(values["max-body"], "max-body", 1, 1024 * 1024 * 1024),
    keepaliveMs: integer(values.keepalive, "keepalive", 1, 15) * 1000,
    insecureRegistries: values["insecure-registry"] ?? [],
  };
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

/** Makes sure only one server uses a data directory; returns the release function. */
function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, "server.pid");
  let other: number | undefined;
  try {
    other = Number(readFileSync(file, "utf8").trim());
  } catch { /* no lock file */ }
  if (other && other !== Deno.pid) {
    let cmdline = "";
    try {
      cmdline = readFileSync(`/proc/${other}/cmdline`, "utf8");
    } catch { /* not running */ }
    if (cmdline.includes("serve")) {
      throw new FatalError(`another server (pid ${other}) is using ${dataDir}; stop it first`);
    }
  }
  writeFileSync(file, `${Deno.pid}\n`);
  return () => rmSync(file, { force: true });
}

/** Builds the `busybox:latest` base image once per data directory. */
async function ensureBaseImage(store: Store, layers: LayerStore): Promise<void> {
  if (getMeta(store.db, "base_image") !== undefined) return;
  const dir = mkdtempSync(join(tmpdir(), "contree-busybox-"));
  try {
    await busyboxRootfs(dir);
    const layer = await layers.importRootfs(dir);
    const uuid = crypto.randomUUID();
    store.images.insert({
      uuid,
      tag: null,
      created_at: isoTime(),
      operation_uuid: null,
      parent: null,
      layers: [layer],
      env: {},
      workdir: "",
    });
    store.images.setTag(uuid, BASE_TAG);
    setMeta(store.db, "base_image", uuid);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function serve(args: string[]): Promise<void> {
  const config = parseServe(args);
  const support = await checkSandboxSupport();
  if (!support.ok) {
    console.error(unsupportedHelp(support.missing));
    Deno.exit(1);
  }
  const unlock = lockDataDir(config.dataDir);
  const store = new Store(config.dataDir);
  const layers = new LayerStore(config.dataDir);
  await layers.init();
  const importCache = new ImportCache(join(config.dataDir, "imports"));
  await importCache.init();
  await ensureBaseImage(store, layers);
  const referenced = new Set([...store.images.layerIds(), ...await importCache.layerIds()]);
  const pruned = await layers.prune(referenced);
  if (pruned.length > 0) console.log(`removed ${pruned.length} layer(s) no image refers to`);
  const hub = new EventHub(store.db, store.events);
  const engine = new OperationEngine({
    store,
    hub,
    layers,
    maxConcurrent: config.maxConcurrent,
    maxQueue: config.maxQueue,
    imports: { cache: importCache, insecureRegistries: config.insecureRegistries },
  });
  engine.recover();
  const limits = { maxTimeout: config.maxTimeout, maxOutput: config.maxOutput };
  const app = createApp({
    store,
    engine,
    hub,
    layers,
    token: config.token,
    limits,
    maxBodyBytes: config.maxBody,
    keepaliveMs: config.keepaliveMs,
  });
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
    }, app.fetch);
  } catch (error) {
    await engine.stop();
    store.close();
    unlock();
    if (error instanceof Deno.errors.AddrInUse || error instanceof Deno.errors.AddrNotAvailable) {
      throw new FatalError(`cannot listen on ${config.host}:${config.port}: ${error.message}`);
    }
    throw error;
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await engine.stop();
    await server.shutdown();
    store.close();
    unlock();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  await server.finished;
}

async function importRootfs(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { tag: { type: "string" }, "data-dir": { type: "string" } },
  });
  if (positionals.length !== 1) throw new UsageError("expected one PATH_OR_TARBALL");
  if (!values["data-dir"]) throw new UsageError("--data-dir DIR is required");
  if (!values.tag) throw new UsageError("--tag NAME is required");
  const problem = tagProblem(values.tag);
  if (problem) throw new UsageError(`--tag: ${problem}`);
  const source = resolve(positionals[0]);
  try {
    Deno.statSync(source);
  } catch {
    throw new FatalError(`${source} does not exist`);
  }
  const dataDir = resolve(values["data-dir"]);
  const unlock = lockDataDir(dataDir);
  const store = new Store(dataDir);
  try {
    const layers = new LayerStore(dataDir);
    await layers.init();
    const layer = await layers.importRootfs(source).catch((error) => {
      throw error instanceof LayerError ? new FatalError(error.message) : error;
    });
    const uuid = crypto.randomUUID();
    store.images.insert({
      uuid,
      tag: null,
      created_at: isoTime(),
      operation_uuid: null,
      parent: null,
      layers: [layer],
      env: {},
      workdir: "",
    });
    store.images.setTag(uuid, values.tag);
    console.log(`imported ${source} as ${uuid} tagged ${values.tag}`);
  } finally {
    store.close();
    unlock();
  }
}

async function importArchiveCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      tag: { type: "string" },
      "data-dir": { type: "string" },
      name: { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new UsageError("expected one FILE_OR_DIR");
  if (!values["data-dir"]) throw new UsageError("--data-dir DIR is required");
  if (!values.tag) throw new UsageError("--tag NAME is required");
  const problem = tagProblem(values.tag);
  if (problem) throw new UsageError(`--tag: ${problem}`);
  const source = resolve(positionals[0]);
  const dataDir = resolve(values["data-dir"]);
  const unlock = lockDataDir(dataDir);
  const store = new Store(dataDir);
  try {
    const layers = new LayerStore(dataDir);
    await layers.init();
    const cache = new ImportCache(join(dataDir, "imports"));
    await cache.init();
    const result = await importArchive({
      path: source,
      name: values.name,
      layerStore: layers,
      cache,
      onProgress: (event) => {
        const line = describeProgress(event);
        if (line) console.log(line.trimEnd());
      },
    });
    let image = store.images.byContent(result.layers, result.config.env, result.config.workdir);
    if (!image) {
      image = {
        uuid: crypto.randomUUID(),
        tag: null,
        created_at: isoTime(),
        operation_uuid: null,
        parent: null,
        layers: result.layers,
        env: result.config.env,
        workdir: result.config.workdir,
      };
      store.images.insert(image);
    }
    store.images.setTag(image.uuid, values.tag);
    console.log(`imported ${source} (${result.digest}) as ${image.uuid} tagged ${values.tag}`);
  } finally {
    store.close();
    unlock();
  }
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
    if (error instanceof ImportError) {
      console.error(`error: ${error.message}`);
      Deno.exit(1);
    }
    if (error instanceof FatalError) {
      console.error(`error: ${error.message}`);
      Deno.exit(1);
    }
    throw error;
  }
}

if (import.meta.main) await main(Deno.args);
