/**
 * The operation engine of the local backend: the spawn request, the run queue and
 * lifecycle, captured output, the per-operation event logs, and the processes started in a
 * running instance (subprocesses, live stdin).
 *
 * @module
 */
export {
  type CancelOutcome,
  type EngineOptions,
  OperationEngine,
  SpawnError,
  type SpawnRefusal,
} from "./engine.ts";
export { EventHub, type EventPayloads, type EventType } from "./event_hub.ts";
export {
  type ExecRequest,
  type Parsed,
  parseExecRequest,
  parseStdinInput,
  type StdinInput,
} from "./exec_request.ts";
export { OutputCapture } from "./output_capture.ts";
export { processResult } from "./process_result.ts";
export { ProcessError, type ProcessRefusal } from "./process_table.ts";
export {
  DEFAULT_HOSTNAME,
  DEFAULT_TIMEOUT,
  DEFAULT_TRUNCATE_OUTPUT_AT,
  parseSpawnRequest,
  type SpawnLimits,
  type SpawnParse,
  type SpawnRequest,
} from "./spawn_request.ts";
