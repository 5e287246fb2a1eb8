/** The helper's report: how a process ended and its rusage, one line of JSON in a file. */
import type { SandboxResources } from "./exec.ts";

/** A report as the helper writes it. */
export interface Report extends SandboxResources {
  exit_code: number;
  signal: number;
  core_dump: boolean;
  timed_out: boolean;
}

/** Resources of a process killed from outside, which left no report. */
export const ZERO_RESOURCES: SandboxResources = {
  user_time_us: 0,
  sys_time_us: 0,
  max_rss_kb: 0,
  shared_memory: 0,
  unshared_memory: 0,
  swaps: 0,
  minor_faults: 0,
  major_faults: 0,
  voluntary_ctx_switches: 0,
  involuntary_ctx_switches: 0,
  block_input_ops: 0,
  block_output_ops: 0,
  ipc_msgs_sent: 0,
  ipc_msgs_received: 0,
  signals_received: 0,
};

/** The report at `path`; `null` when there is none or it is incomplete. */
export async function readReport(path: string): Promise<Report | null> {
  const text = await Deno.readTextFile(path).catch(() => "");
  try {
    return text.endsWith("}\n") ? JSON.parse(text) as Report : null;
  } catch {
    return null;
  }
}
