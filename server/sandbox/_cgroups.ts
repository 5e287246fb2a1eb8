/**
 * Per-run cgroups for the memory and pids limits, on cgroup v1 or v2 (detected per
 * controller from /proc/self/mountinfo). Every run cgroup of this process sits in one parent,
 * `contree-sandboxes-<pid>` under the process's own cgroup, whose memory limit caps all of
 * its sandboxes together (see {@linkcode setMemoryTotal}): however many runs hog memory, the
 * kernel's OOM killer picks among their processes, never the server's or the host's. The
 * parent is removed when the process exits, or by the next start after a crash.
 */
import { SandboxUnsupportedError } from "./errors.ts";
import { exists } from "./_exists.ts";

/** The controllers a run is limited with. */
export type Controller = "memory" | "pids";

const CONTROLLERS: Controller[] = ["memory", "pids"];
const PREFIX = "contree-run-";
const PARENT_PREFIX = "contree-sandboxes-";
/** Run cgroups of older servers, created right in their own cgroup, and parents of servers. */
const STALE = /^contree-(?:run|sandboxes)-(\d+)(?:-|$)/;

interface Hierarchy {
  version: 1 | 2;
  /** The server's own cgroup in this hierarchy. */
  base: string;
  /** This process's parent of all its run cgroups (under `base`). */
  parent: string;
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
  /** How many of their processes the kernel's OOM killer has killed. */
  oomKills(): Promise<number>;
}

/**
 * The cgroups of a run on a host where none can be made (a server without root and without a
 * delegated cgroup): nothing to join, limit, kill or remove; the run's pid namespace still
 * takes all its processes with it.
 */
export function noRunCgroup(): RunCgroup {
  const none = () => Promise.resolve();
  return { dirs: [], limit: none, kill: none, remove: none, oomKills: () => Promise.resolve(0) };
}

let detected: Promise<Map<Controller, Hierarchy>> | undefined;
let counter = 0;
/** Memory of all sandboxes together: half the host's RAM until {@linkcode setMemoryTotal}. */
let memoryTotalBytes = Math.floor(Deno.systemMemoryInfo().total / 2);

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

/** Kills what `dir` and its child cgroups hold and removes them, best effort. */
async function removeTree(dir: string): Promise<void> {
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await removeTree(`${dir}/${entry.name}`);
    }
  } catch {
    // Already removed.
  }
  await killAll(dir);
  await Deno.remove(dir).catch(() => {
    // Still emptying; the next server start retries.
  });
}

/** Removes the cgroups of server processes that are gone (left by a crash). */
async function removeStale(base: string): Promise<void> {
  for await (const entry of Deno.readDir(base)) {
    const match = entry.isDirectory && entry.name.match(STALE);
    if (!match || await exists(`/proc/${match[1]}`)) continue;
    await removeTree(`${base}/${entry.name}`);
  }
}

/** Writes the memory limit `bytes` (and the same for memory plus swap) into cgroup `dir`. */
async function writeMemoryLimit(dir: string, version: 1 | 2, bytes: number): Promise<void> {
  const write = (file: string, value: number) => Deno.writeTextFile(`${dir}/${file}`, `${value}`);
  if (version === 1) {
    // The memory plus swap limit may never be below the memory limit: raise it first, lower
    // it last.
    const swap = await exists(`${dir}/memory.memsw.limit_in_bytes`);
    const current = Number(await Deno.readTextFile(`${dir}/memory.limit_in_bytes`));
    if (swap && bytes > current) await write("memory.memsw.limit_in_bytes", bytes);
    await write("memory.limit_in_bytes", bytes);
    if (swap && bytes <= current) await write("memory.memsw.limit_in_bytes", bytes);
  } else {
    await write("memory.max", bytes);
    if (await exists(`${dir}/memory.swap.max`)) await write("memory.swap.max", 0);
  }
}

/**
 * Creates this process's parent cgroup in each hierarchy, the memory one capped. A controller
 * whose parent cannot be made or capped (no write access to the server's own cgroup, as for a
 * server without root and without delegation) is dropped from `found`: it is unavailable.
 */
async function createParents(found: Map<Controller, Hierarchy>): Promise<void> {
  const parents = new Map<string, Controller[]>();
  for (const [controller, { parent }] of found) {
    parents.set(parent, [...parents.get(parent) ?? [], controller]);
  }
  const created: string[] = [];
  for (const [parent, controllers] of parents) {
    try {
      await Deno.mkdir(parent, { recursive: true });
      created.push(parent);
      if (found.get(controllers[0])!.version === 2) {
        await Deno.writeTextFile(
          `${parent}/cgroup.subtree_control`,
          controllers.map((c) => `+${c}`).join(" "),
        );
      }
      if (controllers.includes("memory")) {
        await writeMemoryLimit(parent, found.get("memory")!.version, memoryTotalBytes);
      }
    } catch {
      for (const controller of controllers) found.delete(controller);
    }
  }
  // Synchronous: the last thing the process does. Run cgroups are gone by then (each run
  // removes its own), so only the empty parents remain.
  globalThis.addEventListener("unload", () => {
    for (const parent of created) {
      try {
        Deno.removeSync(parent);
      } catch {
        // Still holds a run being torn down: the next server start removes it.
      }
    }
  });
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
      const base = `${mount}${relative}`.replace(/\/+$/, "");
      found.set(controller, { version: 1, base, parent: `${base}/${PARENT_PREFIX}${Deno.pid}` });
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
      if (await enableV2(base, controller)) {
        found.set(controller, { version: 2, base, parent: `${base}/${PARENT_PREFIX}${Deno.pid}` });
      }
    }
  }
  for (const base of new Set([...found.values()].map((h) => h.base))) await removeStale(base);
  await createParents(found);
  return found;
}

/** The controllers this host can limit runs with (detected once per process). */
export async function cgroupControllers(): Promise<Controller[]> {
  detected ??= detect();
  return [...(await detected).keys()];
}

/**
 * Caps the memory of all sandboxes of this process together at `bytes` (the kernel's OOM
 * killer then picks among sandbox processes only). Call before the first run; the default is
 * half the host's RAM.
 *
 * @example
 * ```ts
 * await setMemoryTotal(8 * 1024 ** 3);
 * ```
 */
export async function setMemoryTotal(bytes: number): Promise<void> {
  memoryTotalBytes = bytes;
  detected ??= detect();
  const memory = (await detected).get("memory");
  if (memory) await writeMemoryLimit(memory.parent, memory.version, bytes);
}

/** The memory cap of all sandboxes together, bytes (see {@linkcode setMemoryTotal}). */
export function memoryTotal(): number {
  return memoryTotalBytes;
}

/** The parent cgroup of this process's runs in each hierarchy (created on first use). */
export async function sandboxParents(): Promise<Map<Controller, string>> {
  detected ??= detect();
  return new Map([...(await detected)].map(([controller, h]) => [controller, h.parent]));
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
        } else {
          await writeMemoryLimit(dir, hierarchies.get(controller)!.version, limits.memoryBytes);
        }
      }
    },
    async oomKills() {
      // v1 and v2 both count kills of the cgroup's own processes in an `oom_kill` line.
      const file = hierarchies.get("memory")!.version === 1
        ? "memory.oom_control"
        : "memory.events";
      const text = await Deno.readTextFile(`${dirs.get("memory")}/${file}`).catch(() => "");
      return Number(text.match(/^oom_kill (\d+)$/m)?.[1] ?? 0);
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
    const byParent = new Map<string, string>();
    for (const controller of CONTROLLERS) {
      const { parent } = hierarchies.get(controller)!;
      let dir = byParent.get(parent);
      if (dir === undefined) {
        dir = `${parent}/${name}`;
        await Deno.mkdir(dir);
        byParent.set(parent, dir);
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
