/**
 * The local backend as a value: {@linkcode openBackend} opens a data directory and returns the
 * API app and a stop function, apart from any command line or listening socket.
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import type { Hono } from "hono";
import { createApp } from "./api/mod.ts";
import { storeRootfsImage } from "./local_import.ts";
import { busyboxRootfs, LayerStore, quotaFsProblem } from "./images/layer_store.ts";
import { EventHub, OperationEngine } from "./ops/mod.ts";
import { ImportCache } from "./registry/mod.ts";
import { SandboxUnsupportedError } from "./sandbox/errors.ts";
import { checkSandboxSupport, configureSandboxMemory } from "./sandbox/run.ts";
import { defaultIdRange, type IdRange } from "./sandbox/id_range.ts";
import {
  ownerIds,
  ROOTLESS_SANDBOX_IDS,
  rootlessHostRange,
  rootlessUnavailable,
} from "./sandbox/rootless.ts";
import { claimOwnerIds, getMeta, lockDataDir, setMeta, Store } from "./store/mod.ts";

/** The tag of the base image every data directory starts with. */
export const BASE_TAG = "busybox:latest";

/** Settings of {@linkcode openBackend}; everything but `dataDir` and `token` has a default. */
export interface BackendConfig {
  /** Where images, layers, files and operations are kept (created if missing). */
  dataDir: string;
  /** The bearer token clients must present. */
  token: string;
  /** Runs executing at once (default: 4 per CPU). */
  maxConcurrent?: number;
  /** Operations waiting at once; more are refused with 429 (default 1024). */
  maxQueue?: number;
  /** Largest `timeout` a spawn may ask for, in seconds (default 3600). */
  maxTimeout?: number;
  /** Largest `truncate_output_at` a spawn may ask for, in bytes (default 128 MiB). */
  maxOutput?: number;
  /** Largest request body in bytes, uploads included (default 1 GiB). */
  maxBody?: number;
  /** Idle time before an SSE stream sends a keepalive comment, in ms (default 15000). */
  keepaliveMs?: number;
  /** Registries (`host` or `host:port`) imported from over plain HTTP. */
  insecureRegistries?: string[];
  /**
   * Memory of all sandboxes together, bytes (default: half the host's RAM); a run's default
   * limit is its share, `memoryTotal / maxConcurrent`.
   */
  memoryTotal?: number;
  /**
   * Most bytes one run may write (default: no cap); a request's `max_layer_bytes` may ask for
   * less. Enforced while the run writes where the host allows it (root, loop devices, ext4),
   * else at commit.
   */
  maxLayerBytes?: number;
  /**
   * Host ids sandbox ids 0-65535 map to (default: the server user's /etc/subuid and
   * /etc/subgid ranges, else `ROOT_ID_RANGE` as root).
   */
  idRange?: IdRange;
  /** Called with one line per notable start-up step (default: none). */
  log?: (line: string) => void;
}

/** An open backend. */
export interface Backend {
  /** The ConTree-compatible API (`/v1/...`): `Deno.serve(backend.app.fetch)` or `app.request()`. */
  app: Hono;
  /**
   * Stops accepting work, fails queued and kills running operations ("server stopped"),
   * awaits `drain` (e.g. the HTTP server's shutdown: its requests still see an open store),
   * then closes the store and releases the data directory. Later calls do nothing.
   */
  stop(drain?: () => Promise<void>): Promise<void>;
}

/** Builds the `busybox:latest` base image once per data directory. */
async function ensureBaseImage(store: Store, layers: LayerStore): Promise<void> {
  if (getMeta(store.db, "base_image") !== undefined) return;
  const dir = mkdtempSync(join(tmpdir(), "contree-busybox-"));
  try {
    await busyboxRootfs(dir);
    setMeta(store.db, "base_image", await storeRootfsImage(store, layers, dir, BASE_TAG));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Opens the backend on a data directory: checks that this host can run sandboxes (else
 * throws {@linkcode SandboxUnsupportedError}), locks the directory (`DataDirLockedError`
 * when another server uses it), builds the base image on first use, removes layers no image
 * refers to, fails operations a previous process left running, and builds the API app.
 *
 * @example
 * ```ts
 * const backend = await openBackend({ dataDir: "./.data", token: "s3cret" });
 * const res = await backend.app.request("/v1/images", {
 *   headers: { Authorization: "Bearer s3cret" },
 * });
 * await backend.stop();
 * ```
 */
export async function openBackend(config: BackendConfig): Promise<Backend> {
  const support = await checkSandboxSupport();
  if (!support.ok) throw new SandboxUnsupportedError(support.missing);
  const maxConcurrent = config.maxConcurrent ?? 4 * cpus().length;
  await configureSandboxMemory({
    totalBytes: config.memoryTotal ?? Math.floor(totalmem() / 2),
    maxConcurrent,
  });
  const rootless = rootlessHostRange();
  const ids = rootless ? ROOTLESS_SANDBOX_IDS : config.idRange ?? await defaultIdRange();
  const host = rootless ?? ids;
  config.log?.(
    `sandboxes map ids 0-${host.count - 1} to host uids ${host.uidStart}-` +
      `${host.uidStart + host.count - 1} and gids ${host.gidStart}-` +
      `${host.gidStart + host.count - 1}`,
  );
  if (rootless) {
    config.log?.(
      "running without root, in a user namespace over this user's subordinate ids; " +
        `unavailable without root: ${rootlessUnavailable().join("; ")}`,
    );
  }
  const dataDir = resolve(config.dataDir);
  const unlock = lockDataDir(dataDir);
  const store = new Store(dataDir);
  let engine: OperationEngine | undefined;
  try {
    claimOwnerIds(store.db, ownerIds());
    const layers = new LayerStore(dataDir);
    await layers.init();
    const importCache = new ImportCache(join(dataDir, "imports"));
    await importCache.init();
    await ensureBaseImage(store, layers);
    const referenced = new Set([...store.images.layerIds(), ...await importCache.layerIds()]);
    const pruned = await layers.prune(referenced);
    if (pruned.length > 0) config.log?.(`removed ${pruned.length} layer(s) no image refers to`);
    const hub = new EventHub(store.db, store.events);
    const quotaProblem = await quotaFsProblem();
    if (quotaProblem) {
      config.log?.(
        `disk caps during runs are unavailable (${quotaProblem}): max_layer_bytes is checked ` +
          `when a run ends`,
      );
    }
    const running = new OperationEngine({
      store,
      hub,
      layers,
      maxConcurrent,
      maxQueue: config.maxQueue ?? 1024,
      imports: { cache: importCache, insecureRegistries: config.insecureRegistries ?? [] },
      disk: { maxLayerBytes: config.maxLayerBytes ?? null, duringRun: quotaProblem === null },
      ids,
    });
    engine = running;
    running.recover();
    const app = createApp({
      store,
      engine: running,
      hub,
      layers,
      token: config.token,
      limits: {
        maxTimeout: config.maxTimeout ?? 3600,
        maxOutput: config.maxOutput ?? 128 * 1024 * 1024,
      },
      maxBodyBytes: config.maxBody ?? 1024 * 1024 * 1024,
      keepaliveMs: config.keepaliveMs ?? 15_000,
    });
    let stopped: Promise<void> | undefined;
    const stop = (drain?: () => Promise<void>) =>
      stopped ??= (async () => {
        try {
          await running.stop();
          await layers.close();
          await drain?.();
        } finally {
          store.close();
          unlock();
        }
      })();
    return { app, stop };
  } catch (error) {
    await engine?.stop();
    store.close();
    unlock();
    throw error;
  }
}
