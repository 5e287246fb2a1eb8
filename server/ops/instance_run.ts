/** Instance runs: one spawned command in a sandbox, its events, and its snapshot or discard. */
import { arch, release } from "node:os";
import type { LayerStore } from "../images/layer_store.ts";
import type { IdRange } from "../sandbox/id_range.ts";
import type { LauncherPool } from "../sandbox/launcher_pool.ts";
import { defaultLimits, memoryTotal, runSandbox, type SandboxFile } from "../sandbox/run.ts";
import { type ImageRecord, isoTime, isoTimeNs, type OperationRepo } from "../store/mod.ts";
import type { EventHub } from "./event_hub.ts";
import { OutputCapture } from "./output_capture.ts";
import type { ProcessTable } from "./process_table.ts";
import { overCap, type SnapshotDeps, snapshotRun } from "./snapshot.ts";
import type { SpawnRequest } from "./spawn_request.ts";
import { decodeStream, encodeStream } from "../../src/wire/mod.ts";
import { processEnv, redactEnv } from "./_env.ts";
import { emptyOutcome, errorMessage, type Outcome, STOPPED } from "./_outcome.ts";

/** What {@linkcode runInstance} touches. */
export interface InstanceRunDeps {
  /** The operation's status. */
  operations: Pick<OperationRepo, "update">;
  /** The operation's event log. */
  hub: Pick<EventHub, "append">;
  /** Workspaces on the image's layers, and what a snapshot needs. */
  layers:
    & Pick<LayerStore, "createWorkspace" | "createCappedWorkspace" | "path" | "discard" | "remove">
    & SnapshotDeps["layers"];
  /** Sandbox launchers kept ready. */
  launchers: LauncherPool;
  /** Host ids of the sandboxes' user namespaces (default: `defaultIdRange()`). */
  ids?: IdRange;
  /** Records the outcome (see `recordOutcome`); throws when it cannot be written. */
  record: (uuid: string, outcome: Outcome) => void;
  /** Whether the server is stopping (a cancel then fails the operation instead). */
  stopping: () => boolean;
  /** Disk caps of runs. */
  disk: {
    /** The server's cap on what one run writes (a request's `max_layer_bytes` may be lower). */
    maxLayerBytes: number | null;
    /**
     * Whether a capped run writes into a filesystem of its own (`createCappedWorkspace`) and
     * is stopped once over its cap; else the cap is checked at commit only.
     */
    duringRun: boolean;
  };
}

/** How often a capped run's writes are measured (one `statfs`). */
const DISK_POLL_MS = 10;
/**
 * What the sandbox itself keeps on a capped filesystem (overlay's work directory, the run's
 * scratch files: some 30 KiB), not counted against the cap while the run goes; the commit
 * still checks the layer's exact size.
 */
const SANDBOX_FILES_BYTES = 1024 * 1024;

/** One accepted spawn, ready to run. */
export interface InstanceJob {
  /** Operation UUID. */
  uuid: string;
  /** The image to run on. */
  image: ImageRecord;
  /** Uploaded files placed in the sandbox. */
  files: SandboxFile[];
  /** The spawn request, defaults applied. */
  request: SpawnRequest;
  /** The operation's processes (live stdin, subprocesses). */
  processes: ProcessTable;
}

/**
 * Runs the spawn's command in a sandbox on a fresh workspace over the image's layers,
 * appending `init`, `spawn`, `stdout`/`stderr`, `truncated`, `exit` and `shutdown` events,
 * then snapshots the workspace (non-disposable runs) and records the outcome. When the
 * record cannot be written (a full disk, often filled by the run itself) the run's new
 * layer and workspace are freed first and the failure is recorded instead.
 *
 * @example
 * ```ts
 * await runInstance(deps, { uuid, image, files, request, processes }, abort.signal);
 * ```
 */
export async function runInstance(
  deps: InstanceRunDeps,
  job: InstanceJob,
  signal: AbortSignal,
): Promise<void> {
  const { hub, layers: layerStore } = deps;
  const { uuid, image, files, request, processes } = job;
  const started = new Date();
  deps.operations.update(uuid, { status: "ASSIGNED", started_at: isoTime(started) });
  hub.append(uuid, "init", 0, {
    started_at: isoTimeNs(started),
    runtime_path: "bwrap",
    verbose: false,
    init_pid: 1,
    hostname: request.hostname,
    kernel: release(),
    machine: arch(),
  });
  const stdout = new OutputCapture(request.truncate_output_at);
  const stderr = new OutputCapture(request.truncate_output_at);
  const [command, args] = request.shell
    ? ["/bin/sh", ["-c", request.command, ...request.args]]
    : [request.command, request.args];
  const env = processEnv(request.uid, image.env, request.env);
  // Empty means the image's WORKDIR (wire protocol); images without one start at the root.
  const cwd = request.cwd || image.workdir || "/";
  let spawned = false;
  const spawnEvent = (pid: number) => {
    spawned = true;
    hub.append(uuid, "spawn", 1, {
      pid,
      command,
      args,
      shell: request.shell,
      cwd,
      uid: request.uid,
      gid: request.gid,
      timeout: request.timeout,
      truncate_at: request.truncate_output_at,
      env: redactEnv(env),
    });
  };
  const outcome: Outcome = { ...emptyOutcome("FAILED", null), stdout, stderr };
  let workspace: { id: string; upperDir: string; workDir: string } | undefined;
  // The request's cap, within the server's.
  const caps = [request.resources_limits.max_layer_bytes, deps.disk.maxLayerBytes]
    .filter((max): max is number => typeof max === "number");
  const cap = caps.length > 0 ? Math.min(...caps) : null;
  // Set once a capped run has written past its cap: the run is killed at once.
  const overDisk = new AbortController();
  let measure: (() => void) | undefined;
  let poll: ReturnType<typeof setInterval> | undefined;
  try {
    if (cap !== null && deps.disk.duringRun) {
      const capped = await layerStore.createCappedWorkspace(cap);
      workspace = capped;
      measure = () => {
        const used = capped.usedBytes();
        if (used > cap + SANDBOX_FILES_BYTES) overDisk.abort(used);
      };
      poll = setInterval(measure, DISK_POLL_MS);
    } else {
      workspace = layerStore.createWorkspace();
    }
    const result = await runSandbox({
      layers: image.layers.map((id) => layerStore.path(id)),
      command,
      args,
      env,
      cwd,
      uid: request.uid,
      gid: request.gid,
      hostname: request.hostname,
      stdin: processes.mainStdin ?? (request.stdin ? decodeStream(request.stdin) : undefined),
      files,
      timeoutMs: request.timeout * 1000,
      network: request.networking.enabled,
      upperDir: workspace.upperDir,
      workDir: workspace.workDir,
      signal: cap === null ? signal : AbortSignal.any([signal, overDisk.signal]),
      launchers: deps.launchers,
      ids: deps.ids,
      onSpawn: ({ pid, sandbox }) => {
        deps.operations.update(uuid, { status: "EXECUTING" });
        spawnEvent(pid);
        processes.attach(sandbox, {
          env: { ...image.env, ...request.env },
          cwd,
          uid: request.uid,
          gid: request.gid,
          truncateOutputAt: request.truncate_output_at,
          timeout: request.timeout,
        });
      },
      onOutput: (stream, chunk) => {
        if (!spawned) spawnEvent(0);
        const kept = (stream === "stdout" ? stdout : stderr).push(chunk);
        if (kept) hub.append(uuid, stream, 1, encodeStream(kept));
      },
      // Subprocesses die with the sandbox: their exit events come before what follows.
    }).finally(() => {
      clearInterval(poll);
      // What the run wrote since the last measurement.
      measure?.();
      return processes.close();
    });
    outcome.result = result;
    if (!spawned) spawnEvent(result.pid);
    for (const [name, capture] of [["stdout", stdout], ["stderr", stderr]] as const) {
      if (!capture.truncated) continue;
      hub.append(uuid, "truncated", 1, {
        stream: name,
        bytes_emitted: capture.emitted,
        bytes_dropped: capture.dropped,
      });
    }
    hub.append(uuid, "exit", 1, {
      pid: result.pid,
      code: result.exitCode,
      signal: result.signal,
      core_dump: false,
      timed_out: result.timedOut,
      duration_ms: Math.round(result.durationMs),
      resources: result.resources,
    });
    if (overDisk.signal.aborted && !signal.aborted) {
      const written = overDisk.signal.reason as number;
      // Only a run with a cap has a disk watch that can fire.
      hub.append(uuid, "size_cap", 1, { limit_bytes: cap!, file_size: written });
      outcome.error = overCap(written, cap!, true);
    } else if (result.cancelled) {
      outcome.status = deps.stopping() ? "FAILED" : "CANCELLED";
      outcome.error = deps.stopping() ? STOPPED : null;
    } else if (result.oomKilled && result.exitCode !== 0) {
      outcome.error = outOfMemory();
    } else if (request.disposable) {
      outcome.status = "SUCCESS";
    } else {
      const ws = workspace;
      workspace = undefined;
      await snapshotRun({ layers: layerStore, hub }, {
        uuid,
        image,
        request,
        workspaceId: ws.id,
        maxLayerBytes: cap,
      }, outcome);
    }
  } catch (error) {
    outcome.status = "FAILED";
    outcome.error = errorMessage(error);
  }
  hub.append(uuid, "shutdown", 0, {
    stopped_at: isoTimeNs(),
    reason: outcome.status === "CANCELLED" ? "cancelled" : "job_complete",
  });
  try {
    deps.record(uuid, outcome);
  } catch (error) {
    // Typically a full disk, often filled by this very run: free what the run holds,
    // then record the failure.
    console.error(`operation ${uuid}: recording the result: ${errorMessage(error)}`);
    if (outcome.image) await removeNewLayers(layerStore, outcome.image, image);
    if (workspace) await discard(layerStore, workspace.id);
    workspace = undefined;
    deps.record(
      uuid,
      emptyOutcome("FAILED", `could not record the result: ${errorMessage(error)}`),
    );
  }
  // Off the critical path: the outcome is recorded, nothing refers to the workspace.
  if (workspace) await discard(layerStore, workspace.id);
}

/** The error of a run the OOM killer stopped. */
function outOfMemory(): string {
  return `out of memory: the kernel's OOM killer stopped the run (limits: ` +
    `${defaultLimits().memoryBytes} bytes a run, ${memoryTotal()} bytes all runs together)`;
}

async function discard(layers: Pick<LayerStore, "discard">, workspaceId: string): Promise<void> {
  try {
    await layers.discard(workspaceId);
  } catch (error) {
    console.error(`discarding workspace ${workspaceId}: ${errorMessage(error)}`);
  }
}

async function removeNewLayers(
  layers: Pick<LayerStore, "remove">,
  created: ImageRecord,
  parent: ImageRecord,
): Promise<void> {
  for (const id of created.layers) {
    if (!parent.layers.includes(id)) await layers.remove(id);
  }
}
