/** What the HTTP layer needs from the rest of the server. */
import type { LayerStore } from "../images/layer_store.ts";
import type { EventHub, OperationEngine, SpawnLimits } from "../ops/mod.ts";
import type { Store } from "../store/mod.ts";

/** Dependencies and settings of the API app. */
export interface ApiContext {
  /** Durable state. */
  store: Store;
  /** Runs operations. */
  engine: OperationEngine;
  /** Operation event logs. */
  hub: EventHub;
  /** Image layers (for inspect). */
  layers: LayerStore;
  /** The bearer token clients must present. */
  token: string;
  /** Spawn defaults and caps. */
  limits: SpawnLimits;
  /** Largest request body in bytes (uploads included); more is a 413. */
  maxBodyBytes: number;
  /** Idle time before an SSE stream sends a `: keepalive` comment, in milliseconds. */
  keepaliveMs: number;
}
