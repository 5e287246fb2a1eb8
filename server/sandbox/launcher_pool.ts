/**
 * Launchers: the helper's `launch` processes, each already inside the cgroups of one run and
 * waiting on stdin for that run's arguments. Moving a process into a cgroup v1 waits for an
 * RCU grace period (7 to 20 ms here, more than a whole bare bwrap run), so a pool keeps a few
 * launchers warm and runs take one instead of paying for the move.
 */
import { type CgroupLimits, createRunCgroup, noRunCgroup, type RunCgroup } from "./_cgroups.ts";
import { rootlessHostRange } from "./rootless.ts";
import { helperPath } from "./_helper_path.ts";
import { nulTerminated } from "./_nul_list.ts";

/** A started `launch` process inside its run's cgroups. */
export interface Launcher {
  /** The helper process; its stdin takes the run's arguments, then the run's stdin. */
  child: Deno.ChildProcess;
  /** The cgroups it is in. */
  cgroup: RunCgroup;
  /** The limits its cgroups have. */
  limits: CgroupLimits;
}

/** Starts a launcher in fresh cgroups with `limits`. */
export async function startLauncher(limits: CgroupLimits): Promise<Launcher> {
  const [helper, cgroup] = await Promise.all([
    helperPath(),
    rootlessHostRange() ? noRunCgroup() : createRunCgroup(limits),
  ]);
  try {
    const child = new Deno.Command(helper, {
      args: ["launch", ...cgroup.dirs.flatMap((dir) => ["--cgroup", dir])],
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return { child, cgroup, limits };
  } catch (error) {
    await cgroup.remove();
    throw error;
  }
}

/**
 * Sends the run's arguments (they follow `launch` on the helper's command line); the stdin
 * pipe stays open for the run's input.
 */
export async function sendRunArgs(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  args: string[],
): Promise<void> {
  const payload = nulTerminated(args);
  const message = new Uint8Array(8 + payload.length);
  message.set(new TextEncoder().encode(payload.length.toString(16).padStart(8, "0")));
  message.set(payload, 8);
  await writer.write(message);
}

/** Kills an unused launcher and removes its cgroups. */
async function dispose(launcher: Launcher): Promise<void> {
  try {
    launcher.child.kill("SIGKILL");
  } catch {
    // Already exited.
  }
  await Promise.all([
    launcher.child.status,
    launcher.child.stdin.abort().catch(() => {}),
    launcher.child.stdout.cancel().catch(() => {}),
    launcher.child.stderr.cancel().catch(() => {}),
  ]);
  await launcher.cgroup.remove();
}

/**
 * Whether the launcher still waits for its run. Read from /proc rather than from the child's
 * status, which reports a death only a few event-loop turns later.
 */
function waiting(launcher: Launcher): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${launcher.child.pid}/stat`);
    // The state letter follows the command name, which may itself hold ")".
    const state = stat[stat.lastIndexOf(")") + 2];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

function sameLimits(a: CgroupLimits, b: CgroupLimits): boolean {
  return a.memoryBytes === b.memoryBytes && a.pids === b.pids;
}

/**
 * Keeps up to `size` launchers warm. `take` hands out a warm one (with the requested limits
 * applied) or starts one, and starts replacements in the background.
 *
 * @example
 * ```ts
 * const pool = new LauncherPool(2, defaultLimits);
 * const launcher = await pool.take(defaultLimits());
 * // ... send the run's arguments, run, then remove launcher.cgroup
 * await pool.close();
 * ```
 */
export class LauncherPool {
  readonly #size: number;
  readonly #defaults: () => CgroupLimits;
  readonly #idle: Launcher[] = [];
  readonly #starting = new Set<Promise<void>>();
  #closed = false;

  /** A pool of `size` launchers, kept warm with the `defaults` limits. */
  constructor(size: number, defaults: () => CgroupLimits) {
    this.#size = size;
    this.#defaults = defaults;
  }

  /** A launcher whose cgroups have `limits`; the caller owns it from here on. */
  async take(limits: CgroupLimits): Promise<Launcher> {
    let launcher: Launcher | undefined;
    while ((launcher = this.#idle.shift()) && !waiting(launcher)) await dispose(launcher);
    this.#fill();
    if (!launcher) return await startLauncher(limits);
    if (!sameLimits(launcher.limits, limits)) {
      try {
        await launcher.cgroup.limit(limits);
      } catch (error) {
        await dispose(launcher);
        throw error;
      }
      launcher.limits = limits;
    }
    return launcher;
  }

  /** Stops keeping launchers: the idle ones are killed and their cgroups removed. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#starting);
    await Promise.all(this.#idle.splice(0).map(dispose));
  }

  #fill(): void {
    while (!this.#closed && this.#idle.length + this.#starting.size < this.#size) {
      const starting: Promise<void> = startLauncher(this.#defaults()).then(
        (launcher) => {
          if (this.#closed) return dispose(launcher);
          this.#idle.push(launcher);
        },
        (error) => console.error(`warming a sandbox launcher: ${error.message}`),
      ).finally(() => this.#starting.delete(starting));
      this.#starting.add(starting);
    }
  }
}
