/** Checks shared by the command of a run and the processes started in it. */

/** The fields that say what a process runs, and as whom. */
export interface ProcessFields {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  uid: number;
  gid: number;
}

/** What is wrong with a process's fields, or `undefined`. */
export function processProblem(spec: ProcessFields): string | undefined {
  if (spec.command === "") return "empty command";
  if ([spec.command, ...spec.args].some((arg) => arg.includes("\0"))) return "NUL in argv";
  if (!spec.cwd.startsWith("/") || spec.cwd.includes("\0")) {
    return `cwd ${spec.cwd}: must be absolute`;
  }
  for (const id of [spec.uid, spec.gid]) {
    if (!Number.isInteger(id) || id < 0 || id > 0xfffffffe) return `bad uid/gid ${id}`;
  }
  for (const [key, value] of Object.entries(spec.env)) {
    if (key === "" || key.includes("=") || `${key}${value}`.includes("\0")) return `env ${key}`;
  }
  return undefined;
}
