/**
 * The skeleton layer: a fixed read-only layer on top of every image's stack holding the
 * empty mountpoints bwrap needs (/proc, /dev), so creating them never lands in a run's diff.
 */
import { fileURLToPath } from "node:url";
import { exists } from "./_exists.ts";
import { rootlessHostRange } from "./rootless.ts";

const SKELETON = fileURLToPath(new URL("./bin/skeleton-1", import.meta.url));
const MOUNTPOINTS: [string, number][] = [["proc", 0o555], ["dev", 0o755]];

let made: Promise<string> | undefined;

/** Fills `dir` with the mountpoints, all owned by uid and gid 0 as this process sees them. */
async function fill(dir: string): Promise<void> {
  await Deno.chmod(dir, 0o755);
  for (const [name, mode] of MOUNTPOINTS) {
    await Deno.mkdir(`${dir}/${name}`);
    await Deno.chmod(`${dir}/${name}`, mode);
  }
  for (const path of [dir, ...MOUNTPOINTS.map(([name]) => `${dir}/${name}`)]) {
    await Deno.chown(path, 0, 0);
  }
}

/**
 * A server without root cannot use the shared skeleton (host root's, unmapped in its user
 * namespace: its sandboxes' root could not write to `/`): it makes one of its own, owned by
 * its namespace's root, for as long as it runs.
 */
async function makeOwn(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "contree-skeleton-" });
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  await fill(dir);
  return dir;
}

async function make(): Promise<string> {
  if (rootlessHostRange()) return await makeOwn();
  if (await exists(SKELETON)) return SKELETON;
  const parent = SKELETON.slice(0, SKELETON.lastIndexOf("/"));
  await Deno.mkdir(parent, { recursive: true });
  const temp = await Deno.makeTempDir({ dir: parent, prefix: ".skeleton-" });
  try {
    await fill(temp);
    await Deno.rename(temp, SKELETON);
  } catch (error) {
    await Deno.remove(temp, { recursive: true });
    // Another process may have made it first.
    if (!await exists(SKELETON)) throw error;
  }
  return SKELETON;
}

/** The host directory of the skeleton layer, made on first use. */
export function skeletonDir(): Promise<string> {
  made ??= make().catch((error) => {
    made = undefined;
    throw error;
  });
  return made;
}
