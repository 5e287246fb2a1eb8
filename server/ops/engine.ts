/**
 * Admission and queue of operations: spawns and imports are checked and stored as PENDING,
 * run at most `maxConcurrent` at once, cancelled, and failed when the server stops or
 * restarts. The runs themselves are in `instance_run.ts` and `image_import.ts`, their
 * snapshots in `snapshot.ts`, and the terminal write in `recorder.ts`.
 */
import { isTerminalStatus } from "../../src/wire/mod.ts";
import type { LayerStore } from "../images/layer_store.ts";
import {
  type ImageImportRequest,
  type ImportCache,
  maskImportRequest,
  parseImageReference,
} from "../registry/mod.ts";
import type { IdRange } from "../sandbox/id_range.ts";
import { LauncherPool } from "../sandbox/launcher_pool.ts";
import { defaultLimits, type SandboxFile } from "../sandbox/run.ts";
import {
  type ImageRecord,
  isoTime,
  type OperationKind,
  type OperationRecord,
  type Store,
} from "../store/mod.ts";
import type { EventHub } from "./event_hub.ts";
import type { ExecRequest, StdinInput } from "./exec_request.ts";
import { type ImportRunDeps, runImport } from "./image_import.ts";
import { type InstanceRunDeps, runInstance } from "./instance_run.ts";
import { hasProcess } from "./process_result.ts";
import { NOT_RUNNING, ProcessError, ProcessTable } from "./process_table.ts";
import { type RecorderDeps, recordOutcome } from "./recorder.ts";
import type { SpawnRequest } from "./spawn_request.ts";
import { emptyOutcome, errorMessage, type Outcome, STOPPED } from "./_outcome.ts";

/** Why a spawn or import is refused. */
export type SpawnRefusal = "invalid" | "not_found" | "queue_full" | "stopping";

/**
 * A spawn or import that cannot be accepted (nothing is stored): `invalid` (a malformed
 * reference), `not_found` (unknown image or file), `queue_full` or `stopping`. The API
 * answers it with a status from its error table.
 *
 * @example
 * ```ts
 * try {
 *   engine.spawn(request);
 * } catch (error) {
 *   if (error instanceof SpawnError && error.reason === "queue_full") console.log("retry later");
 * }
 * ```
 */
export class SpawnError extends Error {
  /** Why the request is refused. */
  readonly reason: SpawnRefusal;

  /** Builds the error. */
  constructor(reason: SpawnRefusal, message: string) {
    super(message);
    this.name = "SpawnError";
    this.reason = reason;
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
  /** Operations waiting at once; more are refused (`queue_full`) before anything is stored. */
  maxQueue: number;
  /** Registry imports: the import cache and the registries reached over plain HTTP. */
  imports: { cache: ImportCache; insecureRegistries: string[] };
  /** Disk caps of runs (see `InstanceRunDeps.disk`); default: none, enforced at commit. */
  disk?: InstanceRunDeps["disk"];
  /** Host ids of the sandboxes' user namespaces (default: `defaultIdRange()`). */
  ids?: IdRange;
}

/** Outcome of {@linkcode OperationEngine.cancel}. */
export type CancelOutcome = "cancelling" | "not_cancellable" | "not_found";

const RESTARTED = "server restarted while the operation was running";
/** Sandbox launchers kept ready for the next runs (see `LauncherPool`). */
const WARM_LAUNCHERS = 2;

interface Prepared {
  image: ImageRecord;
  files: SandboxFile[];
  request: SpawnRequest;
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
  readonly #maxConcurrent: number;
  readonly #maxQueue: number;
  readonly #queue: string[] = [];
  readonly #prepared = new Map<string, Prepared>();
  readonly #importRequests = new Map<string, ImageImportRequest>();
  readonly #running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  readonly #processes = new Map<string, ProcessTable>();
  readonly #recorder: RecorderDeps;
  readonly #instanceDeps: InstanceRunDeps;
  readonly #importDeps: ImportRunDeps;
  #stopping = false;

  /** Builds an engine; call {@linkcode recover} before accepting work. */
  constructor(options: EngineOptions) {
    this.#store = options.store;
    this.#hub = options.hub;
    this.#maxConcurrent = options.maxConcurrent;
    this.#maxQueue = options.maxQueue;
    this.#launchers = new LauncherPool(
      Math.min(WARM_LAUNCHERS, options.maxConcurrent),
      defaultLimits,
    );
    const { store, hub, layers } = options;
    this.#recorder = { db: store.db, images: store.images, operations: store.operations, hub };
    const record = (uuid: string, outcome: Outcome) => this.#record(uuid, outcome);
    const stopping = () => this.#stopping;
    this.#instanceDeps = {
      operations: store.operations,
      hub,
      layers,
      launchers: this.#launchers,
      ids: options.ids,
      record,
      stopping,
      disk: options.disk ?? { maxLayerBytes: null, duringRun: false },
    };
    this.#importDeps = {
      operations: store.operations,
      images: store.images,
      hub,
      registry: {
        layerStore: layers,
        cache: options.imports.cache,
        insecureRegistries: options.imports.insecureRegistries,
      },
      record,
      stopping,
    };
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
      this.#hub.open(uuid);
      this.#record(uuid, emptyOutcome("FAILED", RESTARTED));
    }
  }

  /**
   * Checks the references of a request (image, files) and creates a PENDING operation.
   * Throws {@linkcode SpawnError} without storing anything when it cannot be accepted.
   */
  spawn(request: SpawnRequest): OperationRecord {
    this.#admit();
    const image = this.#resolveImage(request.image);
    const files: SandboxFile[] = Object.entries(request.files).map(([path, spec]) => {
      const file = this.#store.files.byUuid(spec.uuid);
      if (!file) {
        throw new SpawnError(
          "not_found",
          `files[${JSON.stringify(path)}].uuid: no file ${spec.uuid}`,
        );
      }
      return {
        path,
        source: this.#store.blobs.path(file.sha256),
        mode: parseInt(String(spec.mode), 8),
        uid: spec.uid,
        gid: spec.gid,
      };
    });
    const op = this.#insertPending("instance", image.uuid, { ...request });
    this.#processes.set(op.uuid, new ProcessTable(op.uuid, this.#hub, request.stdin));
    this.#prepared.set(op.uuid, { image, files, request });
    this.#queue.push(op.uuid);
    this.#pump();
    return op;
  }

  /**
   * Checks an import request's reference and creates a PENDING `image_import` operation whose
   * metadata is the request with the password masked. Throws {@linkcode SpawnError} (`invalid`
   * reference, `queue_full`, `stopping`) without storing anything.
   */
  importImage(request: ImageImportRequest): OperationRecord {
    this.#admit();
    try {
      parseImageReference(request.registry.url);
    } catch (error) {
      throw new SpawnError("invalid", `registry.url: ${(error as Error).message}`);
    }
    const op = this.#insertPending("image_import", null, { ...maskImportRequest(request) });
    this.#importRequests.set(op.uuid, request);
    this.#queue.push(op.uuid);
    this.#pump();
    return op;
  }

  /** Cancels a pending or running operation. */
  cancel(uuid: string): CancelOutcome {
    const op = this.#store.operations.get(uuid);
    if (!op) return "not_found";
    if (isTerminalStatus(op.status)) return "not_cancellable";
    const queued = this.#queue.indexOf(op.uuid);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      this.#prepared.delete(op.uuid);
      this.#importRequests.delete(op.uuid);
      this.#record(op.uuid, emptyOutcome("CANCELLED", null));
    } else {
      this.#running.get(op.uuid)?.abort.abort();
    }
    return "cancelling";
  }

  /**
   * Starts a subprocess in the sandbox of a running instance operation (waiting for the
   * sandbox to be up when the operation is ASSIGNED) and resolves with its spid. Throws
   * {@linkcode ProcessError}: `not_found` for an unknown operation, `not_running` when it is not
   * running.
   */
  async exec(uuid: string, request: ExecRequest): Promise<number> {
    const op = this.#store.operations.get(uuid);
    if (!op) throw new ProcessError("not_found", "operation not found");
    const table = this.#processes.get(op.uuid);
    if (!table || (op.status !== "ASSIGNED" && op.status !== "EXECUTING")) {
      throw new ProcessError("not_running", NOT_RUNNING);
    }
    return await table.exec(request);
  }

  /**
   * Signals subprocess `spid` of an operation (see `ProcessTable.signal`). Throws
   * {@linkcode ProcessError}; the processes of a finished operation have exited
   * (`not_running`).
   */
  signalProcess(uuid: string, spid: number, signo: number): void {
    this.#table(uuid, spid).signal(spid, signo);
  }

  /**
   * Writes to the stdin of process `spid` of an operation (see `ProcessTable.write`). Throws
   * {@linkcode ProcessError}; the processes of a finished operation have exited
   * (`not_running`).
   */
  async writeProcessStdin(uuid: string, spid: number, input: StdinInput): Promise<void> {
    await this.#table(uuid, spid).write(spid, input);
  }

  #table(uuid: string, spid: number): ProcessTable {
    const op = this.#store.operations.get(uuid);
    if (!op) throw new ProcessError("not_found", "operation not found");
    const table = this.#processes.get(op.uuid);
    if (table) return table;
    if (hasProcess(this.#hub, op.uuid, spid)) {
      throw new ProcessError("not_running", `process ${spid} has already exited`);
    }
    throw new ProcessError("not_found", `no subprocess ${spid}`);
  }

  /** Stops accepting work, fails queued operations and kills running ones ("server stopped"). */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const uuid of this.#queue.splice(0)) {
      this.#prepared.delete(uuid);
      this.#importRequests.delete(uuid);
      if (this.#store.operations.get(uuid)) this.#record(uuid, emptyOutcome("FAILED", STOPPED));
    }
    const running = [...this.#running.values()];
    for (const run of running) run.abort.abort();
    await Promise.all(running.map((run) => run.done));
    await this.#launchers.close();
    this.#hub.flushAll();
  }

  /** Refuses new work while stopping or with a full queue. */
  #admit(): void {
    if (this.#stopping) throw new SpawnError("stopping", "server is stopping");
    if (this.#queue.length >= this.#maxQueue) {
      throw new SpawnError("queue_full", `too many pending operations (${this.#maxQueue})`);
    }
  }

  /** Stores a PENDING operation and opens its event log. */
  #insertPending(
    kind: OperationKind,
    imageUuid: string | null,
    metadata: Record<string, unknown>,
  ): OperationRecord {
    const op: OperationRecord = {
      uuid: crypto.randomUUID(),
      kind,
      status: "PENDING",
      error: null,
      created_at: isoTime(),
      started_at: null,
      finished_at: null,
      duration: null,
      image_uuid: imageUuid,
      result_image_uuid: null,
      image_size: null,
      consumed_cpu: null,
      consumed_memory: null,
      metadata,
      result: null,
    };
    this.#store.operations.insert(op);
    this.#hub.open(op.uuid);
    return op;
  }

  #resolveImage(ref: string): ImageRecord {
    const image = ref.startsWith("tag:")
      ? this.#store.images.byTag(ref.slice(4))
      : /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref)
      ? this.#store.images.get(ref)
      : (() => {
        throw new SpawnError("invalid", "image: must be an image UUID or tag:NAME");
      })();
    if (!image) throw new SpawnError("not_found", `image: no image ${ref}`);
    return image;
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
        ? runImport(this.#importDeps, uuid, importRequest, abort.signal)
        : runInstance(this.#instanceDeps, {
          uuid,
          ...prepared!,
          processes: this.#processes.get(uuid)!,
        }, abort.signal))
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

  /** Closes the operation's processes, then records its outcome (see `recordOutcome`). */
  #record(uuid: string, outcome: Outcome): void {
    // A run's processes are closed by now; a queued operation has none to wait for.
    void this.#processes.get(uuid)?.close();
    this.#processes.delete(uuid);
    recordOutcome(this.#recorder, this.#store.operations.get(uuid)!, outcome);
  }
}
