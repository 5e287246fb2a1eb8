// The fields of an `exit` event's `resources`, in wire order: the event schema reads them and
// `eventResources` fills them, from this one list.
import type { EventResources } from "./events.ts";

export const EVENT_RESOURCE_FIELDS = [
  "user_time_us",
  "sys_time_us",
  "max_rss_kb",
  "shared_memory",
  "unshared_memory",
  "swaps",
  "minor_faults",
  "major_faults",
  "voluntary_ctx_switches",
  "involuntary_ctx_switches",
  "block_input_ops",
  "block_output_ops",
  "ipc_msgs_sent",
  "ipc_msgs_received",
  "signals_received",
] as const satisfies readonly (keyof EventResources)[];
