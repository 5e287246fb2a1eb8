/**
 * POSIX (PAX) tar headers: a ustar header, preceded by a PAX extended header when a value
 * does not fit ustar (long names or link targets, big sizes or ids).
 */

/** Bytes in a tar block. */
export const BLOCK = 512;

/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE: Uint8Array = new Uint8Array(2 * BLOCK);

/** Entry types written by this module (ustar typeflags). */
export type TarType = "file" | "symlink" | "char" | "block" | "dir" | "fifo";

const TYPEFLAG: Record<TarType, string> = {
  file: "0",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
};

/** One archive member's metadata. */
export interface TarHeader {
  /** Member name, `/`-separated, relative; directories end with `/`. */
  name: string;
  type: TarType;
  /** Permission bits, including set-id and sticky bits. */
  mode: number;
  uid: number;
  gid: number;
  /** Owner and group names; left empty when unknown. */
  uname: string;
  gname: string;
  /** Bytes of content that follow (regular files only). */
  size: number;
  /** Modification time, whole seconds since the epoch. */
  mtime: number;
  /** Symlink target. */
  linkname: string;
  devmajor: number;
  devminor: number;
}

const encoder = new TextEncoder();

/** Largest value of an octal field of `width` bytes (digits plus a NUL). */
function octalMax(width: number): number {
  return 8 ** (width - 1) - 1;
}

function writeString(block: Uint8Array, offset: number, width: number, value: string): void {
  block.set(encoder.encode(value).subarray(0, width), offset);
}

function writeOctal(block: Uint8Array, offset: number, width: number, value: number): void {
  const fits = value >= 0 && value <= octalMax(width);
  writeString(block, offset, width, (fits ? value : 0).toString(8).padStart(width - 1, "0"));
}

/** One PAX record, `"<len> <key>=<value>\n"`, where len counts the whole record. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = encoder.encode(body).length;
  let length = bodyLength + String(bodyLength).length;
  if (String(length).length !== String(bodyLength).length) {
    length = bodyLength + String(length).length;
  }
  return `${length}${body}`;
}

function ustarBlock(header: TarHeader, typeflag: string): Uint8Array {
  const block = new Uint8Array(BLOCK);
  writeString(block, 0, 100, header.name);
  writeOctal(block, 100, 8, header.mode);
  writeOctal(block, 108, 8, header.uid);
  writeOctal(block, 116, 8, header.gid);
  writeOctal(block, 124, 12, header.size);
  writeOctal(block, 136, 12, header.mtime);
  block.fill(0x20, 148, 156);
  writeString(block, 156, 1, typeflag);
  writeString(block, 157, 100, header.linkname);
  writeString(block, 257, 6, "ustar");
  writeString(block, 263, 2, "00");
  writeString(block, 265, 32, header.uname);
  writeString(block, 297, 32, header.gname);
  writeOctal(block, 329, 8, header.devmajor);
  writeOctal(block, 337, 8, header.devminor);
  const sum = block.reduce((total, byte) => total + byte, 0);
  writeString(block, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

/** Zero bytes that pad `size` bytes of content to a whole block. */
export function padding(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The header blocks of one member (PAX extended header first when needed). */
export function encodeHeader(header: TarHeader): Uint8Array {
  const records: string[] = [];
  if (encoder.encode(header.name).length > 100) records.push(paxRecord("path", header.name));
  if (encoder.encode(header.linkname).length > 100) {
    records.push(paxRecord("linkpath", header.linkname));
  }
  if (header.size > octalMax(12)) records.push(paxRecord("size", String(header.size)));
  if (header.uid > octalMax(8)) records.push(paxRecord("uid", String(header.uid)));
  if (header.gid > octalMax(8)) records.push(paxRecord("gid", String(header.gid)));
  if (header.mtime < 0 || header.mtime > octalMax(12)) {
    records.push(paxRecord("mtime", String(header.mtime)));
  }
  if (encoder.encode(header.uname).length > 32) records.push(paxRecord("uname", header.uname));
  if (encoder.encode(header.gname).length > 32) records.push(paxRecord("gname", header.gname));
  const main = ustarBlock(header, TYPEFLAG[header.type]);
  if (records.length === 0) return main;
  const data = encoder.encode(records.join(""));
  const pax = ustarBlock({
    ...header,
    name: `PaxHeaders/${header.name.replace(/\/$/, "").split("/").pop()!.slice(0, 80)}`,
    size: data.length,
    linkname: "",
  }, "x");
  const out = new Uint8Array(BLOCK + data.length + padding(data.length).length + BLOCK);
  out.set(pax, 0);
  out.set(data, BLOCK);
  out.set(main, out.length - BLOCK);
  return out;
}
