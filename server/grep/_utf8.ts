/** UTF-8 helpers for turning string indices back into byte offsets. */

/** A line decoded byte by byte: each invalid byte became one U+FFFD. */
export interface LossyText {
  /** The text. */
  text: string;
  /** Byte offset of every UTF-16 index of `text`, and of its end. */
  offsets: number[];
}

/** Length of the valid UTF-8 sequence at `bytes[i]`, or 0 when it is not one. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  if (b < 0x80) return 1;
  let length: number;
  let low = 0x80;
  let high = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) length = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    length = 3;
    if (b === 0xe0) low = 0xa0;
    if (b === 0xed) high = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    length = 4;
    if (b === 0xf0) low = 0x90;
    if (b === 0xf4) high = 0x8f;
  } else return 0;
  if (i + length > bytes.length) return 0;
  if (bytes[i + 1] < low || bytes[i + 1] > high) return 0;
  for (let k = 2; k < length; k++) {
    if ((bytes[i + k] & 0xc0) !== 0x80) return 0;
  }
  return length;
}

/**
 * Decodes bytes that are not valid UTF-8, replacing each invalid byte by U+FFFD, and keeps
 * the byte offset of every UTF-16 index.
 */
export function decodeLossy(bytes: Uint8Array): LossyText {
  const parts: string[] = [];
  const offsets: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceLength(bytes, i);
    let char = "\uFFFD";
    if (length > 0) {
      let point = length === 1 ? bytes[i] : bytes[i] & (0x7f >> length);
      for (let k = 1; k < length; k++) point = (point << 6) | (bytes[i + k] & 0x3f);
      char = String.fromCodePoint(point);
    }
    parts.push(char);
    offsets.push(i);
    if (char.length === 2) offsets.push(i);
    i += Math.max(length, 1);
  }
  offsets.push(bytes.length);
  return { text: parts.join(""), offsets };
}

/** Bytes that `text.slice(from, to)` takes in UTF-8 (`text` being well formed). */
export function utf8Length(text: string, from: number, to: number): number {
  let bytes = 0;
  for (let i = from; i < to; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
