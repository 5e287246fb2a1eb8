// What the host sees of a sandbox's processes: the tree below a pid, and their ids.

/** Host pids below `pid` (not itself). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...children.get(ppid) ?? [], Number(entry.name)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = children.get(queue.shift()!) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

/** `[uids, gids]` (real, effective, saved, filesystem) of host process `pid`. */
export function hostIds(pid: number): [number[], number[]] {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const ids = (key: string) =>
    new RegExp(`^${key}:\\s+(.*)$`, "m").exec(status)![1].trim().split(/\s+/).map(Number);
  return [ids("Uid"), ids("Gid")];
}
