// A real Debian bookworm root for sandbox tests: `debootstrap --variant=minbase`, built once
// by scripts/debian_root.sh (run by scripts/setup.sh) into .cache/ and reused.
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("../../scripts/debian_root.sh", import.meta.url));

let built: Promise<string> | undefined;
let packed: Promise<string> | undefined;

/** The cached Debian root's directory (built first when missing: about 30 s, needs root). */
export function debianRoot(): Promise<string> {
  built ??= (async () => {
    const out = await new Deno.Command("bash", { args: [SCRIPT], stderr: "inherit" }).output();
    if (!out.success) throw new Error(`scripts/debian_root.sh failed (${out.code})`);
    return new TextDecoder().decode(out.stdout).trim();
  })();
  return built;
}

/**
 * The cached Debian root as a tarball (numeric owners; without /dev, whose device nodes a
 * server without root could not make): what a server without root imports, as it cannot see
 * the owners of host root's files.
 */
export function debianRootTarball(): Promise<string> {
  packed ??= (async () => {
    const dir = await debianRoot();
    const tarball = `${dir}.tar`;
    try {
      await Deno.stat(tarball);
      return tarball;
    } catch {
      // Not packed yet.
    }
    const temp = `${tarball}.${Deno.pid}`;
    const tar = await new Deno.Command("tar", {
      args: ["-C", dir, "--numeric-owner", "--exclude=./dev/*", "-cf", temp, "."],
      stderr: "inherit",
    }).output();
    if (!tar.success) throw new Error(`packing ${dir} failed`);
    await Deno.rename(temp, tarball);
    return tarball;
  })();
  return packed;
}
