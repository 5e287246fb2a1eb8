/** The operation engine: queue, lifecycle and results of spawned runs, and their processes. */
import { arch, release } from "node:os";
import type { LayerStore } from "../images/layer_store.ts";
import {
  describeProgress,
  type ImageImportRequest,
  type ImportCache,
  importFromRegistry,
  maskImportRequest,
  parseImageReference,
} from "../registry/mod.ts";
import { LauncherPool } from "../sandbox/launcher_pool.ts";
import { defaultLimits, runSandbox, type SandboxFile, type SandboxResult } from "../sandbox/run.ts";
import {
  type ImageRecord,
  isoTime,
  isoTimeNs,
  type OperationRecord,
  type OperationStatus,
  type Store,
  TERMINAL_STATUSES,
  transaction,
} from "../store/mod.ts";
import type { EventHub } from "./event_hub.ts";
import type { ExecRequest, StdinInput } from "./exec_request.ts";
import { OutputCapture } from "./output_capture.ts";
import { hasProcess } from "./process_result.ts";
import { NOT_RUNNING, ProcessError, ProcessTable } from "./process_table.ts";
import type { SpawnRequest } from "./spawn_request.ts";
import { fromStreamRepr, toStreamRepr } from "./stream_repr.ts";
import { processEnv, redactEnv } from "./_env.ts";
import { instanceResources } from "./_resources.ts";

/** A spawn that cannot be accepted; `status` is the HTTP status to answer with. */
export class SpawnError extends Error {
  /** HTTP status (404 unknown image or file, 429 queue full). */
  readonly status: number;

  /** Builds the error. */
  constructor(status: number, message: string) {
    super(message);
    this.name = "SpawnError";
    this.status = status;
  }
}

/** Settings of an {@linkcode OperationEngine}. */
export interface EngineOptions {
  /** Durable state. */
  store: Store;
  /** Event logs. */
  hub: EventHub;
  /** Image layers. */
  layers: LayerStore;
  /** Runs executing at once; more wait as PENDING. */
  maxConcurrent: number;
  /** Operations waiting at once; more are refused with 429 before anything is stored. */
  maxQueue: number;
  /** Registry imports: the import cache and the registries reached over plain HTTP. */
  imports: { cache: ImportCache; insecureRegistries: string[] };
}

/** Outcome of {@linkcode OperationEngine.cancel}. */
export type CancelOutcome = "cancelling" | "not_cancellable" | "not_found";

const RESTARTED = "server restarted while the operation was running";
/** Seconds an import may take when its request names no `timeout`. */
const DEFAULT_IMPORT_TIMEOUT = 600;
const STOPPED = "server stopped while the operation was running";
/** Sandbox launchers kept ready for the next runs (see `LauncherPool`). */
const WARM_LAUNCHERS = 2;

interface Prepared {
  image: ImageRecord;
  files: SandboxFile[];
  request: SpawnRequest;
}

interface Outcome {
  status: OperationStatus;
  error: string | null;
  image?: ImageRecord;
  resultImage: string | null;
  /** Tag to move onto the result image. */
  tag?: string;
  imageSize: number;
  result: SandboxResult | null;
  stdout: OutputCapture;
  stderr: OutputCapture;
}

function errorMessage(error: unknown): string {
  const code = (error as { code?: string })?.code;
  if (code === "ENOSPC" || code === "ERR_SQLITE_ERROR" && /full/i.test(String(error))) {
    return "no space left on device";
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Accepts spawn requests as operations, runs at most `maxConcurrent` of them at once in
 * sandboxes (the rest wait as PENDING, first in first out), streams their events and
 * records the outcome: a new image for non-disposable runs, nothing for disposable ones.
 * While a run executes, subprocesses can start in its sandbox (spid 2 and up); they are
 * killed when the main command exits, before the snapshot. A spawn with stdin
 * `{"close": false}` keeps the main command's stdin open for {@linkcode writeProcessStdin}.
 *
 * @example
 * ```ts
 * const engine = new OperationEngine({ store, hub, layers, maxConcurrent: 8, maxQueue: 1024 });
 * engine.recover();
 * const op = engine.spawn(parsedRequest);
 * ```
 */
export class OperationEngine {
  readonly #launchers: LauncherPool;
  readonly #store: Store;
  readonly #hub: EventHub;
  readonly #layers: LayerStore;
  readonly #maxConcurrent: number;
  readonly #maxQueue: number;
  readonly #queue: string[] = [];
  readonly #prepared = new Map<string, Prepared>();
  readonly #importRequests = new Map<string, ImageImportRequest>();
  readonly #imports: EngineOptions["imports"];
  readonly #running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  readonly #processes = new Map<string, ProcessTable>();
  #stopping = false;

  /** Builds an engine; call {@linkcode recover} before accepting work. */
  constructor(options: EngineOptions) {
    this.#store = options.store;
    this.#hub = options.hub;
    this.#layers = options.layers;
    this.#maxConcurrent = options.maxConcurrent;
    this.#maxQueue = options.maxQueue;
    this.#imports = options.imports;
    this.#launchers = new LauncherPool(
      Math.min(WARM_LAUNCHERS, options.maxConcurrent),
      defaultLimits,
    );
  }

  /** Operations currently executing. */
  get runningCount(): number {
    return this.#running.size;
  }

  /** Operations waiting for a slot. */
  get queuedCount(): number {
    return this.#queue.length;
  }

  /**
   * Marks every operation left active by a previous process as FAILED ("server
   * restarted"), ending its event log with a `completion` event.
   */
  recover(): void {
    for (const uuid of this.#store.operations.active()) {
      const op = this.#store.operations.get(uuid)!;
      this.#hub.open(uuid);
      this.#record(op, {
        status: "FAILED",
        error: RESTARTED,
        resultImage: null,
        imageSize: 0,
        result: null,
        stdout: new OutputCapture(0),
        stderr: new OutputCapture(0),
      });
    }
  }

  /**
   * Checks the references of a request (image, files) and creates a PENDING operation.
   * Throws {@linkcode SpawnError} without storing anything when it cannot be accepted.
   */
  spawn(request: SpawnRequest): OperationRecord {
    if (this.#stopping) throw new SpawnError(503, "server is stopping");
    if (this.#queue.length >= this.#maxQueue) {
      throw new SpawnError(429, `too many pending operations (${this.#maxQueue})`);
    }
    const image = this.#resolveImage(request.image);
    const files: SandboxFile[] = Object.entries(request.files).map(([path, spec]) => {
      const file = this.#store.files.byUuid(spec.uuid);
      if (!file) {
        throw new SpawnError(404, `files[${JSON.stringify(path)}].uuid: no file ${spec.uuid}`);
      }
      return {
        path,
        source: this.#store.blobs.path(file.sha256),
        mode: parseInt(String(spec.mode), 8),
        uid: spec.uid,
        gid: spec.gid,
      };
    });
    const op: OperationRecord = {
      uuid: crypto.randomUUID(),
      kind: "instance",
      status: "PENDING",
      error: null,
      created_at: isoTime(),
      started_at: null,
      finished_at: null,
      duration: null,
      image_uuid: image.uuid,
      result_image_uuid: null,
      image_size: null,
      consumed_cpu: null,
      consumed_memory: null,
      metadata: { ...request },
      result: null,
    };
    this.#store.operations.insert(op);
    this.#hub.open(op.uuid);
    this.#processes.set(op.uuid, new ProcessTable(op.uuid, this.#hub, request.stdin));
    this.#prepared.set(op.uuid, { image, files, request });
    this.#queue.push(op.uuid);
    this.#pump();
    return op;
  }

  /**
   * Checks an import request's reference and creates a PENDING `image_import` operation whose
   * metadata is the request with the password masked. Throws {@linkcode SpawnError} (400 bad
   * reference, 429, 503) without storing anything.
   */
  importImage(request: ImageImportRequest): OperationRecord {
    if (this.#stopping) throw new SpawnError(503, "server is stopping");
    if (this.#queue.length >= this.#maxQueue) {
      throw new SpawnError(429, `too many pending operations (${this.#maxQueue})`);
    }
    try {
      parseImageReference(request.registry.url);
    } catch (error) {
      throw new SpawnError(400, `registry.url: ${(error as Error).message}`);
    }
    const op: OperationRecord = {
      uuid: crypto.randomUUID(),
      kind: "image_import",
      status: "PENDING",
      error: null,
      created_at: isoTime(),
      started_at: null,
      finished_at: null,
      duration: null,
      image_uuid: null,
      result_image_uuid: null,
      image_size: null,
      consumed_cpu: null,
      consumed_memory: null,
      metadata: { ...maskImportRequest(request) },
      result: null,
    };
    this.#store.operations.insert(op);
    this.#hub.open(op.uuid);
    this.#importRequests.set(op.uuid, request);
    this.#queue.push(op.uuid);
    this.#pump();
    return op;
  }

  /** Cancels a pending or running operation. */
  cancel(uuid: string): CancelOutcome {
    const op = this.#store.operations.get(uuid);
    if (!op) return "not_found";
    if (TERMINAL_STATUSES.has(op.status)) return "not_cancellable";
    const queued = this.#queue.indexOf(op.uuid);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      this.#prepared.delete(op.uuid);
      this.#importRequests.delete(op.uuid);
      this.#record(op, this.#emptyOutcome("CANCELLED", null));
    } else {
      this.#running.get(op.uuid)?.abort.abort();
    }
    return "cancelling";
  }

  /**
   * Starts a subprocess in the sandbox of a running instance operation (waiting for the
   * sandbox to be up when the operation is ASSIGNED) and resolves with its spid. Throws
   * {@linkcode ProcessError}: 404 for an unknown operation, 409 when it is not running.
   */
  async exec(uuid: string, request: ExecRequest): Promise<number> {
    const op = this.#store.operations.get(uuid);
    if (!op) throw new ProcessError(404, "operation not found");
    const table = this.#processes.get(op.uuid);
    if (!table || (op.status !== "ASSIGNED" && op.status !== "EXECUTING")) {
      throw new ProcessError(409, NOT_RUNNING);
    }
    return await table.exec(request);
  }

  /**
   * Signals subprocess `spid` of an operation (see `ProcessTable.signal`). Throws
   * {@linkcode ProcessError}; the processes of a finished operation have exited (409).
   */
  signalProcess(uuid: string, spid: number, signo: number): void {
    this.#table(uuid, spid).signal(spid, signo);
  }

  /**
   * Writes to the stdin of process `spid` of an operation (see `ProcessTable.write`). Throws
   * {@linkcode ProcessError}; the processes of a finished operation have exited (409).
   */
  async writeProcessStdin(uuid: string, spid: number, input: StdinInput): Promise<void> {
    await this.#table(uuid, spid).write(spid, input);
  }

  #table(uuid: string, spid: number): ProcessTable {
    const op = this.#store.operations.get(uuid);
    if (!op) throw new ProcessError(404, "operation not found");
    const table = this.#processes.get(op.uuid);
    if (table) return table;
    if (hasProcess(this.#hub, op.uuid, spid)) {
      throw new ProcessError(409, `process ${spid} has already exited`);
    }
    throw new ProcessError(404, `no subprocess ${spid}`);
  }

  /** Stops accepting work, fails queued operations and kills running ones ("server stopped"). */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const uuid of this.#queue.splice(0)) {
      this.#prepared.delete(uuid);
      this.#importRequests.delete(uuid);
      const op = this.#store.operations.get(uuid);
      if (op) this.#record(op, this.#emptyOutcome("FAILED", STOPPED));
    }
    const running = [...this.#running.values()];
    for (const run of running) run.abort.abort();
    await Promise.all(running.map((run) => run.done));
    await this.#launchers.close();
    this.#hub.flushAll();
  }

  #resolveImage(ref: string): ImageRecord {
    const image = ref.startsWith("tag:")
      ? this.#store.images.byTag(ref.slice(4))
      : /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref)
      ? this.#store.images.get(ref)
      : (() => {
        throw new SpawnError(400, "image: must be an image UUID or tag:NAME");
      })();
    if (!image) throw new SpawnError(404, `image: no image ${ref}`);
    return image;
  }

  #emptyOutcome(status: OperationStatus, error: string | null): Outcome {
    return {
      status,
      error,
      resultImage: null,
      imageSize: 0,
      result: null,
      stdout: new OutputCapture(0),
      stderr: new OutputCapture(0),
    };
  }

  #pump(): void {
    while (!this.#stopping && this.#running.size < this.#maxConcurrent && this.#queue.length) {
      const uuid = this.#queue.shift()!;
      const prepared = this.#prepared.get(uuid);
      const importRequest = this.#importRequests.get(uuid);
      this.#prepared.delete(uuid);
      this.#importRequests.delete(uuid);
      const abort = new AbortController();
      const done = (importRequest
        ? this.#executeImport(uuid, importRequest, abort.signal)
        : this.#execute(uuid, prepared!, abort.signal))
        .catch((error) =>
          console.error(`operation ${uuid}: ${errorMessage(error)}`)
        )
        .finally(() => {
          this.#running.delete(uuid);
          this.#pump();
        });
      this.#running.set(uuid, { abort, done });
    }
  }

  async #execute(uuid: string, prepared: Prepared, signal: AbortSignal): Promise<void> {
    const { image, files, request } = prepared;
    const started = new Date();
    this.#store.operations.update(uuid, { status: "ASSIGNED", started_at: isoTime(started) });
    this.#hub.append(uuid, "init", 0, {
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
    const processes = this.#processes.get(uuid)!;
    let spawned = false;
    const spawnEvent = (pid: number) => {
      spawned = true;
      this.#hub.append(uuid, "spawn", 1, {
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
    const outcome: Outcome = { ...this.#emptyOutcome("FAILED", null), stdout, stderr };
    let workspace: { id: string; upperDir: string; workDir: string } | undefined;
    try {
      workspace = this.#layers.createWorkspace();
      const result = await runSandbox({
        layers: image.layers.map((id) => this.#layers.path(id)),
        command,
        args,
        env,
        cwd,
        uid: request.uid,
        gid: request.gid,
        hostname: request.hostname,
        stdin: processes.mainStdin ?? (request.stdin ? fromStreamRepr(request.stdin) : undefined),
        files,
        timeoutMs: request.timeout * 1000,
        network: request.networking.enabled,
        upperDir: workspace.upperDir,
        workDir: workspace.workDir,
        signal,
        launchers: this.#launchers,
        onSpawn: ({ pid, sandbox }) => {
          this.#store.operations.update(uuid, { status: "EXECUTING" });
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
          if (kept) this.#hub.append(uuid, stream, 1, toStreamRepr(kept));
        },
        // Subprocesses die with the sandbox: their exit events come before what follows.
      }).finally(() => processes.close());
      outcome.result = result;
      if (!spawned) spawnEvent(result.pid);
      for (const [name, capture] of [["stdout", stdout], ["stderr", stderr]] as const) {
        if (!capture.truncated) continue;
        this.#hub.append(uuid, "truncated", 1, {
          stream: name,
          bytes_emitted: capture.emitted,
          bytes_dropped: capture.dropped,
        });
      }
      this.#hub.append(uuid, "exit", 1, {
        pid: result.pid,
        code: result.exitCode,
        signal: result.signal,
        core_dump: false,
        timed_out: result.timedOut,
        duration_ms: Math.round(result.durationMs),
        resources: result.resources,
      });
      if (result.cancelled) {
        outcome.status = this.#stopping ? "FAILED" : "CANCELLED";
        outcome.error = this.#stopping ? STOPPED : null;
      } else if (request.disposable) {
        outcome.status = "SUCCESS";
      } else {
        const ws = workspace;
        workspace = undefined;
        await this.#snapshot(uuid, image, request, ws.id, outcome);
      }
    } catch (error) {
      outcome.status = "FAILED";
      outcome.error = errorMessage(error);
    }
    this.#hub.append(uuid, "shutdown", 0, {
      stopped_at: isoTimeNs(),
      reason: outcome.status === "CANCELLED" ? "cancelled" : "job_complete",
    });
    const op = this.#store.operations.get(uuid)!;
    try {
      this.#record(op, outcome);
    } catch (error) {
      // Typically a full disk, often filled by this very run: free what the run holds,
      // then record the failure.
      console.error(`operation ${uuid}: recording the result: ${errorMessage(error)}`);
      if (outcome.image) await this.#removeLayerOf(outcome.image, image);
      if (workspace) await this.#discard(workspace.id);
      workspace = undefined;
      this.#record(
        op,
        this.#emptyOutcome("FAILED", `could not record the result: ${errorMessage(error)}`),
      );
    }
    // Off the critical path: the outcome is recorded, nothing refers to the workspace.
    if (workspace) await this.#discard(workspace.id);
  }

  /**
   * Imports the image into the layer store; the result is the earlier image of the same
   * content when there is one (re-imports yield the same image), else a new one.
   */
  async #executeImport(
    uuid: string,
    request: ImageImportRequest,
    signal: AbortSignal,
  ): Promise<void> {
    this.#store.operations.update(uuid, { status: "EXECUTING", started_at: isoTime() });
    const seconds = request.timeout ?? DEFAULT_IMPORT_TIMEOUT;
    const timeout = AbortSignal.timeout(seconds * 1000);
    const outcome = this.#emptyOutcome("FAILED", null);
    try {
      const result = await importFromRegistry({
        reference: request.registry.url,
        credentials: request.registry.credentials,
        insecureRegistries: this.#imports.insecureRegistries,
        layerStore: this.#layers,
        cache: this.#imports.cache,
        signal: AbortSignal.any([signal, timeout]),
        onProgress: (event) => {
          const line = describeProgress(event);
          if (line) {
            this.#hub.append(uuid, "stdout", 0, toStreamRepr(new TextEncoder().encode(line)));
          }
        },
      });
      const known = this.#store.images.byContent(
        result.layers,
        result.config.env,
        result.config.workdir,
      );
      outcome.image = known ? undefined : {
        uuid: crypto.randomUUID(),
        tag: null,
        created_at: isoTime(),
        operation_uuid: uuid,
        parent: null,
        layers: result.layers,
        env: result.config.env,
        workdir: result.config.workdir,
      };
      outcome.resultImage = known?.uuid ?? outcome.image!.uuid;
      outcome.imageSize = result.size;
      outcome.tag = request.tag;
      outcome.status = "SUCCESS";
    } catch (error) {
      if (signal.aborted) {
        outcome.status = this.#stopping ? "FAILED" : "CANCELLED";
        outcome.error = this.#stopping ? STOPPED : null;
      } else {
        outcome.error = timeout.aborted
          ? `the import did not finish within its timeout (${seconds} s)`
          : errorMessage(error);
      }
    }
    const op = this.#store.operations.get(uuid)!;
    try {
      this.#record(op, outcome);
    } catch (error) {
      this.#record(
        op,
        this.#emptyOutcome("FAILED", `could not record the result: ${errorMessage(error)}`),
      );
    }
  }

  /** Commits the workspace into a new image (or keeps the input image when nothing changed). */
  async #snapshot(
    uuid: string,
    image: ImageRecord,
    request: SpawnRequest,
    workspaceId: string,
    outcome: Outcome,
  ): Promise<void> {
    const layer = await this.#layers.commit(workspaceId);
    const env = request.preserve_env ? { ...image.env, ...request.env } : image.env;
    const envChanged = JSON.stringify(env) !== JSON.stringify(image.env);
    if (layer === null && !envChanged) {
      outcome.status = "SUCCESS";
      outcome.resultImage = image.uuid;
      return;
    }
    let layers = layer === null ? image.layers : [...image.layers, layer];
    if (layer !== null) {
      outcome.imageSize = await this.#layers.size(layer);
      const max = request.resources_limits.max_layer_bytes;
      if (max !== undefined && max !== null && outcome.imageSize > max) {
        this.#hub.append(uuid, "size_cap", 1, { limit_bytes: max, file_size: outcome.imageSize });
        await this.#layers.remove(layer);
        outcome.status = "FAILED";
        outcome.error = `the run wrote ${outcome.imageSize} bytes, over max_layer_bytes (${max})`;
        return;
      }
      if (layers.length > this.#layers.maxDepth) {
        layers = [await this.#layers.flatten(layers)];
        // The flat layer hard-links what it keeps; the run's own layer is no longer needed.
        await this.#layers.remove(layer);
      }
    }
    outcome.image = {
      uuid: crypto.randomUUID(),
      tag: null,
      created_at: isoTime(),
      operation_uuid: uuid,
      parent: image.uuid,
      layers,
      env,
      workdir: image.workdir,
    };
    outcome.status = "SUCCESS";
    outcome.resultImage = outcome.image.uuid;
  }

  async #discard(workspaceId: string): Promise<void> {
    try {
      await this.#layers.discard(workspaceId);
    } catch (error) {
      console.error(`discarding workspace ${workspaceId}: ${errorMessage(error)}`);
    }
  }

  async #removeLayerOf(created: ImageRecord, parent: ImageRecord): Promise<void> {
    for (const id of created.layers) {
      if (!parent.layers.includes(id)) await this.#layers.remove(id);
    }
  }

  /** Appends `completion` and writes the terminal state, the image and the log at once. */
  #record(op: OperationRecord, outcome: Outcome): void {
    // A run's processes are closed by now; a queued operation has none to wait for.
    void this.#processes.get(op.uuid)?.close();
    this.#processes.delete(op.uuid);
    const finished = new Date();
    const duration = (finished.getTime() - Date.parse(op.created_at)) / 1000;
    const r = outcome.result;
    const result = r
      ? {
        stdout: toStreamRepr(outcome.stdout.bytes(), outcome.stdout.truncated),
        stderr: toStreamRepr(outcome.stderr.bytes(), outcome.stderr.truncated),
        state: {
          exit_code: r.exitCode,
          pid: r.pid,
          signal: r.signal,
          timed_out: r.timedOut,
          core_dump: false,
          stopped: false,
          continued: false,
        },
        resources: instanceResources(r.resources, r.durationMs),
      }
      : null;
    const completion = this.#hub.append(op.uuid, "completion", 0, {
      status: outcome.status,
      result_image_uuid: outcome.resultImage,
      error: outcome.error,
      duration_ms: Math.round(duration * 1000),
      image_size_bytes: outcome.imageSize,
    });
    let confirm: () => void;
    try {
      confirm = transaction(this.#store.db, () => {
        if (outcome.image) this.#store.images.insert(outcome.image);
        if (outcome.tag && outcome.resultImage) {
          this.#store.images.setTag(outcome.resultImage, outcome.tag);
        }
        this.#store.operations.update(op.uuid, {
          status: outcome.status,
          error: outcome.error,
          finished_at: isoTime(finished),
          duration,
          result_image_uuid: outcome.resultImage,
          image_size: outcome.imageSize,
          consumed_cpu: r ? (r.resources.user_time_us + r.resources.sys_time_us) / 1e6 : 0,
          consumed_memory: r ? r.resources.max_rss_kb * 1024 : 0,
          result,
        });
        return this.#hub.flush(op.uuid);
      });
    } catch (error) {
      this.#hub.retract(op.uuid, completion);
      throw error;
    }
    confirm();
    this.#hub.close(op.uuid);
  }
}
