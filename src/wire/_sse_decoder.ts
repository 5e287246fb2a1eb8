// The incremental event-stream decoder behind SSEParser, parseSSE and the event readers.
//
// It decodes each chunk to text once (a streaming TextDecoder, so a character split across
// chunks decodes right) and scans the text with the engine's native `indexOf`, instead of
// walking bytes in JavaScript: on the event streams of a busy run this is what keeps typed
// decoding as fast as splitting the text and calling JSON.parse.
import { SSEStreamError } from "./errors.ts";

/** The largest frame accepted, in bytes. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;
const D = 100;
const E = 101;
const I = 105;

/** Receives one dispatched frame: its `event:` (`""` when absent), `data:` lines, `id:`, `retry:`. */
export type FrameHandler = (
  event: string,
  data: string,
  id: string | undefined,
  retry: number | undefined,
) => void;

/** The UTF-8 length of a string. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // Two more bytes for a BMP character past U+07FF, one for U+0080..U+07FF; a surrogate pair
    // is 4 bytes for its 2 code units.
    if (c >= 0x80) bytes += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return bytes;
}

/**
 * The parsing state machine: bytes in, frames out through the handler. It accepts LF, CRLF
 * and CR line endings (also split across chunks), joins multi-line `data:` with `\n`, skips
 * comments, and drops an unfinished frame at end of stream.
 */
export class FrameDecoder {
  readonly #onFrame: FrameHandler;
  #decoder = new TextDecoder();
  /** The unfinished line carried over from earlier chunks. */
  #pending = "";
  #afterCR = false;
  #frameBytes = 0;
  #data: string | undefined;
  #event = "";
  #id: string | undefined;
  #retry: number | undefined;

  constructor(onFrame: FrameHandler) {
    this.#onFrame = onFrame;
  }

  push(chunk: Uint8Array): void {
    const text = this.#decoder.decode(chunk, { stream: true });
    if (text.length === 0) return;
    // Whole-ASCII chunks (the usual case) measure their lines by length alone.
    const ascii = text.length === chunk.length;
    let pos = 0;
    if (this.#afterCR) {
      this.#afterCR = false;
      if (text.charCodeAt(0) === LF) pos = 1;
    }
    const hasCR = text.indexOf("\r", pos) !== -1;
    while (true) {
      let end: number;
      let next: number;
      if (hasCR) {
        end = pos;
        while (end < text.length) {
          const c = text.charCodeAt(end);
          if (c === LF || c === CR) break;
          end++;
        }
        if (end === text.length) break;
        next = end + 1;
        if (text.charCodeAt(end) === CR) {
          if (next === text.length) this.#afterCR = true;
          else if (text.charCodeAt(next) === LF) next++;
        }
      } else {
        end = text.indexOf("\n", pos);
        if (end === -1) break;
        next = end + 1;
      }
      this.#grow(ascii ? end - pos : utf8Length(text.slice(pos, end)));
      if (this.#pending !== "") {
        const line = this.#pending + text.slice(pos, end);
        this.#pending = "";
        this.#line(line, 0, line.length);
      } else {
        this.#line(text, pos, end);
      }
      pos = next;
    }
    if (pos < text.length) {
      const rest = text.slice(pos);
      this.#grow(ascii ? rest.length : utf8Length(rest));
      this.#pending += rest;
    }
  }

  #grow(bytes: number): void {
    this.#frameBytes += bytes;
    if (this.#frameBytes > MAX_FRAME_BYTES) {
      throw new SSEStreamError(`event stream frame exceeds ${MAX_FRAME_BYTES} bytes`);
    }
  }

  /** Handles the line `text[start..end)`, read in place. */
  #line(text: string, start: number, end: number): void {
    if (start === end) return this.#dispatch();
    const first = text.charCodeAt(start);
    if (first === COLON) return;
    // The fields of every frame, matched without slicing the line first.
    if (first === D && text.startsWith("data:", start)) {
      return this.#addData(
        text.slice(text.charCodeAt(start + 5) === SPACE ? start + 6 : start + 5, end),
      );
    }
    if (first === I && text.startsWith("id:", start)) {
      const id = text.slice(text.charCodeAt(start + 3) === SPACE ? start + 4 : start + 3, end);
      if (!id.includes("\0")) this.#id = id;
      return;
    }
    if (first === E && text.startsWith("event:", start)) {
      this.#event = text.slice(text.charCodeAt(start + 6) === SPACE ? start + 7 : start + 6, end);
      return;
    }
    const line = text.slice(start, end);
    let colon = line.indexOf(":");
    if (colon === -1) colon = line.length;
    const name = line.slice(0, colon);
    const value = line.slice(line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1);
    switch (name) {
      case "data":
        this.#addData(value);
        break;
      case "event":
        this.#event = value;
        break;
      case "id":
        if (!value.includes("\0")) this.#id = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.#retry = Number(value);
        break;
    }
  }

  #addData(value: string): void {
    this.#data = this.#data === undefined ? value : `${this.#data}\n${value}`;
  }

  #dispatch(): void {
    const data = this.#data;
    const event = this.#event;
    const id = this.#id;
    const retry = this.#retry;
    this.#frameBytes = 0;
    this.#data = undefined;
    this.#event = "";
    this.#id = undefined;
    this.#retry = undefined;
    if (data !== undefined) this.#onFrame(event, data, id, retry);
  }
}
