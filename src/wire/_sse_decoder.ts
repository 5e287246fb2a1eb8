// The incremental event-stream decoder behind SSEParser, parseSSE and the event readers.
import { SSEStreamError } from "./errors.ts";
import type { SSEMessage } from "./sse.ts";

/** The largest frame accepted, in bytes. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;

const field = (name: string) => Array.from(name, (c) => c.charCodeAt(0));
const DATA = field("data");
const EVENT = field("event");
const ID = field("id");
const RETRY = field("retry");

/** Whether the line's field name (the bytes before `colon`) is `name`. */
function isField(line: Uint8Array, colon: number, name: number[]): boolean {
  if (colon !== name.length) return false;
  for (let i = 0; i < colon; i++) if (line[i] !== name[i]) return false;
  return true;
}

/** The parsing state machine: bytes in, messages out through `emit`. */
export class FrameDecoder {
  #decoder = new TextDecoder();
  #pending: Uint8Array | undefined;
  #afterCR = false;
  #frameBytes = 0;
  #data: string[] = [];
  #event = "";
  #id: string | undefined;
  #retry: number | undefined;

  push(chunk: Uint8Array, emit: (message: SSEMessage) => void): void {
    let bytes = chunk;
    let start = 0;
    if (this.#afterCR && bytes.length > 0) {
      this.#afterCR = false;
      if (bytes[0] === LF) start = 1;
    }
    if (this.#pending !== undefined) {
      const joined = new Uint8Array(this.#pending.length + bytes.length - start);
      joined.set(this.#pending);
      joined.set(bytes.subarray(start), this.#pending.length);
      bytes = joined;
      start = 0;
      this.#pending = undefined;
    }
    const hasCR = bytes.indexOf(CR, start) !== -1;
    let lineStart = start;
    while (lineStart < bytes.length) {
      let end: number;
      if (hasCR) {
        end = lineStart;
        while (end < bytes.length && bytes[end] !== LF && bytes[end] !== CR) end++;
      } else {
        end = bytes.indexOf(LF, lineStart);
        if (end === -1) end = bytes.length;
      }
      if (end === bytes.length) break;
      this.#line(bytes.subarray(lineStart, end), emit);
      if (bytes[end] === CR) {
        if (end + 1 === bytes.length) {
          this.#afterCR = true;
        } else if (bytes[end + 1] === LF) {
          end++;
        }
      }
      lineStart = end + 1;
    }
    if (lineStart < bytes.length) {
      this.#pending = bytes.slice(lineStart);
      this.#grow(this.#pending.length);
    }
  }

  #grow(bytes: number): void {
    if (this.#frameBytes + bytes > MAX_FRAME_BYTES) {
      throw new SSEStreamError(`event stream frame exceeds ${MAX_FRAME_BYTES} bytes`);
    }
  }

  #line(line: Uint8Array, emit: (message: SSEMessage) => void): void {
    if (line.length === 0) {
      this.#dispatch(emit);
      return;
    }
    this.#grow(line.length);
    this.#frameBytes += line.length;
    if (line[0] === COLON) return;
    let colon = line.indexOf(COLON);
    if (colon === -1) colon = line.length;
    let valueStart = colon + 1;
    if (line[valueStart] === SPACE) valueStart++;
    const value = () =>
      valueStart < line.length ? this.#decoder.decode(line.subarray(valueStart)) : "";
    if (isField(line, colon, DATA)) {
      this.#data.push(value());
    } else if (isField(line, colon, EVENT)) {
      this.#event = value();
    } else if (isField(line, colon, ID)) {
      const id = value();
      if (!id.includes("\0")) this.#id = id;
    } else if (isField(line, colon, RETRY)) {
      const retry = value();
      if (/^\d+$/.test(retry)) this.#retry = Number(retry);
    }
  }

  #dispatch(emit: (message: SSEMessage) => void): void {
    if (this.#data.length > 0) {
      const message: SSEMessage = { event: this.#event || "message", data: this.#data.join("\n") };
      if (this.#id !== undefined) message.id = this.#id;
      if (this.#retry !== undefined) message.retry = this.#retry;
      emit(message);
    }
    this.#frameBytes = 0;
    this.#data = [];
    this.#event = "";
    this.#id = undefined;
    this.#retry = undefined;
  }
}
