/**
 * A process's resource usage in its two wire shapes: an `exit` event's (whole microseconds,
 * KiB and counts) and a finished instance's `result.resources` (times in seconds). One table
 * maps them both ways, so the backend that writes one and the client that reads the other
 * cannot drift apart.
 *
 * @module
 */
import type { EventResources } from "./events.ts";
import type { InstanceResultResources } from "./types.ts";
import { EVENT_RESOURCE_FIELDS } from "./_resource_fields.ts";

/** Event field and result field of the figures both shapes count in the same unit. */
const SAME_UNIT = [
  ["max_rss_kb", "max_rss"],
  ["block_input_ops", "block_input"],
  ["block_output_ops", "block_output"],
  ["minor_faults", "page_faults"],
  ["major_faults", "page_faults_io"],
  ["shared_memory", "shared_memory"],
  ["unshared_memory", "unshared_memory"],
  ["swaps", "swaps"],
  ["signals_received", "signals"],
  ["voluntary_ctx_switches", "voluntary_switches"],
  ["involuntary_ctx_switches", "involuntary_switches"],
] as const satisfies readonly (readonly [keyof EventResources, keyof InstanceResultResources])[];

/**
 * An instance result's `resources` from an `exit` event's and the process's duration.
 *
 * @example
 * ```ts
 * import { type EventResources, resultResources } from "@contree/sdk";
 *
 * declare const exit: { resources: EventResources; duration_ms: number };
 * const { user_cpu_time, max_rss } = resultResources(exit.resources, exit.duration_ms);
 * ```
 */
export function resultResources(
  resources: EventResources,
  durationMs: number,
): InstanceResultResources {
  const result: InstanceResultResources = {
    elapsed_time: durationMs / 1000,
    monotonic_time: durationMs / 1000,
    user_cpu_time: resources.user_time_us / 1e6,
    system_cpu_time: resources.sys_time_us / 1e6,
    cost: 0,
  };
  for (const [event, field] of SAME_UNIT) result[field] = resources[event];
  return result;
}

/**
 * An `exit` event's `resources` from an instance result's: missing figures (and the IPC
 * counts, which results do not carry) are 0.
 *
 * @example
 * ```ts
 * import { eventResources } from "@contree/sdk";
 *
 * const { user_time_us } = eventResources({ user_cpu_time: 0.25, max_rss: 1024 }); // 250000
 * ```
 */
export function eventResources(resources: InstanceResultResources): EventResources {
  const whole = (value: number | undefined) => Math.round(value ?? 0);
  const event = {} as EventResources;
  for (const field of EVENT_RESOURCE_FIELDS) event[field] = 0;
  event.user_time_us = whole((resources.user_cpu_time ?? 0) * 1e6);
  event.sys_time_us = whole((resources.system_cpu_time ?? 0) * 1e6);
  for (const [field, name] of SAME_UNIT) event[field] = whole(resources[name]);
  return event;
}
