/** A tiny root filesystem built offline from the host's static busybox. */
import { lchown } from "node:fs/promises";

const BUSYBOX = "/bin/busybox";

const DIRS: [string, number][] = [
  ["bin", 0o755],
  ["sbin", 0o755],
  ["usr", 0o755],
  ["usr/bin", 0o755],
  ["usr/sbin", 0o755],
  ["etc", 0o755],
  ["dev", 0o755],
  ["proc", 0o555],
  ["sys", 0o555],
  ["run", 0o755],
  ["var", 0o755],
  ["var/tmp", 0o1777],
  ["tmp", 0o1777],
  ["root", 0o700],
  ["home", 0o755],
  ["home/user", 0o755],
];

const FILES: [string, string, number][] = [
  [
    "etc/passwd",
    "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n" +
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    0o644,
  ],
  ["etc/group", "root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n", 0o644],
  [
    "etc/shadow",
    "root:*:19000:0:99999:7:::\nuser:*:19000:0:99999:7:::\nnobody:*:19000::::::\n",
    0o640,
  ],
  ["etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", 0o644],
  ["etc/hostname", "linuxkit\n", 0o644],
  ["etc/resolv.conf", "", 0o644],
  ["etc/os-release", 'NAME="BusyBox"\nID=busybox\nPRETTY_NAME="BusyBox (contree local)"\n', 0o644],
];

/**
 * Builds a minimal root filesystem in `dir` (which must exist and be empty) from the host's
 * `/bin/busybox` (Debian `busybox-static`): the binary, a symlink per applet,
 * `/etc/{passwd,group,shadow,hosts,hostname,resolv.conf,os-release}` (users root, user 1000,
 * nobody), and `/tmp`, `/root`, `/home/user`, `/proc`, `/dev`, ... No network needed.
 *
 * @example
 * ```ts
 * const dir = await Deno.makeTempDir();
 * await busyboxRootfs(dir);
 * const base = await store.importRootfs(dir);
 * ```
 */
export async function busyboxRootfs(dir: string): Promise<void> {
  const list = await new Deno.Command(BUSYBOX, { args: ["--list-full"], stdout: "piped" })
    .output();
  if (!list.success) throw new Error(`${BUSYBOX} --list-full failed`);
  await Deno.chmod(dir, 0o755);
  for (const [path, mode] of DIRS) {
    await Deno.mkdir(`${dir}/${path}`);
    await Deno.chmod(`${dir}/${path}`, mode);
  }
  await Deno.copyFile(BUSYBOX, `${dir}/bin/busybox`);
  await Deno.chmod(`${dir}/bin/busybox`, 0o755);
  for (const applet of new TextDecoder().decode(list.stdout).split("\n")) {
    if (!applet.includes("/") || applet === "bin/busybox") continue;
    await Deno.symlink("/bin/busybox", `${dir}/${applet}`);
  }
  for (const [path, text, mode] of FILES) {
    await Deno.writeTextFile(`${dir}/${path}`, text);
    await Deno.chmod(`${dir}/${path}`, mode);
  }
  // Root's files whoever builds them (a server without root runs as a user id of its own).
  await chownTree(dir, 0, 0);
  await Deno.chown(`${dir}/home/user`, 1000, 1000);
}

async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  await lchown(path, uid, gid);
  if (!(await Deno.lstat(path)).isDirectory) return;
  for await (const entry of Deno.readDir(path)) await chownTree(`${path}/${entry.name}`, uid, gid);
}
