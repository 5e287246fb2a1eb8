/**
 * What changed between two images: {@linkcode diffImages}, behind
 * `image.diff(other)`. Reads both trees with the inspect API (no sandbox) and
 * compares regular files of equal size byte by byte, so a change that keeps
 * size and mtime is still found. Web APIs only.
 *
 * @module
 */
import type { FileItem } from "../wire/types.ts";
import type { ContreeImage } from "./image.ts";

/**
 * The kind of a filesystem entry.
 *
 * @example
 * ```ts
 * import type { EntryType } from "@contree/sdk";
 *
 * const isTree = (type: EntryType) => type === "directory";
 * ```
 */
export type EntryType = "file" | "directory" | "symlink" | "other";

/**
 * One path that differs between two images.
 *
 * @example
 * ```ts
 * import type { ImageDiffEntry } from "@contree/sdk";
 *
 * const line = (entry: ImageDiffEntry) => `${entry.status[0].toUpperCase()} ${entry.path}`;
 * ```
 */
export interface ImageDiffEntry {
  /** The absolute path in the images. */
  path: string;
  /** `added` (only in the other image), `removed` (only in this one) or `modified`. */
  status: "added" | "removed" | "modified";
  /** The entry's kind (in the other image, unless removed). */
  type: EntryType;
  /** The bytes differ (a file), the target differs (a symlink), or the kind changed. */
  content: boolean;
  /** The permission bits changed (`0o7777` of `st_mode`). */
  mode?: { before: number; after: number };
  /** The owner changed. */
  owner?: { before: { uid: number; gid: number }; after: { uid: number; gid: number } };
  /** The entry in this image (absent when added). */
  before?: FileItem;
  /** The entry in the other image (absent when removed). */
  after?: FileItem;
}

/**
 * Options of {@linkcode diffImages} and `image.diff()`.
 *
 * @example
 * ```ts
 * import type { DiffOptions } from "@contree/sdk";
 *
 * const options: DiffOptions = { path: "/etc", concurrency: 4 };
 * ```
 */
export interface DiffOptions {
  /** Compare only this directory (or file); default `/`. */
  path?: string;
  /** Requests at a time; default 8. */
  concurrency?: number;
  /** Aborts the comparison. */
  signal?: AbortSignal;
}

/** An image's entries under a path: relative path → item. */
type Tree = Map<string, FileItem>;

function typeOf(item: FileItem): EntryType {
  if (item.is_dir) return "directory";
  if (item.is_symlink) return "symlink";
  if (item.is_regular) return "file";
  return "other";
}

function join(base: string, name: string): string {
  return base === "/" ? `/${name}` : `${base}/${name}`;
}

/** Runs `tasks` with at most `limit` at a time, in order of start. */
async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Lists the whole tree below `root` (breadth first, `concurrency` directories at a time). */
async function walk(
  image: ContreeImage<unknown, unknown>,
  root: string,
  options: DiffOptions,
): Promise<Tree> {
  const tree: Tree = new Map();
  let level = [root];
  while (level.length > 0) {
    const found: string[] = [];
    await pool(level, options.concurrency ?? 8, async (dir) => {
      for (const item of await listDir(image, dir, options.signal)) {
        const path = join(dir, item.path);
        tree.set(path, item);
        if (item.is_dir && !item.is_symlink) found.push(path);
      }
    });
    level = found;
  }
  return tree;
}

async function listDir(image: ContreeImage<unknown, unknown>, dir: string, signal?: AbortSignal) {
  const uuid = (await image.resolve({ signal })).uuid!;
  const api = image.contree.api;
  const list = await api.listDirectory(uuid, dir, image.contree.requestOptions(signal));
  // The inspect API names entries relative to the listed directory; skip `.` and `..`.
  return list.files.filter((item) => item.path !== "." && item.path !== ".." && item.path !== "");
}

/** Whether two streams carry the same bytes; stops reading at the first difference. */
async function sameBytes(
  a: ReadableStream<Uint8Array>,
  b: ReadableStream<Uint8Array>,
): Promise<boolean> {
  const left = a.getReader();
  const right = b.getReader();
  let x: Uint8Array = new Uint8Array();
  let y: Uint8Array = new Uint8Array();
  let leftDone = false;
  let rightDone = false;
  try {
    for (;;) {
      if (x.length === 0 && !leftDone) {
        const next = await left.read();
        if (next.done) leftDone = true;
        else x = next.value;
        continue;
      }
      if (y.length === 0 && !rightDone) {
        const next = await right.read();
        if (next.done) rightDone = true;
        else y = next.value;
        continue;
      }
      // Here an empty side is finished: equal only when both are.
      if (x.length === 0 || y.length === 0) return x.length === 0 && y.length === 0;
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) if (x[i] !== y[i]) return false;
      x = x.subarray(n);
      y = y.subarray(n);
    }
  } finally {
    await left.cancel().catch(() => {});
    await right.cancel().catch(() => {});
  }
}

/**
 * What changed from `before` to `after` under `path`: entries only in `after`
 * are `added`, only in `before` `removed`, in both with other content, kind,
 * permission bits or owner `modified`; sorted by path. Regular files of equal
 * size are compared by content (streamed, constant memory), whatever their
 * mtimes, so a changed file is never reported unchanged; mtime alone is not a
 * change. Throws the API's `NotFoundError` when `path` is missing from both.
 *
 * @example
 * ```ts
 * import { type Contree, diffImages } from "@contree/sdk";
 *
 * async function changes(contree: Contree) {
 *   const base = await contree.images.use("busybox:latest");
 *   const next = await base.run({ shell: "echo hi > /etc/motd", disposable: false });
 *   for (const entry of await diffImages(base, next, { path: "/etc" })) {
 *     console.log(entry.status, entry.path); // "added /etc/motd"
 *   }
 * }
 * ```
 */
export async function diffImages(
  before: ContreeImage<unknown, unknown>,
  after: ContreeImage<unknown, unknown>,
  options: DiffOptions = {},
): Promise<ImageDiffEntry[]> {
  const root = (options.path ?? "/").replace(/(.)\/+$/, "$1");
  const [a, b] = await Promise.all([
    before.resolve({ signal: options.signal }),
    after.resolve({ signal: options.signal }),
  ]);
  if (a.uuid === b.uuid) return [];
  const [left, right] = await Promise.all([
    walkOrEmpty(a, root, options),
    walkOrEmpty(b, root, options),
  ]);
  if (left === undefined && right === undefined) {
    // Neither image has it: let the API say so.
    await listDir(a, root, options.signal);
  }
  const l = left ?? new Map();
  const r = right ?? new Map();
  const entries: ImageDiffEntry[] = [];
  const compare: [ImageDiffEntry, FileItem, FileItem][] = [];
  for (const [path, item] of l) {
    if (!r.has(path)) {
      entries.push({ path, status: "removed", type: typeOf(item), content: true, before: item });
    }
  }
  for (const [path, after] of r) {
    const before = l.get(path);
    if (!before) {
      entries.push({ path, status: "added", type: typeOf(after), content: true, after });
      continue;
    }
    const entry: ImageDiffEntry = {
      path,
      status: "modified",
      type: typeOf(after),
      content: false,
      before,
      after,
    };
    if ((before.mode & 0o7777) !== (after.mode & 0o7777)) {
      entry.mode = { before: before.mode & 0o7777, after: after.mode & 0o7777 };
    }
    if (before.uid !== after.uid || before.gid !== after.gid) {
      entry.owner = {
        before: { uid: before.uid, gid: before.gid },
        after: { uid: after.uid, gid: after.gid },
      };
    }
    if (typeOf(before) !== typeOf(after)) entry.content = true;
    else if (after.is_symlink) entry.content = before.symlink_to !== after.symlink_to;
    else if (after.is_regular) {
      if (before.size !== after.size) entry.content = true;
      else if (after.size > 0) compare.push([entry, before, after]);
    }
    if (entry.content || entry.mode || entry.owner || compare.at(-1)?.[0] === entry) {
      entries.push(entry);
    }
  }
  await pool(compare, options.concurrency ?? 8, async ([entry]) => {
    const [x, y] = await Promise.all([
      a.open(entry.path, { signal: options.signal }),
      b.open(entry.path, { signal: options.signal }),
    ]);
    entry.content = !(await sameBytes(x, y));
  });
  return entries
    .filter((entry) => entry.status !== "modified" || entry.content || entry.mode || entry.owner)
    .sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

/** The tree below `root`, a one-entry tree for a file, or `undefined` when missing. */
async function walkOrEmpty(
  image: ContreeImage<unknown, unknown>,
  root: string,
  options: DiffOptions,
): Promise<Tree | undefined> {
  try {
    return await walk(image, root, options);
  } catch (error) {
    if ((error as { status?: number }).status !== 404) throw error;
  }
  // Not a directory: maybe a file, listed from its parent.
  const slash = root.lastIndexOf("/");
  const parent = slash <= 0 ? "/" : root.slice(0, slash);
  try {
    const item = (await listDir(image, parent, options.signal)).find((i) =>
      join(parent, i.path) === root
    );
    return item ? new Map([[root, item]]) : undefined;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return undefined;
    throw error;
  }
}
