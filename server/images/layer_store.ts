/**
 * Immutable copy-on-write image layers on disk. An image is a stack of layers; a run's
 * changes (an overlayfs upper directory) become one more layer, so a run costs what it
 * changes. Every step is a temp directory plus a rename, so a crash at any moment leaves
 * committed layers intact and only temp files, which {@linkcode LayerStore.init} removes.
 *
 * Layout under the data directory:
 * - `layers/<id>/` a layer (never modified once there) and `layers/<id>.json` its sidecar;
 *   ids are 12 characters, so overlay's one-page `lowerdir` option holds 100+ layers;
 * - `work/<id>/{u,w}` a workspace (overlay upper and work directories) of a run, or, for a
 *   run with a disk cap, `work/<id>/disk.img` mounted on `work/<id>/fs` holding `{u,w}`;
 * - `tmp/` layers being built or removed.
 */
import { lchown, lutimes } from "node:fs/promises";
import { LayerError } from "./errors.ts";
import { LayeredView, type Node } from "./layered_view.ts";
import { type LayerMeta, metaPath, readLayerMeta } from "./_layer_meta.ts";
import { scanLayer } from "./_scan.ts";
import { createQuotaFs, mountPoints, unmountQuotaFs } from "./_quota_fs.ts";

export { quotaFsProblem } from "./_quota_fs.ts";

/** A run's workspace: overlayfs' upper and work directories. */
export interface Workspace {
  /** Workspace id, for {@linkcode LayerStore.commit} and {@linkcode LayerStore.discard}. */
  id: string;
  /** The overlay upper directory: the run's changes. */
  upperDir: string;
  /** overlayfs' scratch directory. */
  workDir: string;
}

/** A workspace on a filesystem of its own, of bounded size. */
export interface CappedWorkspace extends Workspace {
  /** Bytes the run has written so far (data, directories and inodes). */
  usedBytes(): number;
}

export { busyboxRootfs } from "./busybox.ts";

const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
const ID_PATTERN = /^[a-z2-7]{12}$/;
/** Caps for which a capped workspace is kept ready. */
const WARM_CAPS = 2;
/** Directory entries linked or copied at once while flattening. */
const PARALLEL = 64;

function newId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => ID_ALPHABET[b & 31])
    .join("");
}

function checkId(id: string, what: string): string {
  if (!ID_PATTERN.test(id)) throw new LayerError(`malformed ${what} id: ${JSON.stringify(id)}`);
  return id;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function removeIfExists(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

async function run(command: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" })
    .output();
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-5);
    throw new LayerError(`${command} failed: ${stderr.join("; ")}`);
  }
}

async function setAttributes(path: string, info: Deno.FileInfo): Promise<void> {
  await Deno.chown(path, info.uid, info.gid);
  await Deno.chmod(path, (info.mode ?? 0o755) & 0o7777);
  await Deno.utime(path, info.atime ?? new Date(), info.mtime ?? new Date());
}

/**
 * The layers of every image, under `<dataDir>/layers`.
 *
 * @example
 * ```ts
 * const store = new LayerStore("/var/lib/contree");
 * await store.init();
 * const rootfs = await Deno.makeTempDir();
 * await busyboxRootfs(rootfs);
 * const base = await store.importRootfs(rootfs);
 * const ws = store.createWorkspace();
 * // ... runSandbox({ layers: [store.path(base)], upperDir: ws.upperDir, workDir: ws.workDir, ... })
 * const top = await store.commit(ws.id); // null when the run changed nothing
 * ```
 */
export class LayerStore {
  /**
   * Most layers an image should have: the API flattens a longer chain. Well under
   * overlayfs' limit of 500 lower layers and its one-page `lowerdir` option.
   */
  maxDepth = 100;
  readonly #layers: string;
  readonly #work: string;
  readonly #tmp: string;
  /** Capped workspaces made ahead, by cap (null: making it failed). */
  readonly #warmCapped = new Map<number, Promise<CappedWorkspace | null>>();
  #closed = false;

  /** A store under `dataDir`; call {@linkcode init} before use. */
  constructor(dataDir: string) {
    const root = dataDir.replace(/\/+$/, "");
    this.#layers = `${root}/layers`;
    this.#work = `${root}/work`;
    this.#tmp = `${root}/tmp`;
  }

  /**
   * Creates the directories and removes what a crash left behind: workspaces, layers being
   * built or removed, sidecars of layers that never got published.
   */
  async init(): Promise<void> {
    for (const dir of [this.#layers, this.#work, this.#tmp]) {
      await Deno.mkdir(dir, { recursive: true });
    }
    for (const mount of mountPoints()) {
      const workspace = mount.match(new RegExp(`^(${this.#work}/[^/]+)/fs$`));
      if (workspace) await unmountQuotaFs(workspace[1]);
    }
    for (const dir of [this.#work, this.#tmp]) {
      for await (const entry of Deno.readDir(dir)) await removeIfExists(`${dir}/${entry.name}`);
    }
    for await (const entry of Deno.readDir(this.#layers)) {
      if (!entry.name.endsWith(".json")) continue;
      if (!await exists(`${this.#layers}/${entry.name.slice(0, -5)}`)) {
        await removeIfExists(`${this.#layers}/${entry.name}`);
      }
    }
  }

  /**
   * Removes every layer not in `keep` and returns their ids. A crash between publishing a
   * layer and recording the image made of it leaves such a layer; call this at start-up,
   * before any run, with the layers the metadata refers to.
   */
  async prune(keep: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    for await (const entry of Deno.readDir(this.#layers)) {
      if (!entry.isDirectory || !ID_PATTERN.test(entry.name) || keep.has(entry.name)) continue;
      await this.remove(entry.name);
      removed.push(entry.name);
    }
    return removed;
  }

  /** The host directory of layer `layerId` (what `runSandbox` and `ImageView` take). */
  path(layerId: string): string {
    return `${this.#layers}/${checkId(layerId, "layer")}`;
  }

  /** A fresh workspace for one run: the overlay upper and work directories. */
  createWorkspace(): Workspace {
    const id = newId();
    const dir = `${this.#work}/${id}`;
    // On the path of every run: synchronous calls take microseconds each, async ones a
    // thread-pool round trip each.
    Deno.mkdirSync(dir);
    Deno.mkdirSync(`${dir}/u`);
    Deno.chmodSync(`${dir}/u`, 0o755);
    Deno.mkdirSync(`${dir}/w`);
    return { id, upperDir: `${dir}/u`, workDir: `${dir}/w` };
  }

  /**
   * A fresh workspace on a filesystem of its own that refuses writes (ENOSPC) past
   * `capBytes` plus a slack of 40 MiB, so the data directory grows by at most that much while
   * the run writes; `usedBytes()` tells how much the run has written. Needs root, loop devices
   * and `mkfs.ext4` (`quotaFsProblem()` says what is missing). One is made ahead for each of
   * the two latest caps asked for (formatting and mounting take 20 ms or more), so a run only
   * pays for them when it comes in faster than they are made; {@linkcode close} removes those.
   * A commit of a capped workspace copies what the run wrote.
   */
  async createCappedWorkspace(capBytes: number): Promise<CappedWorkspace> {
    const warm = this.#warmCapped.get(capBytes);
    this.#warmCapped.delete(capBytes);
    this.#warmUp(capBytes);
    return (await warm) ?? await this.#newCappedWorkspace(capBytes);
  }

  /** Unmounts and removes the capped workspaces made ahead; later ones are made on demand. */
  async close(): Promise<void> {
    this.#closed = true;
    const warm = await Promise.all(this.#warmCapped.values());
    this.#warmCapped.clear();
    for (const workspace of warm) if (workspace) await this.discard(workspace.id);
  }

  /** Makes one capped workspace ahead for `capBytes`, keeping those of the latest caps only. */
  #warmUp(capBytes: number): void {
    if (this.#closed || this.#warmCapped.has(capBytes)) return;
    for (const [cap, old] of this.#warmCapped) {
      if (this.#warmCapped.size < WARM_CAPS) break;
      this.#warmCapped.delete(cap);
      void old.then((workspace) => workspace && this.discard(workspace.id));
    }
    this.#warmCapped.set(capBytes, this.#newCappedWorkspace(capBytes).catch(() => null));
  }

  async #newCappedWorkspace(capBytes: number): Promise<CappedWorkspace> {
    const id = newId();
    const dir = `${this.#work}/${id}`;
    await Deno.mkdir(dir);
    try {
      const fs = await createQuotaFs(dir, capBytes);
      await Deno.mkdir(`${fs.mount}/u`, { mode: 0o755 });
      await Deno.mkdir(`${fs.mount}/w`);
      return { id, upperDir: `${fs.mount}/u`, workDir: `${fs.mount}/w`, usedBytes: fs.usedBytes };
    } catch (error) {
      await this.discard(id);
      throw new LayerError(`cannot create a capped workspace: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /**
   * Turns the workspace's upper directory into a new immutable layer (atomically: the
   * sidecar is published first, then the directory is renamed into place) and returns its
   * id, or `null` when the run changed nothing. The workspace is consumed either way.
   */
  async commit(workspaceId: string): Promise<string | null> {
    const dir = `${this.#work}/${checkId(workspaceId, "workspace")}`;
    const capped = mountPoints().has(`${dir}/fs`);
    const upper = capped ? `${dir}/fs/u` : `${dir}/u`;
    let moved: string | undefined;
    try {
      for await (const _ of Deno.readDir(upper)) {
        if (!capped) return await this.#publish(upper, await scanLayer(upper));
        moved = await this.#moveOut(`${dir}/fs`, "u");
        return await this.#publish(`${moved}/u`, await scanLayer(`${moved}/u`));
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new LayerError(`no workspace ${workspaceId}`, { cause: error });
      }
      throw error;
    } finally {
      if (moved) await removeIfExists(moved);
      await this.discard(workspaceId);
    }
    return null;
  }

  /** Drops a workspace and whatever the run wrote; a no-op for one already gone. */
  async discard(workspaceId: string): Promise<void> {
    const dir = `${this.#work}/${checkId(workspaceId, "workspace")}`;
    await unmountQuotaFs(dir);
    await removeIfExists(dir);
  }

  /**
   * Moves `from/name` into a new temp directory of the data directory's filesystem and returns
   * that directory. A tar pipe keeps owners, modes, xattrs (overlay's opaque marks), whiteouts
   * and hard links, and removes each file once it is sent, so the data directory holds each
   * byte about once (the capped filesystem gives freed blocks back: `discard`).
   */
  async #moveOut(from: string, name: string): Promise<string> {
    const temp = await this.#tempDir();
    // --same-owner: GNU tar keeps owners only as uid 0 unless told (a server without root
    // runs as another id of its user namespace, with the capabilities to keep them).
    const flags = ["--xattrs", "--xattrs-include=*", "--numeric-owner", "--same-owner"];
    const pack = new Deno.Command("tar", {
      args: ["-C", from, ...flags, "--remove-files", "-cf", "-", name],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const unpack = new Deno.Command("tar", {
      args: ["-C", temp, ...flags, "-xpf", "-"],
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const [, ...ends] = await Promise.all([
      pack.stdout.pipeTo(unpack.stdin),
      ...[pack, unpack].map(async (child) => {
        const [status, stderr] = await Promise.all([
          child.status,
          new Response(child.stderr).text(),
        ]);
        return { status, stderr };
      }),
    ]);
    for (const { status, stderr } of ends) {
      if (status.success) continue;
      await removeIfExists(temp);
      const lines = stderr.trim().split("\n").slice(-3).join("; ");
      throw new LayerError(`moving a capped workspace out failed: ${lines}`);
    }
    return temp;
  }

  /**
   * Imports a root filesystem as one layer from a directory (copied with `cp -a`) or a
   * tarball (`.tar`, `.tar.gz`, ...; extracted by GNU tar with numeric owners and modes;
   * a member escaping the root fails the import with {@linkcode LayerError}).
   */
  async importRootfs(source: string): Promise<string> {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(source);
    } catch (error) {
      throw new LayerError(`cannot import ${source}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const temp = await this.#tempDir();
    try {
      if (info.isDirectory) {
        await run("cp", ["-a", "--", `${source}/.`, temp]);
      } else {
        await run("tar", ["-x", "-p", "--numeric-owner", "--same-owner", "-f", source, "-C", temp]);
      }
      return await this.#publish(temp, await scanLayer(temp));
    } catch (error) {
      await removeIfExists(temp);
      throw error;
    }
  }

  /**
   * Publishes the directory `source` as a new layer by renaming it into place: no copy, so it
   * must be on the data directory's filesystem, and it is consumed. Like a directory given to
   * {@linkcode importRootfs}, its whiteouts are character devices 0/0 and its opaque
   * directories carry `trusted.overlay.opaque=y`.
   */
  async adoptRootfs(source: string): Promise<string> {
    return await this.#publish(source, await scanLayer(source));
  }

  /**
   * One layer holding the merged view of `layers` (ids, lowest first): whiteouts and opaque
   * directories applied, so it can replace the whole chain at the bottom of a stack.
   * Directories are recreated; everything else is hard-linked from the (immutable) source
   * layers, so flattening costs one link per file, not a copy of the data.
   */
  async flatten(layers: string[]): Promise<string> {
    if (layers.length === 0) throw new LayerError("nothing to flatten");
    const view = new LayeredView(layers.map((id) => this.path(id)));
    const temp = await this.#tempDir();
    let bytes = 0;
    const copyTree = async (dir: Node, target: string): Promise<void> => {
      const children = await view.children(dir);
      for (let i = 0; i < children.length; i += PARALLEL) {
        await Promise.all(
          children.slice(i, i + PARALLEL).map(async (child) => {
            const dest = `${target}/${child.path.slice(child.path.lastIndexOf("/") + 1)}`;
            if (child.info.isDirectory) {
              await Deno.mkdir(dest);
              await copyTree(child, dest);
              return;
            }
            await this.#linkOrCopy(child, dest);
            if (child.info.isFile || child.info.isSymlink) bytes += child.info.size;
          }),
        );
      }
      await setAttributes(target, dir.info);
    };
    try {
      await copyTree(await view.root(), temp);
      return await this.#publish(temp, { opaque: [], bytes });
    } catch (error) {
      await removeIfExists(temp);
      throw error;
    }
  }

  /** Deletes layer `layerId` (renamed away first, so it vanishes atomically). */
  async remove(layerId: string): Promise<void> {
    const dir = this.path(layerId);
    const trash = `${this.#tmp}/${newId()}`;
    try {
      await Deno.rename(dir, trash);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    await removeIfExists(metaPath(dir));
    await removeIfExists(trash);
  }

  /** Bytes of the regular files and symlinks of layer `layerId` (what the run wrote). */
  async size(layerId: string): Promise<number> {
    const dir = this.path(layerId);
    return ((await readLayerMeta(dir)) ?? await scanLayer(dir)).bytes;
  }

  async #tempDir(): Promise<string> {
    const temp = `${this.#tmp}/${newId()}`;
    await Deno.mkdir(temp);
    await Deno.chmod(temp, 0o755);
    return temp;
  }

  /** Publishes `dir` as a new layer: its sidecar first, then the directory, each by rename. */
  async #publish(dir: string, meta: LayerMeta): Promise<string> {
    let id = newId();
    while (await exists(this.path(id))) id = newId();
    const sidecar = `${this.#tmp}/${id}.json`;
    await Deno.writeTextFile(sidecar, JSON.stringify(meta));
    await Deno.rename(sidecar, metaPath(this.path(id)));
    await Deno.rename(dir, this.path(id));
    return id;
  }

  async #linkOrCopy(node: Node, dest: string): Promise<void> {
    try {
      await Deno.link(node.host, dest);
      return;
    } catch (error) {
      // Too many links to one inode (EMLINK): fall back to a copy.
      if (!node.info.isFile && !node.info.isSymlink) throw error;
    }
    if (node.info.isSymlink) {
      await Deno.symlink(await Deno.readLink(node.host), dest);
      await lchown(dest, node.info.uid ?? 0, node.info.gid ?? 0);
      await lutimes(dest, node.info.atime ?? new Date(), node.info.mtime ?? new Date());
      return;
    }
    await Deno.copyFile(node.host, dest);
    await setAttributes(dest, node.info);
  }
}
