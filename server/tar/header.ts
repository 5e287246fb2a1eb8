/**
 * Tar headers as image layers and archives use them. Read: ustar with its prefix field, PAX
 * extended headers, GNU long names and base-256 numbers. Write: ustar, preceded by a PAX
 * extended header for extra records and for any value ustar cannot hold (long names or link
 * targets, big sizes or ids, negative times, long owner names).
 *
 * @module
 */

/** Bytes in a tar block. */
export const BLOCK = 512;

/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE: Uint8Array = new Uint8Array(2 * BLOCK);

/**
 * The typeflags this codec names.
 *
 * @example
 * ```ts
 * encodeHeader({ ...header, type: TYPEFLAG.symlink, linkname: "target" });
 * ```
 */
export const TYPEFLAG = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
  contiguous: "7",
  pax: "x",
  globalPax: "g",
  gnuLongName: "L",
  gnuLongLink: "K",
} as const;

/** Typeflags whose size field does not announce content (as Go's archive/tar reads them). */
const HEADER_ONLY = new Set(["1", "2", "3", "4", "5", "6"]);

/**
 * A tar archive that cannot be read: a bad checksum, a malformed number or PAX record.
 *
 * @example
 * ```ts
 * try {
 *   parseHeader(block);
 * } catch (error) {
 *   if (error instanceof TarFormatError) console.error(error.message);
 * }
 * ```
 */
export class TarFormatError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(`tar: ${message}`);
    this.name = "TarFormatError";
  }
}

/** One member's header fields. */
export interface TarHeader {
  /** Member name, `/`-separated (on read: joined with the ustar prefix when POSIX). */
  name: string;
  /** Typeflag character (see {@linkcode TYPEFLAG}); NUL reads as `"0"`. */
  type: string;
  /** Permission bits, including set-id and sticky bits. */
  mode: number;
  uid: number;
  gid: number;
  /** Owner and group names; empty (or absent) when unknown. Not read back. */
  uname?: string;
  gname?: string;
  /** Size field: bytes of content for regular files (a PAX `size` record overrides it). */
  size: number;
  /** Modification time, whole seconds since the epoch. */
  mtime: number;
  /** Link target. */
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
    if (field[0] & 0x40) throw new TarFormatError("negative number field");
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i];
    return value;
  }
  const digits = text(block, offset, width).trim();
  if (digits === "") return 0;
  if (!/^[0-7]+$/.test(digits)) throw new TarFormatError("malformed number field");
  return parseInt(digits, 8);
}

/**
 * Parses one header block; `null` for a zero block (the end-of-archive marker). Throws
 * {@linkcode TarFormatError} when the checksum or a number field is wrong.
 *
 * @example
 * ```ts
 * const header = parseHeader(block);
 * if (header === null) console.log("end of archive");
 * ```
 */
export function parseHeader(block: Uint8Array): TarHeader | null {
  if (block.every((byte) => byte === 0)) return null;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  if (number(block, 148, 8) !== sum) throw new TarFormatError("header checksum mismatch");
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

/**
 * Bytes of content that follow a header of `type` whose size is `size`.
 *
 * @example
 * ```ts
 * contentSize(TYPEFLAG.symlink, 10); // 0
 * ```
 */
export function contentSize(type: string, size: number): number {
  return HEADER_ONLY.has(type) ? 0 : size;
}

/**
 * `size` rounded up to whole blocks.
 *
 * @example
 * ```ts
 * padded(1); // 512
 * ```
 */
export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/**
 * Zero bytes that pad `size` bytes of content to a whole block.
 *
 * @example
 * ```ts
 * padding(500).length; // 12
 * ```
 */
export function padding(size: number): Uint8Array {
  return new Uint8Array(padded(size) - size);
}

/**
 * The records of a PAX extended header (`"<len> <key>=<value>\n"` each). Throws
 * {@linkcode TarFormatError} for a malformed record.
 *
 * @example
 * ```ts
 * parsePax(new TextEncoder().encode("12 path=a/b\n")).get("path"); // "a/b"
 * ```
 */
export function parsePax(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < data.length && data[offset] !== 0) {
    const space = data.indexOf(0x20, offset);
    const length = Number(decoder.decode(data.subarray(offset, space)));
    if (
      space < 0 || !Number.isSafeInteger(length) || length <= 0 || offset + length > data.length
    ) {
      throw new TarFormatError("malformed PAX header");
    }
    const record = decoder.decode(data.subarray(space + 1, offset + length - 1));
    const equals = record.indexOf("=");
    if (equals < 0) throw new TarFormatError("malformed PAX record");
    records.set(record.slice(0, equals), record.slice(equals + 1));
    offset += length;
  }
  return records;
}

/**
 * The text of a GNU long name or long link member (NUL-terminated).
 *
 * @example
 * ```ts
 * parseLongName(new TextEncoder().encode("a/long/name\0")); // "a/long/name"
 * ```
 */
export function parseLongName(data: Uint8Array): string {
  const end = data.indexOf(0);
  return decoder.decode(end < 0 ? data : data.subarray(0, end));
}

/** Largest value of an octal field of `width` bytes (digits plus a NUL). */
function octalMax(width: number): number {
  return 8 ** (width - 1) - 1;
}

function fits(value: number, width: number): boolean {
  return value >= 0 && value <= octalMax(width);
}

function writeText(block: Uint8Array, offset: number, width: number, value: string): void {
  block.set(encoder.encode(value).subarray(0, width), offset);
}

function writeOctal(block: Uint8Array, offset: number, width: number, value: number): void {
  writeText(
    block,
    offset,
    width,
    (fits(value, width) ? value : 0).toString(8).padStart(width - 1, "0"),
  );
}

function ustarBlock(header: TarHeader): Uint8Array {
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
  writeText(block, 265, 32, header.uname ?? "");
  writeText(block, 297, 32, header.gname ?? "");
  writeOctal(block, 329, 8, header.devmajor);
  writeOctal(block, 337, 8, header.devminor);
  const sum = block.reduce((total, byte) => total + byte, 0);
  writeText(block, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

/** One PAX record, `"<len> <key>=<value>\n"`, where len counts the whole record. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const size = encoder.encode(body).length;
  let length = size + String(size).length;
  if (String(length).length !== String(size).length) length = size + String(length).length;
  return `${length}${body}`;
}

/**
 * The header blocks of one member: a PAX extended header carrying the `pax` records and
 * any value ustar cannot hold, then the ustar block (where numbers that do not fit are 0).
 *
 * @example
 * ```ts
 * const blocks = encodeHeader({
 *   name: "etc/hosts", type: TYPEFLAG.file, mode: 0o644, uid: 0, gid: 0, size: 12,
 *   mtime: 0, linkname: "", devmajor: 0, devminor: 0,
 * });
 * ```
 */
export function encodeHeader(header: TarHeader, pax: Record<string, string> = {}): Uint8Array {
  const records: Record<string, string> = { ...pax };
  if (encoder.encode(header.name).length > 100) records.path = header.name;
  if (encoder.encode(header.linkname).length > 100) records.linkpath = header.linkname;
  for (const [key, width] of [["size", 12], ["uid", 8], ["gid", 8], ["mtime", 12]] as const) {
    if (!fits(header[key], width)) records[key] = String(header[key]);
  }
  if (encoder.encode(header.uname ?? "").length > 32) records.uname = header.uname!;
  if (encoder.encode(header.gname ?? "").length > 32) records.gname = header.gname!;
  const main = ustarBlock(header);
  const entries = Object.entries(records);
  if (entries.length === 0) return main;
  const data = encoder.encode(entries.map(([key, value]) => paxRecord(key, value)).join(""));
  const extended = ustarBlock({
    ...header,
    name: `PaxHeaders/${header.name.replace(/\/$/, "").split("/").pop()!.slice(0, 80)}`,
    type: TYPEFLAG.pax,
    size: data.length,
    linkname: "",
  });
  const out = new Uint8Array(BLOCK + padded(data.length) + BLOCK);
  out.set(extended, 0);
  out.set(data, BLOCK);
  out.set(main, out.length - BLOCK);
  return out;
}
