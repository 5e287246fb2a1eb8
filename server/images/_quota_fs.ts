/**
 * A size-capped filesystem for one run's overlay upper and work directories: a sparse file in
 * the workspace, formatted ext4 and loop-mounted. The kernel refuses writes past its size with
 * ENOSPC at any write speed (page-cache writes included: ext4 reserves blocks when a page is
 * dirtied), so the data directory grows by at most the file's size, whatever the run does; a
 * cheap `statfs` tells how much the run has written.
 *
 * Sizing for a cap of C bytes: C + {@linkcode DATA_SLACK} of data blocks, so that writing past
 * the cap is seen (and the run stopped) before ENOSPC; inodes at ext4's default ratio (one per
 * 16 KiB, at least 64 Ki), whose 256-byte slots are written only when used (the inode tables
 * stay holes: `lazy_itable_init` at mkfs, `noinit_itable` at mount). No journal: the
 * filesystem is scratch space, never reused after a crash. Mounted with `discard`, so files
 * moved out at commit give their blocks back to the data directory's filesystem at once.
 */
import { statfsSync } from "node:fs";

/** Data blocks beyond the cap: writing past the cap must be possible to be noticed. */
export const DATA_SLACK = 40 * 1024 * 1024;
const INODE_BYTES = 256;
const BYTES_PER_INODE = 16 * 1024;
const MIN_INODES = 64 * 1024;
const BLOCK = 4096;

/** A mounted capped filesystem. */
export interface QuotaFs {
  /** The mount point (holds the upper and work directories). */
  mount: string;
  /** Bytes written since it was created: blocks in use plus 256 bytes per inode in use. */
  usedBytes(): number;
}

async function run(command: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" })
    .output();
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-3);
    throw new Error(`${command} ${args[0]}: ${stderr.join("; ")}`);
  }
}

function usage(mount: string): { bytes: number; inodes: number } {
  const stats = statfsSync(mount);
  return { bytes: (stats.blocks - stats.bfree) * stats.bsize, inodes: stats.files - stats.ffree };
}

/** The image file's size and inode count for a cap of `capBytes`. */
function geometry(capBytes: number): { size: number; inodes: number } {
  const data = capBytes + DATA_SLACK;
  const inodes = Math.max(MIN_INODES, Math.ceil(data / BYTES_PER_INODE));
  // Inode tables, plus bitmaps and group descriptors (well under 1/1024 of the size).
  const metadata = inodes * INODE_BYTES + Math.ceil(data / 1024) + 1024 * 1024;
  return { size: Math.ceil((data + metadata) / BLOCK) * BLOCK, inodes };
}

/**
 * Why capped filesystems cannot be made here, or `null` when they can: they need root (to
 * mount), loop devices, ext4 and `mkfs.ext4`.
 */
export async function quotaFsProblem(): Promise<string | null> {
  if (Deno.uid() !== 0) return "mounting a capped filesystem needs root";
  const filesystems = await Deno.readTextFile("/proc/filesystems").catch(() => "");
  if (!/\text4$/m.test(filesystems)) return "the kernel has no ext4";
  try {
    await Deno.stat("/dev/loop-control");
  } catch {
    return "no loop devices (/dev/loop-control)";
  }
  for (const dir of ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
    try {
      await Deno.stat(`${dir}/mkfs.ext4`);
      return null;
    } catch {
      // Not in this directory.
    }
  }
  return "mkfs.ext4 is missing (apt-get install -y e2fsprogs)";
}

/**
 * Creates `${dir}/disk.img` for a cap of `capBytes`, formats it and mounts it on `${dir}/fs`.
 * On failure nothing is left mounted (the caller removes `dir`).
 */
export async function createQuotaFs(dir: string, capBytes: number): Promise<QuotaFs> {
  const image = `${dir}/disk.img`;
  const mount = `${dir}/fs`;
  const { size, inodes } = geometry(capBytes);
  const file = await Deno.open(image, { create: true, write: true, mode: 0o600 });
  try {
    await file.truncate(size);
  } finally {
    file.close();
  }
  await run("mkfs.ext4", [
    "-q",
    "-F",
    ...["-b", String(BLOCK), "-I", String(INODE_BYTES), "-N", String(inodes), "-m", "0"],
    ...["-O", "^has_journal,^resize_inode", "-E", "lazy_itable_init=1,nodiscard"],
    image,
  ]);
  await Deno.mkdir(mount);
  await run("mount", ["-t", "ext4", "-o", "loop,noinit_itable,discard", image, mount]);
  const base = usage(mount);
  return {
    mount,
    usedBytes() {
      const now = usage(mount);
      return now.bytes - base.bytes + (now.inodes - base.inodes) * INODE_BYTES;
    },
  };
}

/** Unmounts `${dir}/fs` if mounted (lazily when still busy); the caller removes `dir`. */
export async function unmountQuotaFs(dir: string): Promise<void> {
  const mount = `${dir}/fs`;
  if (!mountPoints().has(mount)) return;
  try {
    await run("umount", [mount]);
  } catch {
    await run("umount", ["-l", mount]);
  }
}

/** Every mount point of this mount namespace. */
export function mountPoints(): Set<string> {
  const text = Deno.readTextFileSync("/proc/self/mountinfo");
  // Octal escapes (\040 for a space) as the kernel writes them.
  return new Set(
    text.split("\n").filter(Boolean).map((line) =>
      line.split(" ")[4].replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)))
    ),
  );
}
