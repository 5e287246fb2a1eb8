/**
 * The merged view of a layer stack, computed the way overlayfs does but without a mount:
 * the topmost copy of a name wins, whiteouts (character devices 0/0) delete a name from
 * the layers below, opaque directories hide the lower layers' contents, a non-directory
 * ends a directory's stack. Paths resolve inside the image only: `..` stops at the root and
 * symlinks (absolute or relative, chained) are followed within the image, never on the host.
 */
import { NotADirectoryError, PathNotFoundError, SymlinkLoopError } from "./errors.ts";
import { readLayerMeta } from "./_layer_meta.ts";

/** Symlinks followed while resolving one path before giving up, as Linux does. */
const MAX_SYMLINKS = 40;

/** A directory of the merged view as it exists in one layer. */
export interface DirPart {
  /** Index into the stack, top first. */
  layer: number;
  /** Host path of the directory in that layer. */
  host: string;
}

/** An entry of the merged view. */
export interface Node {
  /** Image path, `/` for the root. */
  path: string;
  /** Host path of the visible (topmost) copy. */
  host: string;
  /** `lstat` of the visible copy. */
  info: Deno.FileInfo;
  /** For a directory, its copies top first, down to the first opaque one; else empty. */
  parts: DirPart[];
}

function isWhiteout(info: Deno.FileInfo): boolean {
  return info.isCharDevice === true && info.rdev === 0;
}

async function lstatOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return null;
    }
    throw error;
  }
}

function joinPath(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

/**
 * A read-only merged view of layer directories (given lowest first): the engine behind
 * `ImageView`, `LayerStore.flatten` and the placing of a run's files.
 *
 * @example
 * ```ts
 * const view = new LayeredView([store.path(base), store.path(top)]);
 * const etc = await view.resolve("/etc", true);
 * for (const entry of await view.children(etc)) console.log(entry.path, entry.host);
 * ```
 */
export class LayeredView {
  readonly #dirs: string[];
  #opaque?: Promise<Set<string>[]>;

  /** Views `layers`, host directories given lowest first. */
  constructor(layers: string[]) {
    if (layers.length === 0) throw new TypeError("an image needs at least one layer");
    this.#dirs = [...layers].reverse();
  }

  /** Opaque directories per layer (top first), as image paths without the leading slash. */
  #opaqueSets(): Promise<Set<string>[]> {
    this.#opaque ??= Promise.all(
      this.#dirs.map(async (dir) => new Set((await readLayerMeta(dir))?.opaque ?? [])),
    );
    return this.#opaque;
  }

  /** The root directory. */
  async root(): Promise<Node> {
    return {
      path: "/",
      host: this.#dirs[0],
      info: await Deno.lstat(this.#dirs[0]),
      parts: this.#dirs.map((host, layer) => ({ layer, host })),
    };
  }

  /** The entry `name` of directory `dir`, or `null` when there is none. */
  async child(dir: Node, name: string): Promise<Node | null> {
    const path = joinPath(dir.path, name);
    const opaque = await this.#opaqueSets();
    let top: { host: string; info: Deno.FileInfo } | null = null;
    const parts: DirPart[] = [];
    for (const part of dir.parts) {
      const host = `${part.host}/${name}`;
      const info = await lstatOrNull(host);
      if (info === null) continue;
      if (isWhiteout(info)) break;
      top ??= { host, info };
      if (!info.isDirectory || !top.info.isDirectory) break;
      parts.push({ layer: part.layer, host });
      if (opaque[part.layer].has(path.slice(1))) break;
    }
    return top && { path, host: top.host, info: top.info, parts };
  }

  /** The entries of directory `dir`, sorted by name. */
  async children(dir: Node): Promise<Node[]> {
    const opaque = await this.#opaqueSets();
    const listings = await Promise.all(
      dir.parts.map((part) => Array.fromAsync(Deno.readDir(part.host))),
    );
    // Every copy of every name, top first.
    const copies = new Map<string, { part: DirPart; entry: Deno.DirEntry }[]>();
    listings.forEach((entries, i) => {
      for (const entry of entries) {
        const list = copies.get(entry.name);
        if (list) list.push({ part: dir.parts[i], entry });
        else copies.set(entry.name, [{ part: dir.parts[i], entry }]);
      }
    });
    const names = [...copies.keys()].sort();
    const nodes = await Promise.all(names.map(async (name): Promise<Node | null> => {
      const path = joinPath(dir.path, name);
      let top: { host: string; info: Deno.FileInfo } | null = null;
      const parts: DirPart[] = [];
      for (const { part, entry } of copies.get(name)!) {
        const host = `${part.host}/${name}`;
        const special = !entry.isFile && !entry.isDirectory && !entry.isSymlink;
        if (special && isWhiteout(await Deno.lstat(host))) break;
        if (top === null) top = { host, info: await Deno.lstat(host) };
        if (!entry.isDirectory || !top.info.isDirectory) break;
        parts.push({ layer: part.layer, host });
        if (opaque[part.layer].has(path.slice(1))) break;
      }
      return top && { path, host: top.host, info: top.info, parts };
    }));
    return nodes.filter((node) => node !== null);
  }

  /**
   * Resolves `path` inside the image. Symlinks in the middle of the path are always
   * followed, the last one only when `followLast` (or the path ends with `/`).
   * Throws {@linkcode PathNotFoundError}, {@linkcode NotADirectoryError} or
   * {@linkcode SymlinkLoopError}.
   */
  async resolve(path: string, followLast: boolean): Promise<Node> {
    if (path.includes("\0")) throw new PathNotFoundError(path);
    const chain = [await this.root()];
    const pending = path.split("/");
    let links = 0;
    while (pending.length > 0) {
      const name = pending.shift()!;
      if (name === "" || name === ".") continue;
      if (name === "..") {
        if (chain.length > 1) chain.pop();
        continue;
      }
      const dir = chain[chain.length - 1];
      if (!dir.info.isDirectory) throw new NotADirectoryError(path);
      const node = await this.child(dir, name);
      if (node === null) throw new PathNotFoundError(path);
      if (node.info.isSymlink && (followLast || pending.length > 0)) {
        if (++links > MAX_SYMLINKS) throw new SymlinkLoopError(path);
        const target = await Deno.readLink(node.host);
        if (target === "") throw new PathNotFoundError(path);
        if (target.startsWith("/")) chain.length = 1;
        pending.unshift(...target.split("/"));
        continue;
      }
      chain.push(node);
    }
    return chain[chain.length - 1];
  }
}
