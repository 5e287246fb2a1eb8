/** Image imports: a registry image pulled into the layer store as an operation's result. */
import {
  describeProgress,
  type ImageImportRequest,
  importFromRegistry,
  type RegistryImportOptions,
} from "../registry/mod.ts";
import { type ImageRepo, isoTime, type OperationRepo } from "../store/mod.ts";
import type { EventHub } from "./event_hub.ts";
import { emptyOutcome, errorMessage, type Outcome, STOPPED } from "./_outcome.ts";
import { encodeStream } from "../../src/wire/mod.ts";

/** Seconds an import may take when its request names no `timeout`. */
const DEFAULT_IMPORT_TIMEOUT = 600;

/** What {@linkcode runImport} touches. */
export interface ImportRunDeps {
  /** The operation's status. */
  operations: Pick<OperationRepo, "update">;
  /** Finds an earlier image of the same content. */
  images: Pick<ImageRepo, "byContent">;
  /** The operation's event log (progress lines as `stdout`). */
  hub: Pick<EventHub, "append">;
  /** Where layers go, the import cache and the registries reached over plain HTTP. */
  registry: Pick<RegistryImportOptions, "layerStore" | "cache" | "insecureRegistries">;
  /** Records the outcome (see `recordOutcome`); throws when it cannot be written. */
  record: (uuid: string, outcome: Outcome) => void;
  /** Whether the server is stopping (an abort then fails the operation instead of cancelling). */
  stopping: () => boolean;
}

/**
 * Imports the image into the layer store; the result is the earlier image of the same
 * content when there is one (re-imports yield the same image), else a new one, tagged as
 * the request asks. An abort cancels the import; its `timeout` fails it.
 *
 * @example
 * ```ts
 * await runImport(deps, uuid, request, abort.signal);
 * ```
 */
export async function runImport(
  deps: ImportRunDeps,
  uuid: string,
  request: ImageImportRequest,
  signal: AbortSignal,
): Promise<void> {
  deps.operations.update(uuid, { status: "EXECUTING", started_at: isoTime() });
  const seconds = request.timeout ?? DEFAULT_IMPORT_TIMEOUT;
  const timeout = AbortSignal.timeout(seconds * 1000);
  const outcome = emptyOutcome("FAILED", null);
  try {
    const result = await importFromRegistry({
      ...deps.registry,
      reference: request.registry.url,
      credentials: request.registry.credentials,
      signal: AbortSignal.any([signal, timeout]),
      onProgress: (event) => {
        const line = describeProgress(event);
        if (line) deps.hub.append(uuid, "stdout", 0, encodeStream(line));
      },
    });
    const known = deps.images.byContent(result.layers, result.config.env, result.config.workdir);
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
      outcome.status = deps.stopping() ? "FAILED" : "CANCELLED";
      outcome.error = deps.stopping() ? STOPPED : null;
    } else {
      outcome.error = timeout.aborted
        ? `the import did not finish within its timeout (${seconds} s)`
        : errorMessage(error);
    }
  }
  try {
    deps.record(uuid, outcome);
  } catch (error) {
    deps.record(
      uuid,
      emptyOutcome("FAILED", `could not record the result: ${errorMessage(error)}`),
    );
  }
}
