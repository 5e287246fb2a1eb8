/**
 * Puts a run's injected files into its upper directory before start. Paths resolve inside
 * the image (symlinked parents are followed within it, never on the host); parent
 * directories that exist below are copied up with their mode, owner and mtime (overlayfs
 * shows the upper copy's attributes), missing ones are created as root 0755.
 */
import { posix } from "node:path";
import { LayeredView, type Node } from "../images/layered_view.ts";
import { PathNotFoundError, PathNotUsableError } from "../images/errors.ts";
import { SandboxError } from "./errors.ts";
import { exists } from "./_exists.ts";

/** A file injected into the sandbox before the command starts. */
export interface SandboxFile {
  /** Absolute path in the image. */
  path: string;
  /** Host path of the blob to copy in. */
  source: string;
  /** Permission bits, e.g. `0o644`. */
  mode: number;
  /** Owner of the placed file. */
  uid: number;
  /** Group of the placed file. */
  gid: number;
}

/** Makes sure the upper directory holds directory `dir` and its ancestors. */
async function copyUp(view: LayeredView, upperDir: string, dir: Node): Promise<void> {
  const names = dir.path.split("/").filter(Boolean);
  for (let i = 1; i <= names.length; i++) {
    const path = `/${names.slice(0, i).join("/")}`;
    if (await exists(`${upperDir}${path}`)) continue;
    const { info } = await view.resolve(path, false);
    await Deno.mkdir(`${upperDir}${path}`);
    await Deno.chown(`${upperDir}${path}`, info.uid, info.gid);
    await Deno.chmod(`${upperDir}${path}`, (info.mode ?? 0o755) & 0o7777);
    await Deno.utime(`${upperDir}${path}`, info.atime ?? new Date(), info.mtime ?? new Date());
  }
}

async function placeFile(layers: string[], upperDir: string, file: SandboxFile): Promise<void> {
  if (!file.path.startsWith("/")) {
    throw new SandboxError(`cannot place ${file.path}: the path must be absolute`);
  }
  const names = posix.normalize(file.path).split("/").filter(Boolean);
  const name = names.pop();
  if (name === undefined) throw new SandboxError(`cannot place ${file.path}: not a file path`);
  const view = new LayeredView([...layers, upperDir]);
  let dir = await view.root();
  for (const part of names) {
    let next = await view.child(dir, part);
    if (next === null) {
      await copyUp(view, upperDir, dir);
      const created = `${upperDir}${dir.path === "/" ? "" : dir.path}/${part}`;
      await Deno.mkdir(created);
      await Deno.chmod(created, 0o755);
      next = await view.resolve(created.slice(upperDir.length), false);
    } else if (next.info.isSymlink) {
      try {
        next = await view.resolve(next.path, true);
      } catch (error) {
        if (error instanceof PathNotFoundError || error instanceof PathNotUsableError) {
          throw new SandboxError(`cannot place ${file.path}: ${next.path} is a broken symlink`);
        }
        throw error;
      }
    }
    if (!next.info.isDirectory) {
      throw new SandboxError(`cannot place ${file.path}: ${next.path} is not a directory`);
    }
    dir = next;
  }
  dir = await view.resolve(dir.path, false);
  if ((await view.child(dir, name))?.info.isDirectory) {
    throw new SandboxError(`cannot place ${file.path}: it is a directory in the image`);
  }
  await copyUp(view, upperDir, dir);
  const target = `${upperDir}${dir.path === "/" ? "" : dir.path}/${name}`;
  await Deno.copyFile(file.source, target);
  await Deno.chown(target, file.uid, file.gid);
  await Deno.chmod(target, file.mode & 0o7777);
}

/** Places `files` into `upperDir`, above `layers` (host directories, lowest first). */
export async function placeFiles(
  layers: string[],
  upperDir: string,
  files: SandboxFile[],
): Promise<void> {
  for (const file of files) await placeFile(layers, upperDir, file);
}
