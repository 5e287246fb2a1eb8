/**
 * The operation engine of the local backend: the spawn request, the run queue and
 * lifecycle, captured output and the per-operation event logs.
 *
 * @module
 */
export { type CancelOutcome, type EngineOptions, OperationEngine, SpawnError } from "./engine.ts";
export { EventHub } from "./event_hub.ts";
export { OutputCapture } from "./output_capture.ts";
export {
  DEFAULT_HOSTNAME,
  DEFAULT_TIMEOUT,
  DEFAULT_TRUNCATE_OUTPUT_AT,
  parseSpawnRequest,
  type SpawnLimits,
  type SpawnParse,
  type SpawnRequest,
} from "./spawn_request.ts";
export { fromStreamRepr, type StreamRepr, toStreamRepr } from "./stream_repr.ts";
