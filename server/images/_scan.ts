/** What a walk of a layer directory finds: its size and overlayfs' opaque directories. */
import { helperPath } from "../helper/mod.ts";
import { LayerError } from "./errors.ts";
import type { LayerMeta } from "./_layer_meta.ts";

/**
 * Scans `dir` with the helper (Deno cannot read `trusted.overlay.opaque` xattrs): the bytes
 * of its files and symlinks and its opaque directories (relative paths).
 */
export async function scanLayer(dir: string): Promise<LayerMeta> {
  const output = await new Deno.Command(await helperPath(), {
    args: ["scan", dir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new LayerError(`cannot scan ${dir}: ${new TextDecoder().decode(output.stderr).trim()}`);
  }
  const items = new TextDecoder().decode(output.stdout).split("\0");
  items.pop();
  const bytes = Number(items.pop());
  return { opaque: items, bytes };
}
