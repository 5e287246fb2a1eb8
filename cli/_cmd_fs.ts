// Commands on the session image's files without a sandbox (ls, cat, cp) and on the
// session's own state (cd, env, file cp).
import { stat } from "node:fs/promises";
import { basename, join, normalize } from "pathe";
import type { FileItem } from "../mod.ts";
import type { Context } from "./_context.ts";
import { downloadResumable } from "./_download.ts";
import { expandMappings, uploadFiles } from "./_files.ts";
import { formatBytes } from "./_progress.ts";
import { parseEnv } from "./_run.ts";
import { UsageError } from "./_session.ts";
import { writeOut } from "./_term.ts";

/** An image path: absolute as given, else under the session's working directory. */
export async function imagePath(ctx: Context, path: string | undefined): Promise<string> {
  const cwd = (await ctx.session()).state.cwd || "/";
  if (!path) return cwd;
  return normalize(path.startsWith("/") ? path : join(cwd, path));
}

function modeString(item: FileItem): string {
  const type = item.is_dir
    ? "d"
    : item.is_symlink
    ? "l"
    : item.is_fifo
    ? "p"
    : item.is_socket
    ? "s"
    : "-";
  const bits = "rwxrwxrwx".split("").map((ch, i) => (item.mode & (1 << (8 - i)) ? ch : "-")).join(
    "",
  );
  return type + bits;
}

/** `contree ls [PATH]`. */
export async function ls(ctx: Context, path: string | undefined): Promise<number> {
  const contree = await ctx.contree();
  const image = await ctx.sessionImage();
  const dir = await imagePath(ctx, path);
  const list = await contree.api.listDirectory(image, dir);
  const items = [...list.files].sort((a, b) => (a.path < b.path ? -1 : 1));
  for (const item of items) {
    if (ctx.structured) await ctx.printer.row({ ...item });
    else {
      const name = item.is_dir
        ? ctx.c.blue(`${item.path}/`)
        : item.is_symlink
        ? `${ctx.c.cyan(item.path)} -> ${item.symlink_to}`
        : item.mode & 0o111
        ? ctx.c.green(item.path)
        : item.path;
      await ctx.printer.row({
        mode: modeString(item),
        owner: item.owner,
        group: item.group,
        size: item.size,
        mtime: new Date(item.mtime * 1000).toISOString().replace("T", " ").slice(0, 19),
        name,
      });
    }
  }
  await ctx.printer.flush();
  return 0;
}

const LARGE = 8 << 20;

/** `contree cat PATH`: streamed; a progress bar for large files on a terminal. */
export async function cat(ctx: Context, path: string): Promise<number> {
  const contree = await ctx.contree();
  const image = await ctx.sessionImage();
  const file = await imagePath(ctx, path);
  const { body, size } = await contree.api.downloadStream(image, file);
  const bar = size !== undefined && size >= LARGE ? ctx.bar(`cat ${basename(file)}`) : undefined;
  let bytes = 0;
  try {
    for await (const chunk of body) {
      bar?.clear();
      await writeOut(chunk);
      bytes += chunk.length;
      bar?.update({ bytes, total: size });
    }
  } finally {
    bar?.stop();
  }
  return 0;
}

/** `contree cp PATH [DEST]`. */
export async function cp(ctx: Context, path: string, dest: string | undefined): Promise<number> {
  const image = await ctx.sessionImage();
  const file = await imagePath(ctx, path);
  let target = dest ?? basename(file);
  try {
    if ((await stat(target)).isDirectory()) target = join(target, basename(file));
  } catch { /* a new file */ }
  const bytes = await downloadResumable(ctx, image, file, target);
  await ctx.printer.row({ source: file, dest: target, size: bytes });
  if (ctx.structured) await ctx.printer.flush();
  else ctx.info(`${file} -> ${target} (${formatBytes(bytes)})`);
  return 0;
}

/** `contree file cp SRC DEST`: uploads now, sends with the next run. */
export async function fileCp(ctx: Context, source: string, dest: string): Promise<number> {
  const contree = await ctx.contree();
  const session = await ctx.session();
  const target = await imagePath(ctx, dest);
  const mapped = await expandMappings([`${source}:${target}`], [], session.state.cwd);
  const uploaded = await uploadFiles(ctx, contree, mapped);
  for (const file of mapped) {
    const { uuid } = uploaded[file.dest];
    session.state.pending[file.dest] = { ...uploaded[file.dest], source: file.host };
    await ctx.printer.row({
      source: file.host,
      dest: file.dest,
      uuid,
      size: file.size,
      mode: file.mode.toString(8),
    });
  }
  await session.save();
  await ctx.printer.flush();
  return 0;
}

/** `contree cd [PATH]`: prints or sets the working directory of later runs. */
export async function cd(ctx: Context, path: string | undefined): Promise<number> {
  const session = await ctx.session();
  if (path === undefined) {
    await ctx.printer.row({ cwd: session.state.cwd || "/" });
    if (ctx.structured) await ctx.printer.flush();
    else await writeOut(`${session.state.cwd || "/"}\n`);
    return 0;
  }
  const target = await imagePath(ctx, path);
  const contree = await ctx.contree();
  try {
    await contree.api.listDirectory(await ctx.sessionImage(), target);
  } catch (error) {
    if ((error as { status?: number }).status === 404) {
      throw new UsageError(`cd: ${target}: no such directory in the image`);
    }
    throw error;
  }
  session.state.cwd = target;
  await session.save();
  if (ctx.structured) {
    await ctx.printer.row({ cwd: target });
    await ctx.printer.flush();
  }
  return 0;
}

/** `contree env [KEY=VALUE...] [-U KEY...]`. */
export async function env(ctx: Context, items: string[], unset: string[]): Promise<number> {
  const session = await ctx.session();
  if (items.length === 0 && unset.length === 0) {
    for (const [key, value] of Object.entries(session.state.env).sort()) {
      if (ctx.structured) await ctx.printer.row({ key, value });
      else await writeOut(`${key}=${value}\n`);
    }
    await ctx.printer.flush();
    return 0;
  }
  Object.assign(session.state.env, parseEnv(items));
  for (const key of unset) delete session.state.env[key];
  await session.save();
  return 0;
}
