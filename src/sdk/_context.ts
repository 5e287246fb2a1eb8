// What an execution (a run, a process, an import's cancellation) needs of the client it
// belongs to (a `Contree` is one). Depending on this instead of the class keeps the
// execution machinery below the object model, out of its import circle.
import type { ContreeClient } from "../wire/client.ts";
import type { RequestOptions } from "../wire/types.ts";
import type { FilesManager } from "./files.ts";

/** The client as executions see it. */
export interface ClientContext {
  /** The wire client every request goes through. */
  readonly api: ContreeClient;
  /** Uploads a run's `files`. */
  readonly files: FilesManager;
  /** Aborted once the client is closed. */
  readonly signal: AbortSignal;
  /** Time limit of runs without their own, in seconds. */
  readonly operationTimeout: number;
  /** Default `truncateOutputAt` of runs, in bytes. */
  readonly truncateOutputAt: number;
  /** Request options that follow the client's lifetime and, when given, `signal`. */
  requestOptions(signal?: AbortSignal): RequestOptions;
}
