/**
 * Tar headers as image layers and archives use them: ustar with its prefix field, PAX
 * extended headers, GNU long names and base-256 numbers on read; ustar plus PAX records on
 * write.
 */
import { InvalidImageError } from "./errors.ts";

/** Bytes in a tar block. */
export const BLOCK = 512;

/** Typeflags whose size field does not announce content (as Go's archive/tar reads them). */
const HEADER_ONLY = new Set(["1", "2", "3", "4", "5", "6"]);

/** The fields of one ustar header block. */
export interface TarHeader {
  /** Name field (joined with the ustar prefix when the magic is POSIX). */
  name: string;
  /** Typeflag character; NUL is read as `"0"` (regular file). */
  type: string;
  mode: number;
  uid: number;
  gid: number;
  /** Size field (a PAX `size` record overrides it). */
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function text(block: Uint8Array, offset: number, width: number): string {
  const field = block.subarray(offset, offset + width);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

function number(block: Uint8Array, offset: number, width: number): number {
  const field = block.subarray(offset, offset + width);
  if (field[0] & 0x80) {
    // GNU base-256: big-endian two's complement with the top bit as a marker.
    let value = field[0] & 0x3f;
    if (field[0] & 0x40) throw new InvalidImageError("tar: negative number field");
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i];
    return value;
  }
  const digits = text(block, offset, width).trim();
  if (digits === "") return 0;
  if (!/^[0-7]+$/.test(digits)) throw new InvalidImageError("tar: malformed number field");
  return parseInt(digits, 8);
}

/**
 * Parses one header block; `null` for a zero block (the end-of-archive marker). Throws
 * {@linkcode InvalidImageError} when the checksum is wrong.
 */
export function parseHeader(block: Uint8Array): TarHeader | null {
  if (block.every((byte) => byte === 0)) return null;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  if (number(block, 148, 8) !== sum) throw new InvalidImageError("tar: header checksum mismatch");
  const ustar = decoder.decode(block.subarray(257, 262)) === "ustar";
  const posix = ustar && block[262] === 0;
  const prefix = posix ? text(block, 345, 155) : "";
  const name = text(block, 0, 100);
  const type = block[156] === 0 ? "0" : String.fromCharCode(block[156]);
  return {
    name: prefix ? `${prefix}/${name}` : name,
    type,
    mode: number(block, 100, 8),
    uid: number(block, 108, 8),
    gid: number(block, 116, 8),
    size: number(block, 124, 12),
    mtime: number(block, 136, 12),
    linkname: text(block, 157, 100),
    devmajor: ustar ? number(block, 329, 8) : 0,
    devminor: ustar ? number(block, 337, 8) : 0,
  };
}

/** Bytes of content that follow a header of `type` whose size is `size`. */
export function contentSize(type: string, size: number): number {
  return HEADER_ONLY.has(type) ? 0 : size;
}

/** `size` rounded up to whole blocks. */
export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** The records of a PAX extended header (`"<len> <key>=<value>\n"` each). */
export function parsePax(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < data.length && data[offset] !== 0) {
    const space = data.indexOf(0x20, offset);
    const length = Number(decoder.decode(data.subarray(offset, space)));
    if (
      space < 0 || !Number.isSafeInteger(length) || length <= 0 || offset + length > data.length
    ) {
      throw new InvalidImageError("tar: malformed PAX header");
    }
    const record = decoder.decode(data.subarray(space + 1, offset + length - 1));
    const equals = record.indexOf("=");
    if (equals < 0) throw new InvalidImageError("tar: malformed PAX record");
    records.set(record.slice(0, equals), record.slice(equals + 1));
    offset += length;
  }
  return records;
}

/** The text of a GNU long name or long link member (NUL-terminated). */
export function parseLongName(data: Uint8Array): string {
  const end = data.indexOf(0);
  return decoder.decode(end < 0 ? data : data.subarray(0, end));
}

/**
 * `name` as a relative path without `.`, empty or trailing components (`""` for the root).
 * Throws {@linkcode InvalidImageError} for a `..` component.
 */
export function cleanPath(name: string): string {
  const parts = name.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) {
    throw new InvalidImageError(`tar: member ${JSON.stringify(name)} escapes the root`);
  }
  return parts.join("/");
}

function writeText(block: Uint8Array, offset: number, width: number, value: string): void {
  block.set(encoder.encode(value).subarray(0, width), offset);
}

function writeOctal(block: Uint8Array, offset: number, width: number, value: number): void {
  writeText(block, offset, width, value.toString(8).padStart(width - 1, "0"));
}

function headerBlock(header: TarHeader): Uint8Array {
  const block = new Uint8Array(BLOCK);
  writeText(block, 0, 100, header.name);
  writeOctal(block, 100, 8, header.mode);
  writeOctal(block, 108, 8, header.uid);
  writeOctal(block, 116, 8, header.gid);
  writeOctal(block, 124, 12, header.size);
  writeOctal(block, 136, 12, header.mtime);
  block.fill(0x20, 148, 156);
  writeText(block, 156, 1, header.type);
  writeText(block, 157, 100, header.linkname);
  writeText(block, 257, 6, "ustar");
  writeText(block, 263, 2, "00");
  writeOctal(block, 329, 8, header.devmajor);
  writeOctal(block, 337, 8, header.devminor);
  const sum = block.reduce((total, byte) => total + byte, 0);
  writeText(block, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const size = encoder.encode(body).length;
  let length = size + String(size).length;
  if (String(length).length !== String(size).length) length = size + String(length).length;
  return `${length}${body}`;
}

/**
 * The header blocks of one member: a PAX extended header carrying `pax` records and any
 * value ustar cannot hold (long names, big numbers), then the ustar block. Numbers that do
 * not fit a ustar field are written as 0 there.
 */
export function encodeHeader(header: TarHeader, pax: Record<string, string> = {}): Uint8Array {
  const records = { ...pax };
  const fits = (value: number, width: number) => value >= 0 && value < 8 ** (width - 1);
  if (encoder.encode(header.name).length > 100) records.path = header.name;
  if (encoder.encode(header.linkname).length > 100) records.linkpath = header.linkname;
  for (const [key, width] of [["size", 12], ["uid", 8], ["gid", 8], ["mtime", 12]] as const) {
    if (!fits(header[key], width)) records[key] = String(header[key]);
  }
  const main = headerBlock({
    ...header,
    name: header.name.slice(0, 100),
    linkname: header.linkname.slice(0, 100),
    size: fits(header.size, 12) ? header.size : 0,
    uid: fits(header.uid, 8) ? header.uid : 0,
    gid: fits(header.gid, 8) ? header.gid : 0,
    mtime: fits(header.mtime, 12) ? header.mtime : 0,
  });
  const entries = Object.entries(records);
  if (entries.length === 0) return main;
  const data = encoder.encode(entries.map(([key, value]) => paxRecord(key, value)).join(""));
  const out = new Uint8Array(BLOCK + padded(data.length) + BLOCK);
  out.set(
    headerBlock({
      name: "PaxHeader",
      type: "x",
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: data.length,
      mtime: 0,
      linkname: "",
      devmajor: 0,
      devminor: 0,
    }),
  );
  out.set(data, BLOCK);
  out.set(main, out.length - BLOCK);
  return out;
}
