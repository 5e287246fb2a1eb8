import type { SandboxResult } from "../sandbox/run.ts";

/** Maps the runner's rusage figures to the wire's `InstanceResultResources`. */
export function instanceResources(result: SandboxResult): Record<string, number> {
  const r = result.resources;
  return {
    elapsed_time: result.durationMs / 1000,
    monotonic_time: result.durationMs / 1000,
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
