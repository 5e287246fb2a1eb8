import type { SandboxResources } from "../sandbox/run.ts";

/** Maps rusage figures and a duration to the wire's `InstanceResultResources`. */
export function instanceResources(
  r: SandboxResources,
  durationMs: number,
): Record<string, number> {
  return {
    elapsed_time: durationMs / 1000,
    monotonic_time: durationMs / 1000,
    user_cpu_time: r.user_time_us / 1e6,
    system_cpu_time: r.sys_time_us / 1e6,
    cost: 0,
    max_rss: r.max_rss_kb,
    block_input: r.block_input_ops,
    block_output: r.block_output_ops,
    page_faults: r.minor_faults,
    page_faults_io: r.major_faults,
    shared_memory: r.shared_memory,
    unshared_memory: r.unshared_memory,
    swaps: r.swaps,
    signals: r.signals_received,
    voluntary_switches: r.voluntary_ctx_switches,
    involuntary_switches: r.involuntary_ctx_switches,
  };
}
