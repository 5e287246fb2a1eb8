/**
 * Rewrites an OCI layer tar into the overlay layer format of the LayerStore, as a stream fed
 * to GNU tar: members pass through byte for byte, except the OCI whiteouts.
 *
 * - `DIR/.wh.NAME` (delete NAME from the layers below) becomes a character device 0/0 named
 *   `DIR/NAME`, overlayfs' whiteout;
 * - `DIR/.wh..wh..opq` (hide the contents of DIR in the layers below) becomes the
 *   `trusted.overlay.opaque=y` xattr on DIR (a repeated directory header with a PAX
 *   `SCHILY.xattr` record), which overlayfs honours and the LayerStore's scan records;
 * - a name both whited out and present in the layer is the layer's own: a directory becomes
 *   opaque (the lower contents stay hidden), anything else simply replaces the lower entry.
 *
 * Whiteouts and opaque markers are emitted after the last member, so their order in the
 * layer does not matter. An opaque root hides every layer below; that cannot be an xattr of a
 * layer's root, so it is reported instead ({@linkcode OverlayTar.rootOpaque}).
 */
import { opaqueXattr } from "../sandbox/rootless.ts";
import {
  BLOCK,
  contentSize,
  encodeHeader,
  padded,
  parseHeader,
  parseLongName,
  parsePax,
  TarFormatError,
  type TarHeader,
} from "../tar/mod.ts";
import { InvalidImageError } from "./errors.ts";
import { cleanPath } from "./_member_path.ts";

const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";
/** Output is gathered into chunks of about this size. */
const BATCH = 64 << 10;

/** The converting stream and what it learnt once done. */
export interface OverlayTar {
  stream: TransformStream<Uint8Array, Uint8Array>;
  /** After the stream ended: whether the layer hides everything below it. */
  rootOpaque(): boolean;
}

type Mode = "emit" | "drop" | "collect";

class Converter {
  readonly #what: string;
  readonly #header = new Uint8Array(BLOCK);
  #headerFill = 0;
  /** Bytes of content (with padding) left in the current member. */
  #remaining = 0;
  #mode: Mode = "emit";
  /** Extended headers (PAX `x`, GNU `L`/`K`) waiting for the member they describe. */
  #pending: Uint8Array[] = [];
  #collected: Uint8Array[] = [];
  #collectType = "";
  #collectSize = 0;
  #pax = new Map<string, string>();
  #longName?: string;
  #ended = false;
  /** Every member path: whether it is a directory. */
  readonly #entries = new Map<string, boolean>();
  /** Directories implied by member paths. */
  readonly #parents = new Set<string>();
  readonly #dirHeaders = new Map<string, TarHeader>();
  readonly #whiteouts = new Set<string>();
  readonly #opaque = new Set<string>();
  #rootOpaque = false;
  #out: Uint8Array[] = [];
  #outSize = 0;

  constructor(what: string) {
    this.#what = what;
  }

  get rootOpaque(): boolean {
    return this.#rootOpaque;
  }

  push(chunk: Uint8Array, enqueue: (bytes: Uint8Array) => void): void {
    let offset = 0;
    while (offset < chunk.length && !this.#ended) {
      if (this.#remaining > 0) {
        const n = Math.min(this.#remaining, chunk.length - offset);
        const piece = chunk.subarray(offset, offset + n);
        if (this.#mode === "emit") this.#emit(piece, enqueue);
        else if (this.#mode === "collect") {
          this.#pending.push(piece);
          this.#collected.push(piece);
        }
        this.#remaining -= n;
        offset += n;
        if (this.#remaining === 0 && this.#mode === "collect") this.#endExtended();
        continue;
      }
      const n = Math.min(BLOCK - this.#headerFill, chunk.length - offset);
      this.#header.set(chunk.subarray(offset, offset + n), this.#headerFill);
      this.#headerFill += n;
      offset += n;
      if (this.#headerFill === BLOCK) {
        this.#headerFill = 0;
        this.#onHeader(this.#header.slice(), enqueue);
      }
    }
  }

  finish(enqueue: (bytes: Uint8Array) => void): void {
    if (this.#remaining > 0 || this.#headerFill > 0 || this.#pending.length > 0) {
      throw new InvalidImageError(`${this.#what}: the layer tar is truncated`);
    }
    for (const path of this.#whiteouts) {
      if (this.#entries.get(path) === true || this.#parents.has(path)) this.#opaque.add(path);
      else if (!this.#entries.has(path)) {
        this.#emit(encodeHeader(whiteoutHeader(path)), enqueue);
      }
    }
    for (const path of this.#opaque) {
      if (path === "") {
        this.#rootOpaque = true;
        continue;
      }
      const header = this.#dirHeaders.get(path) ?? defaultDirHeader(path);
      const marker = { [`SCHILY.xattr.${opaqueXattr()}`]: "y" };
      this.#emit(encodeHeader({ ...header, name: `${path}/` }, marker), enqueue);
    }
    this.#emit(new Uint8Array(2 * BLOCK), enqueue);
    this.#flush(enqueue);
  }

  #onHeader(block: Uint8Array, enqueue: (bytes: Uint8Array) => void): void {
    const header = parseHeader(block);
    if (header === null) {
      // End of archive: whatever follows is padding.
      this.#ended = true;
      return;
    }
    if (header.type === "x" || header.type === "L" || header.type === "K") {
      this.#pending.push(block);
      this.#collectType = header.type;
      this.#collectSize = header.size;
      this.#collected = [];
      this.#start(padded(header.size), "collect");
      if (header.size === 0) this.#endExtended();
      return;
    }
    if (header.type === "g") {
      this.#emit(block, enqueue);
      this.#start(padded(header.size), "emit");
      return;
    }
    const name = this.#longName ?? this.#pax.get("GNU.sparse.name") ?? this.#pax.get("path") ??
      header.name;
    const size = this.#pax.has("size") ? Number(this.#pax.get("size")) : header.size;
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new InvalidImageError(`${this.#what}: malformed size of ${JSON.stringify(name)}`);
    }
    const path = cleanPath(name);
    const slash = path.lastIndexOf("/");
    const base = path.slice(slash + 1);
    const dir = slash < 0 ? "" : path.slice(0, slash);
    let keep = true;
    this.#addParents(path);
    if (base === OPAQUE) {
      this.#opaque.add(dir);
      keep = false;
    } else if (base.startsWith(WHITEOUT)) {
      const target = base.slice(WHITEOUT.length);
      if (target === "") throw new InvalidImageError(`${this.#what}: empty whiteout in ${dir}/`);
      this.#whiteouts.add(dir === "" ? target : `${dir}/${target}`);
      keep = false;
    } else if (path !== "") {
      this.#record(path, header);
    }
    if (keep) {
      for (const piece of this.#pending) this.#emit(piece, enqueue);
      this.#emit(block, enqueue);
    }
    this.#pending = [];
    this.#pax = new Map();
    this.#longName = undefined;
    this.#start(padded(contentSize(header.type, size)), keep ? "emit" : "drop");
  }

  #record(path: string, header: TarHeader): void {
    const isDir = header.type === "5";
    this.#entries.set(path, isDir);
    if (isDir) {
      const uid = Number(this.#pax.get("uid") ?? header.uid);
      const gid = Number(this.#pax.get("gid") ?? header.gid);
      const mtime = Math.floor(Number(this.#pax.get("mtime") ?? header.mtime));
      this.#dirHeaders.set(path, { ...header, uid, gid, mtime, size: 0, linkname: "" });
    }
  }

  #addParents(path: string): void {
    for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) {
      this.#parents.add(path.slice(0, i));
    }
  }

  #start(length: number, mode: Mode): void {
    this.#remaining = length;
    this.#mode = mode;
  }

  #endExtended(): void {
    const data = concat(this.#collected).subarray(0, this.#collectSize);
    if (this.#collectType === "x") {
      for (const [key, value] of parsePax(data)) this.#pax.set(key, value);
    } else if (this.#collectType === "L") {
      this.#longName = parseLongName(data);
    }
    this.#collected = [];
  }

  #emit(bytes: Uint8Array, enqueue: (bytes: Uint8Array) => void): void {
    if (bytes.length >= BATCH && this.#outSize === 0) {
      enqueue(bytes);
      return;
    }
    this.#out.push(bytes);
    this.#outSize += bytes.length;
    if (this.#outSize >= BATCH) this.#flush(enqueue);
  }

  #flush(enqueue: (bytes: Uint8Array) => void): void {
    if (this.#outSize === 0) return;
    enqueue(concat(this.#out));
    this.#out = [];
    this.#outSize = 0;
  }
}

function concat(pieces: Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0];
  const out = new Uint8Array(pieces.reduce((n, piece) => n + piece.length, 0));
  pieces.reduce((offset, piece) => (out.set(piece, offset), offset + piece.length), 0);
  return out;
}

function whiteoutHeader(path: string): TarHeader {
  return {
    name: path,
    type: "3",
    mode: 0,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 0,
    linkname: "",
    devmajor: 0,
    devminor: 0,
  };
}

/** The header of a directory the layer implies without a member of its own. */
function defaultDirHeader(path: string): TarHeader {
  return { ...whiteoutHeader(path), type: "5", mode: 0o755 };
}

/** Runs `fn`, reporting a tar it cannot read as an {@linkcode InvalidImageError}. */
function asImageError(what: string, fn: () => void): void {
  try {
    fn();
  } catch (error) {
    if (error instanceof TarFormatError) throw new InvalidImageError(`${what}: ${error.message}`);
    throw error;
  }
}

/**
 * A stream converting one uncompressed OCI layer tar (`what` names it in errors) into the
 * overlay format. Throws {@linkcode InvalidImageError} for a corrupt or truncated tar or a
 * member escaping the root.
 */
export function overlayTar(what: string): OverlayTar {
  const converter = new Converter(what);
  return {
    stream: new TransformStream({
      transform(chunk, controller) {
        asImageError(what, () => converter.push(chunk, (bytes) => controller.enqueue(bytes)));
      },
      flush(controller) {
        asImageError(what, () => converter.finish((bytes) => controller.enqueue(bytes)));
      },
    }),
    rootOpaque: () => converter.rootOpaque,
  };
}
