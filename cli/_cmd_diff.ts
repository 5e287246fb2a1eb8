// `contree diff A B [PATH]`: what changed between two images, with unified diffs of text
// files and sizes of binary ones.
import { createTwoFilesPatch } from "diff";
import type { ImageDiffEntry } from "../mod.ts";
import type { Context } from "./_context.ts";
import { formatBytes } from "./_progress.ts";
import { resolveImage } from "./_run.ts";
import { writeOut } from "./_term.ts";

/** Text diffs are shown for files up to this size. */
const TEXT_LIMIT = 1 << 20;

function isText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}

function entryRow(entry: ImageDiffEntry): Record<string, unknown> {
  return {
    path: entry.path,
    status: entry.status,
    type: entry.type,
    content: entry.content,
    mode_before: entry.mode
      ? octal(entry.mode.before)
      : entry.before
      ? octal(entry.before.mode & 0o7777)
      : null,
    mode_after: entry.mode
      ? octal(entry.mode.after)
      : entry.after
      ? octal(entry.after.mode & 0o7777)
      : null,
    owner_before: entry.before ? `${entry.before.uid}:${entry.before.gid}` : null,
    owner_after: entry.after ? `${entry.after.uid}:${entry.after.gid}` : null,
    size_before: entry.before?.size ?? null,
    size_after: entry.after?.size ?? null,
  };
}

/** Options of `diff`. */
export interface DiffCommandOptions {
  nameOnly?: boolean;
  exitCode?: boolean;
}

/** `contree diff A B [PATH]`. */
export async function diff(
  ctx: Context,
  a: string,
  b: string,
  path: string | undefined,
  options: DiffCommandOptions,
): Promise<number> {
  const contree = await ctx.contree();
  const [left, right] = await Promise.all([
    resolveImage(contree, a).then((uuid) => contree.images.get(uuid)),
    resolveImage(contree, b).then((uuid) => contree.images.get(uuid)),
  ]);
  const entries = await left.diff(right, { path: path ?? "/" });
  const c = ctx.c;
  for (const entry of entries) {
    if (ctx.structured) {
      await ctx.printer.row(entryRow(entry));
      continue;
    }
    const letter = entry.status === "added"
      ? c.green("A")
      : entry.status === "removed"
      ? c.red("D")
      : c.yellow("M");
    const notes: string[] = [];
    if (entry.status === "modified" && entry.content) notes.push("content");
    if (entry.mode) notes.push(`mode ${octal(entry.mode.before)} -> ${octal(entry.mode.after)}`);
    if (entry.owner) {
      const { before, after } = entry.owner;
      notes.push(`owner ${before.uid}:${before.gid} -> ${after.uid}:${after.gid}`);
    }
    if (entry.status !== "modified") notes.push(entry.type);
    const suffix = entry.type === "directory" ? "/" : "";
    await writeOut(
      `${letter} ${entry.path}${suffix}${notes.length ? c.dim(`  (${notes.join(", ")})`) : ""}\n`,
    );
    if (options.nameOnly || !entry.content || entry.type !== "file") continue;
    const before = entry.before?.is_regular ? entry.before.size : 0;
    const after = entry.after?.is_regular ? entry.after.size : 0;
    if (before > TEXT_LIMIT || after > TEXT_LIMIT) {
      await writeOut(`Binary files differ (${formatBytes(before)} -> ${formatBytes(after)})\n`);
      continue;
    }
    const [x, y] = await Promise.all([
      entry.before?.is_regular ? left.read(entry.path) : new Uint8Array(),
      entry.after?.is_regular ? right.read(entry.path) : new Uint8Array(),
    ]);
    if (!isText(x) || !isText(y)) {
      await writeOut(
        `Binary files differ (${formatBytes(x.length)} -> ${formatBytes(y.length)})\n`,
      );
      continue;
    }
    const patch = createTwoFilesPatch(
      entry.before ? `a${entry.path}` : "/dev/null",
      entry.after ? `b${entry.path}` : "/dev/null",
      new TextDecoder().decode(x),
      new TextDecoder().decode(y),
    ).split("\n").slice(1).filter((line, i, all) => !(i === all.length - 1 && line === ""));
    const colored = patch.map((line) =>
      line.startsWith("+++") || line.startsWith("---")
        ? c.bold(line)
        : line.startsWith("+")
        ? c.green(line)
        : line.startsWith("-")
        ? c.red(line)
        : line.startsWith("@@")
        ? c.cyan(line)
        : line
    );
    await writeOut(colored.map((line) => `${line}\n`).join(""));
  }
  await ctx.printer.flush();
  return options.exitCode && entries.length > 0 ? 1 : 0;
}
