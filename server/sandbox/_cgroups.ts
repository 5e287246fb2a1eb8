/**
 * Per-run cgroups for the memory and pids limits, on cgroup v1 or v2 (detected per
 * controller from /proc/self/mountinfo). Run cgroups are created under the server's own
 * cgroup, so limits set on the server still bound its sandboxes.
 */
import { SandboxUnsupportedError } from "./errors.ts";
import { exists } from "./_exists.ts";

/** The controllers a run is limited with. */
export type Controller = "memory" | "pids";

const CONTROLLERS: Controller[] = ["memory", "pids"];
const PREFIX = "contree-run-";

interface Hierarchy {
  version: 1 | 2;
  /** The directory run cgroups are created in. */
  base: string;
}

/** Limits of one run. */
export interface CgroupLimits {
  memoryBytes: number;
  pids: number;
}

/** A run's cgroups: join them (write a pid to each `cgroup.procs`), then remove them. */
export interface RunCgroup {
  /** One directory per controller hierarchy. */
  dirs: string[];
  /** Applies `limits` (replacing the current ones). */
  limit(limits: CgroupLimits): Promise<void>;
  /** Kills every process in them, including any that escaped the sandbox's pid namespace. */
  kill(): Promise<void>;
  /** Kills whatever is left in them and removes them. */
  remove(): Promise<void>;
}

let detected: Promise<Map<Controller, Hierarchy>> | undefined;
let counter = 0;

/** SIGKILLs every process in `dir`; true when it held none. */
async function killAll(dir: string): Promise<boolean> {
  const procs = await Deno.readTextFile(`${dir}/cgroup.procs`).catch(() => "");
  const pids = procs.split("\n").filter(Boolean);
  for (const pid of pids) {
    try {
      Deno.kill(Number(pid), "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  return pids.length === 0;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Removes run cgroups whose server process is gone (left by a crash). */
async function removeStale(base: string): Promise<void> {
  for await (const entry of Deno.readDir(base)) {
    const match = entry.isDirectory && entry.name.match(/^contree-run-(\d+)-/);
    if (!match || await exists(`/proc/${match[1]}`)) continue;
    await killAll(`${base}/${entry.name}`);
    await Deno.remove(`${base}/${entry.name}`).catch(() => {
      // Still emptying; the next server start retries.
    });
  }
}

/** cgroup v2 lets a cgroup hand controllers to children only when it holds no process. */
async function enableV2(base: string, controller: Controller): Promise<boolean> {
  const enable = () => Deno.writeTextFile(`${base}/cgroup.subtree_control`, `+${controller}`);
  try {
    await enable();
    return true;
  } catch {
    // Move this server into a leaf of its own and try once more.
    const leaf = `${base}/contree-server`;
    await Deno.mkdir(leaf, { recursive: true });
    try {
      await Deno.writeTextFile(`${leaf}/cgroup.procs`, String(Deno.pid));
      await enable();
      return true;
    } catch {
      return false;
    }
  }
}

async function detect(): Promise<Map<Controller, Hierarchy>> {
  const own = new Map<string, string>();
  for (const line of (await Deno.readTextFile("/proc/self/cgroup")).split("\n")) {
    const [id, names, path] = line.split(":");
    if (path === undefined) continue;
    own.set(id === "0" ? "" : names, path);
  }
  const found = new Map<Controller, Hierarchy>();
  let v2: { mount: string; root: string } | undefined;
  for (const line of (await Deno.readTextFile("/proc/self/mountinfo")).split("\n")) {
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (dash < 0) continue;
    const [root, mount] = [fields[3], fields[4]];
    const [fstype, , options] = fields.slice(dash + 1);
    if (fstype === "cgroup2") v2 ??= { mount, root };
    if (fstype !== "cgroup") continue;
    const bound = options.split(",");
    for (const controller of CONTROLLERS) {
      if (!bound.includes(controller) || found.has(controller)) continue;
      const path = [...own].find(([names]) => names.split(",").includes(controller))?.[1];
      if (path === undefined) continue;
      const relative = root !== "/" && path.startsWith(root) ? path.slice(root.length) : path;
      found.set(controller, { version: 1, base: `${mount}${relative}`.replace(/\/+$/, "") });
    }
  }
  const v2Path = own.get("");
  if (v2 && v2Path !== undefined) {
    const relative = v2.root !== "/" && v2Path.startsWith(v2.root)
      ? v2Path.slice(v2.root.length)
      : v2Path;
    const base = `${v2.mount}${relative}`.replace(/\/+$/, "");
    const available = (await Deno.readTextFile(`${base}/cgroup.controllers`).catch(() => ""))
      .trim().split(/\s+/);
    for (const controller of CONTROLLERS) {
      if (found.has(controller) || !available.includes(controller)) continue;
      if (await enableV2(base, controller)) found.set(controller, { version: 2, base });
    }
  }
  for (const base of new Set([...found.values()].map((h) => h.base))) await removeStale(base);
  return found;
}

/** The controllers this host can limit runs with (detected once per process). */
export async function cgroupControllers(): Promise<Controller[]> {
  detected ??= detect();
  return [...(await detected).keys()];
}

/**
 * Creates the cgroups of one run with `limits` applied. Throws
 * {@linkcode SandboxUnsupportedError} when a controller is not available.
 */
export async function createRunCgroup(limits: CgroupLimits): Promise<RunCgroup> {
  detected ??= detect();
  const hierarchies = await detected;
  const missing = CONTROLLERS.filter((c) => !hierarchies.has(c)).map((c) => `cgroup ${c}`);
  if (missing.length > 0) throw new SandboxUnsupportedError(missing);
  const name = `${PREFIX}${Deno.pid}-${++counter}`;
  const dirs = new Map<Controller, string>();
  const cgroup: RunCgroup = {
    dirs: [],
    async limit(limits) {
      for (const controller of CONTROLLERS) {
        const dir = dirs.get(controller)!;
        const write = (file: string, value: number) =>
          Deno.writeTextFile(`${dir}/${file}`, `${value}`);
        if (controller === "pids") {
          await write("pids.max", limits.pids);
        } else if (hierarchies.get(controller)!.version === 1) {
          await write("memory.limit_in_bytes", limits.memoryBytes);
          if (await exists(`${dir}/memory.memsw.limit_in_bytes`)) {
            await write("memory.memsw.limit_in_bytes", limits.memoryBytes);
          }
        } else {
          await write("memory.max", limits.memoryBytes);
          if (await exists(`${dir}/memory.swap.max`)) await write("memory.swap.max", 0);
        }
      }
    },
    async kill() {
      // Killing the sandbox's pid 1 takes its whole pid namespace at once, so a few rounds
      // suffice even against a fork bomb.
      for (let round = 0; round < 100; round++) {
        const empty = await Promise.all(cgroup.dirs.map(killAll));
        if (empty.every(Boolean)) return;
        await sleep(5);
      }
    },
    async remove() {
      await cgroup.kill();
      for (const dir of cgroup.dirs) {
        for (let attempt = 0;; attempt++) {
          try {
            await Deno.remove(dir);
            break;
          } catch (error) {
            if (error instanceof Deno.errors.NotFound || attempt >= 100) break;
            await killAll(dir);
            await sleep(10);
          }
        }
      }
    },
  };
  try {
    const byBase = new Map<string, string>();
    for (const controller of CONTROLLERS) {
      const { base } = hierarchies.get(controller)!;
      let dir = byBase.get(base);
      if (dir === undefined) {
        dir = `${base}/${name}`;
        await Deno.mkdir(dir);
        byBase.set(base, dir);
        cgroup.dirs.push(dir);
      }
      dirs.set(controller, dir);
    }
    await cgroup.limit(limits);
  } catch (error) {
    await cgroup.remove();
    throw error;
  }
  return cgroup;
}
