/**
 * The skeleton layer: a fixed read-only layer on top of every image's stack holding the
 * empty mountpoints bwrap needs (/proc, /dev), so creating them never lands in a run's diff.
 */
import { fileURLToPath } from "node:url";
import { exists } from "./_exists.ts";

const SKELETON = fileURLToPath(new URL("./bin/skeleton-1", import.meta.url));
const MOUNTPOINTS: [string, number][] = [["proc", 0o555], ["dev", 0o755]];

let made: Promise<string> | undefined;

async function make(): Promise<string> {
  if (await exists(SKELETON)) return SKELETON;
  const parent = SKELETON.slice(0, SKELETON.lastIndexOf("/"));
  await Deno.mkdir(parent, { recursive: true });
  const temp = await Deno.makeTempDir({ dir: parent, prefix: ".skeleton-" });
  try {
    await Deno.chmod(temp, 0o755);
    for (const [name, mode] of MOUNTPOINTS) {
      await Deno.mkdir(`${temp}/${name}`);
      await Deno.chmod(`${temp}/${name}`, mode);
    }
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
