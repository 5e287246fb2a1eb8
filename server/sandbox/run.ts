/**
 * Runs one command in a sandbox: an overlay of the image's layers (mounted in a private
 * mount namespace) as the root of a bubblewrap sandbox with its own pid, ipc, uts, cgroup,
 * mount and network namespaces, memory and pids limited by a cgroup, and a static helper
 * as pid 1 that starts the command without any privilege and reports its exit and rusage.
 * While the command runs, more processes can join the sandbox (`RunningSandbox`).
 */
import { dirname } from "node:path";
import { cgroupControllers, memoryTotal, type RunCgroup, setMemoryTotal } from "./_cgroups.ts";
import { SandboxError, SandboxNotRunningError, SandboxUnsupportedError } from "./errors.ts";
import type { RunningSandbox, SandboxProcess, SandboxResources } from "./exec.ts";
import { startProcess } from "./_exec.ts";
import { helperPath } from "./_helper_path.ts";
import { defaultIdRange, type IdRange } from "./id_range.ts";
import { ROOTLESS_SANDBOX_IDS, rootlessHostRange, rootlessNetworking } from "./rootless.ts";
import { type LauncherPool, sendRunArgs, startLauncher } from "./launcher_pool.ts";
import { bindHostResolver, networkLaunchArgs } from "./_network.ts";
import { nulTerminated } from "./_nul_list.ts";
import { pump, readHeader } from "./_pipes.ts";
import { placeFiles, type SandboxFile } from "./_place_files.ts";
import { readReport, ZERO_RESOURCES } from "./_report.ts";
import { skeletonDir } from "./_skeleton.ts";
import { processProblem } from "./_validate.ts";
import { which } from "./_which.ts";

export type { SandboxFile, SandboxResources };

/** Resource limits of a run; a missing field takes the default of {@linkcode defaultLimits}. */
export interface SandboxLimits {
  /** Memory (RSS and page cache) of all the run's processes together. */
  memoryBytes?: number;
  /** Processes and threads alive at once. */
  pids?: number;
}

/** What to run, where, and how to report. */
export interface SandboxSpec {
  /** Absolute layer directories, lowest first (from `LayerStore.path`). */
  layers: string[];
  /** The final argv: the executable (looked up in the sandbox's PATH) and its arguments. */
  command: string;
  /** Arguments after `command`. */
  args: string[];
  /** The whole environment; `PATH` defaults to {@linkcode DEFAULT_PATH}. */
  env: Record<string, string>;
  /** Absolute working directory; the command fails with 125 when it does not exist. */
  cwd: string;
  /**
   * User id the command runs as, in the sandbox's own user namespace (0: its root, with every
   * capability of that namespace and none over the host).
   */
  uid: number;
  /** Group id the command runs as (its only group). */
  gid: number;
  /** Hostname inside the sandbox (own UTS namespace). */
  hostname: string;
  /**
   * Stdin: these bytes then EOF, or what the stream yields until it ends (then EOF) or the
   * run ends; absent = /dev/null.
   */
  stdin?: Uint8Array | ReadableStream<Uint8Array>;
  /** Placed into the upper layer with their mode and owner before start. */
  files: SandboxFile[];
  /** Run time limit; on expiry the whole process tree is killed and `timedOut` is set. */
  timeoutMs: number;
  /**
   * Reach the outside world: an own network namespace wired by pasta, with no path to the
   * host's loopback or the server (otherwise the sandbox has only its own loopback).
   */
  network: boolean;
  /** Defaults: {@linkcode defaultLimits}. */
  limits?: SandboxLimits;
  /** Host ids of the sandbox's user namespace; default {@linkcode defaultIdRange}. */
  ids?: IdRange;
  /** Where warm launchers come from (see {@linkcode LauncherPool}); else one is started. */
  launchers?: LauncherPool;
  /** From `LayerStore.createWorkspace()`: the run's changes land in `upperDir`. */
  upperDir: string;
  /** From `LayerStore.createWorkspace()`: overlayfs' scratch directory. */
  workDir: string;
  /** Abort = cancel: the whole process tree is killed at once and `cancelled` is set. */
  signal?: AbortSignal;
  /** Output as it is produced. */
  onOutput(stream: "stdout" | "stderr", chunk: Uint8Array): void;
  /**
   * Called once the sandbox process is started, with the handle that starts more processes
   * in the sandbox while its command runs.
   */
  onSpawn?(info: { pid: number; startedAt: Date; sandbox: RunningSandbox }): void;
}

/** How the command ended. */
export interface SandboxResult {
  /** Exit status; -1 when killed by a signal. */
  exitCode: number;
  /** Terminating signal number; -1 when not signalled. */
  signal: number;
  /** The time limit was reached and everything was killed. */
  timedOut: boolean;
  /** The run was aborted through `signal` and everything was killed. */
  cancelled: boolean;
  /** Host pid of the sandbox process (bwrap); its pid namespace holds the whole run. */
  pid: number;
  /** Wall-clock time from spawn to exit, milliseconds. */
  durationMs: number;
  /** All zero when the run was killed from outside (cancel, or the host-side time backstop). */
  resources: SandboxResources;
  /**
   * The kernel's OOM killer killed at least one of the run's processes: the run reached its
   * memory limit, or all sandboxes together reached theirs ({@linkcode configureSandboxMemory}).
   */
  oomKilled: boolean;
}

/** The PATH of a run whose env has none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Where the helper is bound inside the sandbox (the /dev tmpfs, never the image). */
const INIT_PATH = "/dev/.contree-init";
/**
 * Where the launcher puts the overlay (`/mnt/root`) and the helper (`/mnt/init`) for bwrap, on
 * a tmpfs in its own mount namespace (the host's /mnt is untouched): a path every user may
 * search, as bwrap resolves them as the sandbox's root.
 */
const STAGE = "/mnt";
/** Grace after the in-sandbox timeout before the host kills the sandbox itself. */
const BACKSTOP_MS = 2000;
/** Longest delay setTimeout honours (longer ones fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Bytes of stderr kept to explain a sandbox that failed to start. */
const STDERR_TAIL = 4096;
/** init's first line on stdout, once processes may join the sandbox. */
const READY = /^contree-ready$/;

/** Memory of all sandboxes together, and how many run at once (each gets an equal share). */
export interface SandboxMemoryPolicy {
  /** Bytes of memory (RSS and page cache) of all sandboxes together. */
  totalBytes: number;
  /** Runs executing at once. */
  maxConcurrent: number;
}

let concurrentRuns = 4 * navigator.hardwareConcurrency;

/**
 * Caps the memory of all sandboxes of this process together (one parent cgroup with
 * `totalBytes`, so the host keeps the rest whatever the runs do) and sets the default limit
 * of one run to its share, `totalBytes / maxConcurrent`. Call before the first run; until
 * then the total is half the host's RAM and `maxConcurrent` four per CPU.
 *
 * @example
 * ```ts
 * await configureSandboxMemory({ totalBytes: 8 * 1024 ** 3, maxConcurrent: 8 }); // 1 GiB a run
 * ```
 */
export async function configureSandboxMemory(policy: SandboxMemoryPolicy): Promise<void> {
  concurrentRuns = policy.maxConcurrent;
  await setMemoryTotal(policy.totalBytes);
}

/**
 * Limits applied when a spec leaves them out: the run's share of the sandboxes' memory (see
 * {@linkcode configureSandboxMemory}) and 4096 processes, so a memory hog or a fork bomb
 * cannot take the host down.
 *
 * @example
 * ```ts
 * const { memoryBytes, pids } = defaultLimits(); // e.g. 1610612736, 4096
 * ```
 */
export function defaultLimits(): Required<SandboxLimits> {
  return { memoryBytes: Math.floor(memoryTotal() / concurrentRuns), pids: 4096 };
}

export { memoryTotal };

let defaultIdsRead: Promise<IdRange> | undefined;

function defaultIds(): Promise<IdRange> {
  if (rootlessHostRange()) return Promise.resolve(ROOTLESS_SANDBOX_IDS);
  defaultIdsRead ??= defaultIdRange().catch((error) => {
    defaultIdsRead = undefined;
    throw error;
  });
  return defaultIdsRead;
}

function validate(spec: SandboxSpec): void {
  const fail = (what: string) => {
    throw new SandboxError(`invalid sandbox spec: ${what}`);
  };
  if (spec.layers.length === 0) fail("no layers");
  for (const path of [...spec.layers, spec.upperDir, spec.workDir]) {
    if (!path.startsWith("/")) fail(`${path}: layer and workspace paths must be absolute`);
    if (/[,:\\\0]/.test(path)) fail(`${path}: overlayfs cannot take ',', ':' or '\\' in paths`);
  }
  if (spec.network && rootlessHostRange() && !rootlessNetworking()) {
    throw new SandboxError(
      "networking is unavailable: this server runs without root and cannot open /dev/net/tun",
    );
  }
  if (dirname(spec.upperDir) !== dirname(spec.workDir)) {
    fail("upperDir and workDir must share their parent directory");
  }
  const problem = processProblem(spec);
  if (problem) fail(problem);
  if (!(spec.timeoutMs > 0)) fail("timeoutMs must be positive");
}

/** overlayfs `lowerdir`: top first; names relative to the layers' common parent when shared. */
function lowerDirs(skeleton: string, layers: string[]): { root: string; lower: string } {
  const parents = new Set(layers.map((layer) => dirname(layer)));
  const top = [...layers].reverse();
  if (parents.size !== 1) return { root: "/", lower: [skeleton, ...top].join(":") };
  const [root] = parents;
  return { root, lower: [skeleton, ...top.map((layer) => layer.slice(root.length + 1))].join(":") };
}

/**
 * The directories the launcher sees through the sandbox's id map: the skeleton, the layers'
 * common parent (or each layer), and the workspace holding the upper and work directories
 * (overlayfs wants both on one mount).
 */
function idmappedDirs(skeleton: string, root: string, spec: SandboxSpec): string[] {
  const layers = root === "/" ? spec.layers : [root];
  return [skeleton, ...layers, dirname(spec.upperDir)];
}

function bwrapArgs(spec: SandboxSpec, resolver: string[]): string[] {
  return [
    "--bind",
    `${STAGE}/root`,
    "/",
    ...resolver,
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--ro-bind",
    `${STAGE}/init`,
    INIT_PATH,
    "--unshare-ipc",
    "--unshare-pid",
    "--unshare-uts",
    "--unshare-cgroup",
    // A networked run is already in its own network namespace (made by the launcher).
    ...(spec.network ? [] : ["--unshare-net"]),
    "--hostname",
    spec.hostname,
    "--chdir",
    "/",
    "--die-with-parent",
    "--new-session",
    "--as-pid-1",
    "--",
    INIT_PATH,
    "init",
    "--uid",
    String(spec.uid),
    "--gid",
    String(spec.gid),
    "--cwd",
    spec.cwd,
    "--timeout-ms",
    String(Math.ceil(spec.timeoutMs)),
    "--",
    spec.command,
    ...spec.args,
  ];
}

/** bwrap `--args` content (NUL-separated) that sets exactly `env` in the sandbox. */
function envArgs(env: Record<string, string>): Uint8Array<ArrayBuffer> {
  return nulTerminated([
    "--clearenv",
    ...Object.entries(env).flatMap(([k, v]) => ["--setenv", k, v]),
  ]);
}

/**
 * Runs `spec.command` in a fresh sandbox over `spec.layers` and resolves when it has ended
 * (background processes, and processes started through `RunningSandbox.exec`, are killed
 * with it; it resolves after they have been reported). The filesystem changes are left in
 * `spec.upperDir` (overlayfs format: whiteouts, opaque directories) for `LayerStore.commit`.
 * Throws {@linkcode SandboxError} when the sandbox cannot be set up; a failing command is
 * a result, not an error.
 *
 * @example
 * ```ts
 * const ws = store.createWorkspace();
 * const result = await runSandbox({
 *   layers: image.layers.map((id) => store.path(id)),
 *   command: "/bin/sh", args: ["-c", "echo hi > /greeting"],
 *   env: {}, cwd: "/", uid: 0, gid: 0, hostname: "linuxkit", files: [],
 *   timeoutMs: 60_000, network: false, upperDir: ws.upperDir, workDir: ws.workDir,
 *   onOutput: (stream, chunk) => console.log(stream, chunk.length),
 * });
 * const layer = await store.commit(ws.id); // the new top layer, or null if nothing changed
 * ```
 */
export async function runSandbox(spec: SandboxSpec): Promise<SandboxResult> {
  validate(spec);
  const [helper, bwrap, skeleton, network, ids] = await Promise.all([
    helperPath(),
    which("bwrap"),
    skeletonDir(),
    spec.network ? networkLaunchArgs() : [],
    spec.ids ?? defaultIds(),
  ]);
  if (bwrap === null) throw new SandboxUnsupportedError(["bwrap"]);
  // The upper directory's owner is the owner of the sandbox's `/`: its root. (As host root,
  // the idmapped view of the workspace shows host root as the sandbox's root already.)
  if (rootlessHostRange()) Deno.chownSync(spec.upperDir, 0, 0);
  await placeFiles(spec.layers, spec.upperDir, spec.files);
  const resolver = spec.network ? await bindHostResolver(spec.layers, spec.upperDir) : null;
  const { root, lower } = lowerDirs(skeleton, spec.layers);
  const defaults = defaultLimits();
  const limits = {
    memoryBytes: spec.limits?.memoryBytes ?? defaults.memoryBytes,
    pids: spec.limits?.pids ?? defaults.pids,
  };
  // Small synchronous steps: each async file call would cost a thread-pool round trip.
  const dir = Deno.makeTempDirSync({ dir: dirname(spec.upperDir), prefix: ".run-" });
  let taken: RunCgroup | undefined;
  try {
    const merged = `${dir}/m`;
    const reportPath = `${dir}/report`;
    const argsPath = `${dir}/bwrap-args`;
    Deno.mkdirSync(merged);
    Deno.writeFileSync(argsPath, envArgs({ PATH: DEFAULT_PATH, ...spec.env }), { mode: 0o600 });
    const launcher = await (spec.launchers?.take(limits) ?? startLauncher(limits));
    const rootless = rootlessHostRange() !== null;
    const { child, cgroup } = launcher;
    taken = cgroup;
    const launch = [
      ...["--report", reportPath, "--root", root, "--lower", lower],
      ...["--upper", spec.upperDir, "--work", spec.workDir, "--merged", merged],
      ...["--bwrap-args", argsPath],
      ...[
        "--uid-range",
        `${ids.uidStart}:${ids.count}`,
        "--gid-range",
        `${ids.gidStart}:${ids.count}`,
      ],
      // A rootless server's own user namespace already shows the in-image owners.
      ...(rootless ? ["--userxattr"] : idmappedDirs(skeleton, root, spec).flatMap((dir) => [
        "--idmap",
        dir,
      ])),
      ...["--stage", STAGE],
      ...(spec.stdin ? [] : ["--null-stdin"]),
      ...network,
      "--",
      bwrap,
      ...bwrapArgs(spec, resolver?.args ?? []),
    ];
    let killedBy: "timeout" | "cancel" | null = null;
    // Resolves true once init is set up, false if the run ends before.
    const ready = Promise.withResolvers<boolean>();
    const processes = new Set<Promise<unknown>>();
    let execs = 0;
    let ended = false;
    const sandbox: RunningSandbox = {
      exec(execSpec) {
        if (ended) return Promise.reject(new SandboxNotRunningError());
        const files = `${dir}/exec-${++execs}`;
        const proc = ready.promise.then((up): Promise<SandboxProcess> => {
          if (!up) throw new SandboxNotRunningError();
          return startProcess(
            { helper, cgroups: cgroup.dirs, launcher: child.pid, files },
            { ...execSpec, env: { PATH: DEFAULT_PATH, ...execSpec.env } },
          );
        });
        processes.add(proc.then((p) => p.exited, () => {}));
        return proc;
      },
    };
    const started = performance.now();
    const stdin = child.stdin.getWriter();
    const stdinSent = sendRunArgs(stdin, launch);
    const kill = (why: "timeout" | "cancel") => {
      killedBy ??= why;
      try {
        child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
      // bwrap's sandbox process could outlive a bwrap killed before it set its death signal.
      void cgroup.kill();
    };
    const onAbort = () => kill("cancel");
    spec.signal?.addEventListener("abort", onAbort, { once: true });
    if (spec.signal?.aborted) kill("cancel");
    const backstop = setTimeout(
      () => kill("timeout"),
      Math.min(spec.timeoutMs + BACKSTOP_MS, MAX_TIMER_MS),
    );
    spec.onSpawn?.({ pid: child.pid, startedAt: new Date(), sandbox });

    let stderrTail = new Uint8Array(0);
    const output = Promise.all([
      (async () => {
        const { match, rest } = await readHeader(child.stdout, READY);
        if (match) ready.resolve(true);
        if (rest.length > 0) spec.onOutput("stdout", rest);
        await pump(child.stdout, (chunk) => spec.onOutput("stdout", chunk));
      })(),
      pump(child.stderr, (chunk) => {
        spec.onOutput("stderr", chunk);
        const joined = new Uint8Array(stderrTail.length + chunk.length);
        joined.set(stderrTail);
        joined.set(chunk, stderrTail.length);
        stderrTail = joined.subarray(Math.max(0, joined.length - STDERR_TAIL));
      }),
    ]);
    const stdinDone = new AbortController();
    const source = spec.stdin;
    stdinSent.then(async () => {
      if (source instanceof ReadableStream) {
        stdin.releaseLock();
        await source.pipeTo(child.stdin, { signal: stdinDone.signal });
      } else {
        if (source) await stdin.write(source);
        await stdin.close();
      }
    }).catch(() => {
      // The command exited without reading all of its input, or closed its stdin (a
      // stream source is cancelled then).
    });
    const status = await child.status;
    resolver?.cleanUp();
    stdinDone.abort();
    ended = true;
    ready.resolve(false);
    // The processes started in the sandbox died with its pid namespace: collect their
    // reports. Then nothing of the run may outlive it (and hold the output pipes open).
    await Promise.all(processes);
    await cgroup.kill();
    await output;
    const durationMs = performance.now() - started;
    clearTimeout(backstop);
    spec.signal?.removeEventListener("abort", onAbort);

    const report = await readReport(reportPath);
    const base = { pid: child.pid, durationMs, oomKilled: await cgroup.oomKills() > 0 };
    if (report) {
      const { exit_code, signal, core_dump: _, timed_out, ...resources } = report;
      return {
        ...base,
        exitCode: exit_code,
        signal,
        timedOut: timed_out,
        cancelled: false,
        resources,
      };
    }
    const killed = { ...base, exitCode: -1, resources: { ...ZERO_RESOURCES } };
    if (killedBy !== null) {
      return {
        ...killed,
        signal: 9,
        timedOut: killedBy === "timeout",
        cancelled: killedBy === "cancel",
      };
    }
    // bwrap exits with 128 + N when the sandbox's pid 1 died of signal N (e.g. the OOM killer).
    if (status.code > 128) {
      return { ...killed, signal: status.code - 128, timedOut: false, cancelled: false };
    }
    const reason = new TextDecoder().decode(stderrTail).trim();
    throw new SandboxError(`the sandbox failed to start (exit status ${status.code}): ${reason}`);
  } finally {
    await taken?.remove();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Checks that this host can run sandboxes: root, bwrap, overlayfs, cgroup memory and pids
 * controllers, and a helper build (gcc with a static libc). Builds the helper as a side
 * effect, so the first run does not pay for it.
 *
 * @example
 * ```ts
 * const support = await checkSandboxSupport();
 * if (!support.ok) console.error(`missing: ${support.missing.join(", ")}`);
 * ```
 */
export async function checkSandboxSupport(): Promise<
  { ok: true } | { ok: false; missing: string[] }
> {
  const missing: string[] = [];
  const rootless = rootlessHostRange() !== null;
  if (Deno.uid() !== 0 && !rootless) missing.push("root");
  if (await which("bwrap") === null) missing.push("bwrap");
  const filesystems = await Deno.readTextFile("/proc/filesystems").catch(() => "");
  if (!/\toverlay$/m.test(filesystems)) missing.push("overlay");
  // Without root the limits are named unavailable at start-up instead (rootlessUnavailable).
  const controllers = rootless ? ["memory", "pids"] : await cgroupControllers();
  for (const controller of ["memory", "pids"] as const) {
    if (!controllers.includes(controller)) missing.push(`cgroup ${controller}`);
  }
  try {
    await helperPath();
  } catch (error) {
    missing.push(...(error instanceof SandboxUnsupportedError ? error.missing : [String(error)]));
  }
  return missing.length === 0 ? { ok: true } : { ok: false, missing };
}
