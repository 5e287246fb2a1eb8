/**
 * Random access to the files of an image archive: a directory (an OCI image layout), or a tar
 * (`docker save`, a tarred OCI layout), indexed once and read by seeking; a compressed tar is
 * first decompressed into the import cache's temp space. Symlinks and hard links between
 * members are followed within the archive.
 */
import type { ImportCache } from "./cache.ts";
import { decompress } from "./_decompress.ts";
import { ImageNotFoundError, InvalidImageError } from "./errors.ts";
import {
  BLOCK,
  contentSize,
  padded,
  parseHeader,
  parseLongName,
  parsePax,
  TarFormatError,
} from "../tar/mod.ts";
import { cleanPath } from "./_member_path.ts";

/** Links followed while resolving one member name. */
const MAX_LINKS = 16;
/** Bytes read at once from a member. */
const CHUNK = 256 << 10;

/** A member opened for reading. */
export interface ArchiveMember {
  size: number;
  stream: ReadableStream<Uint8Array>;
}

/** Files of an archive by their relative names (`index.json`, `blobs/sha256/<hex>`). */
export interface ArchiveReader {
  /** Whether the member exists (links followed). */
  has(name: string): Promise<boolean>;
  /** Opens a member; throws {@linkcode ImageNotFoundError} when there is none. */
  open(name: string): Promise<ArchiveMember>;
  /** Releases what the reader holds (a decompressed copy). */
  close(): Promise<void>;
}

/** Reads member `name` whole, refusing more than `limit` bytes. */
export async function readMember(
  reader: ArchiveReader,
  name: string,
  limit: number,
): Promise<Uint8Array> {
  const { size, stream } = await reader.open(name);
  if (size > limit) {
    await stream.cancel();
    throw new InvalidImageError(`${name}: larger than ${limit} bytes`);
  }
  return await new Response(stream).bytes();
}

function missing(name: string): ImageNotFoundError {
  return new ImageNotFoundError(`the archive has no ${name}`);
}

/** A stream of `size` bytes of `path` from `offset`. */
async function fileRange(path: string, offset: number, size: number): Promise<ArchiveMember> {
  const file = await Deno.open(path);
  await file.seek(offset, Deno.SeekMode.Start);
  let left = size;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buffer = new Uint8Array(Math.min(CHUNK, left));
      const n = left === 0 ? null : await file.read(buffer).catch((error) => {
        file.close();
        throw error;
      });
      if (n === null) {
        file.close();
        if (left > 0) throw new InvalidImageError(`${path}: ends inside a member`);
        controller.close();
        return;
      }
      left -= n;
      controller.enqueue(buffer.subarray(0, n));
    },
    cancel: () => file.close(),
  });
  return { size, stream };
}

class DirectoryReader implements ArchiveReader {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  async has(name: string): Promise<boolean> {
    try {
      return (await Deno.stat(`${this.#root}/${cleanPath(name)}`)).isFile;
    } catch {
      return false;
    }
  }

  async open(name: string): Promise<ArchiveMember> {
    const path = `${this.#root}/${cleanPath(name)}`;
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch {
      throw missing(name);
    }
    if (!info.isFile) throw missing(name);
    return await fileRange(path, 0, info.size);
  }

  async close(): Promise<void> {}
}

type Entry = { offset: number; size: number } | { link: string };

async function readFull(file: Deno.FsFile, buffer: Uint8Array): Promise<boolean> {
  let filled = 0;
  while (filled < buffer.length) {
    const n = await file.read(buffer.subarray(filled));
    if (n === null) return false;
    filled += n;
  }
  return true;
}

/** `target` of a symlink in directory `dir`, as a member name (may not leave the archive). */
function linkTarget(dir: string, target: string): string {
  const parts = target.startsWith("/") ? [] : dir.split("/").filter(Boolean);
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) throw new InvalidImageError(`a link leaves the archive: ${target}`);
      parts.pop();
    } else parts.push(part);
  }
  return parts.join("/");
}

class TarReader implements ArchiveReader {
  readonly #path: string;
  readonly #entries: Map<string, Entry>;
  readonly #cleanup: () => Promise<void>;

  constructor(path: string, entries: Map<string, Entry>, cleanup: () => Promise<void>) {
    this.#path = path;
    this.#entries = entries;
    this.#cleanup = cleanup;
  }

  static async index(path: string, cleanup: () => Promise<void>): Promise<TarReader> {
    const entries = new Map<string, Entry>();
    using file = await Deno.open(path);
    const block = new Uint8Array(BLOCK);
    let offset = 0;
    let pax = new Map<string, string>();
    let longName: string | undefined;
    const readData = async (size: number) => {
      const data = new Uint8Array(padded(size));
      if (!await readFull(file, data)) throw new InvalidImageError(`${path}: truncated tar`);
      return data.subarray(0, size);
    };
    try {
      while (true) {
        await file.seek(offset, Deno.SeekMode.Start);
        if (!await readFull(file, block)) break;
        const header = parseHeader(block);
        if (header === null) break;
        offset += BLOCK;
        if (header.type === "x") {
          pax = parsePax(await readData(header.size));
          offset += padded(header.size);
          continue;
        }
        if (header.type === "L") {
          longName = parseLongName(await readData(header.size));
          offset += padded(header.size);
          continue;
        }
        const size = pax.has("size") ? Number(pax.get("size")) : header.size;
        const name = cleanPath(longName ?? pax.get("path") ?? header.name);
        const linkname = pax.get("linkpath") ?? header.linkname;
        if (header.type === "0" || header.type === "7") entries.set(name, { offset, size });
        else if (header.type === "1") entries.set(name, { link: cleanPath(linkname) });
        else if (header.type === "2") {
          entries.set(name, { link: linkTarget(name.split("/").slice(0, -1).join("/"), linkname) });
        }
        offset += padded(contentSize(header.type, size));
        pax = new Map();
        longName = undefined;
      }
    } catch (error) {
      if (error instanceof TarFormatError) throw new InvalidImageError(`${path}: ${error.message}`);
      throw error;
    }
    if (entries.size === 0) throw new InvalidImageError(`${path}: not a tar archive, or empty`);
    return new TarReader(path, entries, cleanup);
  }

  #resolve(name: string): { offset: number; size: number } | null {
    let current = cleanPath(name);
    for (let i = 0; i <= MAX_LINKS; i++) {
      const entry = this.#entries.get(current);
      if (!entry) return null;
      if (!("link" in entry)) return entry;
      current = entry.link;
    }
    throw new InvalidImageError(`${name}: too many links`);
  }

  has(name: string): Promise<boolean> {
    return Promise.resolve(this.#resolve(name) !== null);
  }

  async open(name: string): Promise<ArchiveMember> {
    const entry = this.#resolve(name);
    if (!entry) throw missing(name);
    return await fileRange(this.#path, entry.offset, entry.size);
  }

  close(): Promise<void> {
    return this.#cleanup();
  }
}

/**
 * Opens the archive at `path`: a directory, a tar, or a gzip/zstd-compressed tar (unpacked
 * to a temp file of `cache` first, removed by `close`). Throws {@linkcode InvalidImageError}
 * when it is none of these.
 */
export async function openArchive(
  path: string,
  cache: ImportCache,
  signal?: AbortSignal,
): Promise<ArchiveReader> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw new ImageNotFoundError(`cannot open ${path}: ${(error as Error).message}`);
  }
  if (info.isDirectory) return new DirectoryReader(path);
  const { compression, stream } = await decompress((await Deno.open(path)).readable, path);
  if (compression === "none") {
    await stream.cancel();
    return await TarReader.index(path, async () => {});
  }
  const dir = await cache.tempDir();
  const remove = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  try {
    const copy = `${dir}/archive.tar`;
    await stream.pipeTo((await Deno.open(copy, { write: true, createNew: true })).writable, {
      signal,
    });
    return await TarReader.index(copy, remove);
  } catch (error) {
    await remove();
    throw error;
  }
}
