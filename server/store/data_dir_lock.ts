/** One server per data directory: a pid file checked against the running processes. */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Another running server uses the data directory.
 *
 * @example
 * ```ts
 * try {
 *   lockDataDir(dir);
 * } catch (error) {
 *   if (error instanceof DataDirLockedError) console.error(error.message);
 * }
 * ```
 */
export class DataDirLockedError extends Error {
  /** The other server's process id. */
  readonly pid: number;

  /** Builds the error. */
  constructor(dataDir: string, pid: number) {
    super(`another server (pid ${pid}) is using ${dataDir}; stop it first`);
    this.name = "DataDirLockedError";
    this.pid = pid;
  }
}

/**
 * Makes sure only one server uses `dataDir` (creating it), through `<dataDir>/server.pid`;
 * a stale file (its process gone, or not a server) is taken over. Returns the release
 * function. Throws {@linkcode DataDirLockedError}.
 *
 * @example
 * ```ts
 * const unlock = lockDataDir("/var/lib/contree");
 * // ... serve ...
 * unlock();
 * ```
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, "server.pid");
  let other: number | undefined;
  try {
    other = Number(readFileSync(file, "utf8").trim());
  } catch { /* no lock file */ }
  if (other && other !== Deno.pid) {
    let cmdline = "";
    try {
      cmdline = readFileSync(`/proc/${other}/cmdline`, "utf8");
    } catch { /* not running */ }
    if (cmdline.includes("serve")) throw new DataDirLockedError(dataDir, other);
  }
  writeFileSync(file, `${Deno.pid}\n`);
  return () => rmSync(file, { force: true });
}
