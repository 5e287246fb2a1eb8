/** The helper's report: how a process ended and its rusage, one line of JSON in a file. */
import { eventResources } from "../../src/wire/mod.ts";
import type { SandboxResources } from "./exec.ts";

/** A report as the helper writes it. */
export interface Report extends SandboxResources {
  exit_code: number;
  signal: number;
  core_dump: boolean;
  timed_out: boolean;
}

/** Resources of a process killed from outside, which left no report. */
export const ZERO_RESOURCES: SandboxResources = eventResources({});

/** The report at `path`; `null` when there is none or it is incomplete. */
export async function readReport(path: string): Promise<Report | null> {
  const text = await Deno.readTextFile(path).catch(() => "");
  try {
    return text.endsWith("}\n") ? JSON.parse(text) as Report : null;
  } catch {
    return null;
  }
}
