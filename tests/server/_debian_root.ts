// A real Debian bookworm root for sandbox tests: `debootstrap --variant=minbase`, built once
// by scripts/debian_root.sh (run by scripts/setup.sh) into .cache/ and reused.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  type Backend,
  giveToServerUser,
  SERVER_USER,
  serverCommand,
  startBackend,
} from "./_backend.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SCRIPT = `${ROOT}scripts/debian_root.sh`;

/** The tag the Debian root gets in {@linkcode startDebianBackend}'s data directory. */
export const DEBIAN_IMAGE = "tag:debian:bookworm";

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

/**
 * A backend over a fresh data directory holding the Debian root as {@linkcode DEBIAN_IMAGE},
 * imported with `import-rootfs` (as SERVER_USER, from the tarball, when set); `dispose` also
 * removes the data directory.
 */
export async function startDebianBackend(): Promise<Backend> {
  const dataDir = await Deno.makeTempDir({ prefix: "contree-debian-" });
  giveToServerUser(dataDir);
  // A server without root cannot see the owners of host root's files: it imports a tarball.
  const source = SERVER_USER ? await debianRootTarball() : await debianRoot();
  const command = serverCommand(
    ["import-rootfs", source, "--tag", DEBIAN_IMAGE.slice("tag:".length), "--data-dir", dataDir],
  );
  const imported = await new Deno.Command(command.command, {
    args: command.args,
    env: command.env,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(imported.success, new TextDecoder().decode(imported.stderr));
  const backend = await startBackend({ dataDir });
  const dispose = backend.dispose.bind(backend);
  backend.dispose = async () => {
    await dispose();
    await Deno.remove(dataDir, { recursive: true });
  };
  return backend;
}
