/**
 * The grep engine: walks an image's merged view (whiteouts, opaque directories and in-image
 * symlink resolution come from `LayeredView`) and searches its regular files line by line
 * with ripgrep's rules, within time and size budgets.
 */
import { PathNotUsableError } from "../images/errors.ts";
import type { LayeredView, Node } from "../images/layered_view.ts";
import { GlobFilter } from "./glob_filter.ts";
import { LineBuffer } from "./_line_buffer.ts";
import { Matcher } from "./matcher.ts";
import type { GrepRequest } from "./request.ts";
import type { GrepMatch, GrepResult, GrepSubmatch } from "../../src/wire/mod.ts";
import { decodeLossy, utf8Length } from "./_utf8.ts";

/** Budgets that bound one grep; reaching one ends the search with `truncated: true`. */
export interface GrepLimits {
  /** File bytes read over the whole search. */
  maxScanBytes: number;
  /** Bytes of the lines put in the result. */
  maxResultBytes: number;
  /**
   * Largest line buffer: a file with a longer line is searched only up to that line, and
   * the result is marked truncated.
   */
  maxLineBytes: number;
  /** Wall-clock time, in milliseconds. */
  timeoutMs: number;
}

/**
 * The budgets used when none are given: 1 GiB read, 16 MiB of result lines, lines up to
 * about 16 MiB, 30 seconds.
 *
 * @example
 * ```ts
 * await grepImage(layers, request, { limits: { ...DEFAULT_GREP_LIMITS, timeoutMs: 5000 } });
 * ```
 */
export const DEFAULT_GREP_LIMITS: Readonly<GrepLimits> = Object.freeze({
  maxScanBytes: 1 << 30,
  maxResultBytes: 16 << 20,
  maxLineBytes: 16 << 20,
  timeoutMs: 30_000,
});

/** Options of {@linkcode searchImage}. */
export interface SearchOptions {
  /** Budgets (default {@linkcode DEFAULT_GREP_LIMITS}). */
  limits?: GrepLimits;
  /** Called after each file searched with every entry found so far. */
  onProgress?: (matches: readonly GrepMatch[]) => void;
}

/** A line of the file being searched. */
interface Line {
  number: number;
  /** File offset of its first byte. */
  offset: number;
  /** Its bytes, with the terminator. */
  bytes: Uint8Array;
  /** Its text, without the terminator. */
  text: string;
  terminated: boolean;
  /** Every UTF-16 index of `text` is one byte (ASCII, or invalid bytes each made U+FFFD). */
  aligned: boolean;
  /** Byte offset of every UTF-16 index of `text` when it was decoded lossily. */
  offsets?: number[];
}

/** Where the current file's search stands. */
interface FileState {
  path: string;
  matches: number;
  /** After-context lines still to show. */
  afterLeft: number;
  /** Lines since the last one shown (the before-context candidates). */
  pending: Line[];
}

const DECODER = new TextDecoder();

/** Byte offsets within `line` of increasing UTF-16 indices. */
function byteOffsets(line: Line, indices: number[]): number[] {
  if (line.aligned) return indices;
  const offsets = line.offsets;
  if (offsets) return indices.map((index) => offsets[index]);
  let index = 0;
  let byte = 0;
  return indices.map((next) => {
    byte += utf8Length(line.text, index, next);
    index = next;
    return byte;
  });
}

class Search {
  readonly matches: GrepMatch[] = [];
  truncated = false;
  done = false;
  readonly #view: LayeredView;
  readonly #request: GrepRequest;
  readonly #matcher: Matcher;
  readonly #filter: GlobFilter;
  readonly #limits: GrepLimits;
  readonly #onProgress?: (matches: readonly GrepMatch[]) => void;
  readonly #deadline: number;
  readonly #maxCount: number;
  readonly #maxTotal: number;
  #total = 0;
  #scanned = 0;
  #resultBytes = 0;

  constructor(view: LayeredView, request: GrepRequest, options: SearchOptions) {
    this.#view = view;
    this.#request = request;
    this.#matcher = new Matcher(request.patterns, request.caseMode);
    this.#filter = new GlobFilter(request.globs);
    this.#limits = options.limits ?? DEFAULT_GREP_LIMITS;
    this.#onProgress = options.onProgress;
    this.#deadline = Date.now() + this.#limits.timeoutMs;
    this.#maxCount = request.maxCount ?? Infinity;
    this.#maxTotal = request.maxTotal ?? Infinity;
  }

  async root(node: Node): Promise<void> {
    if (node.info.isDirectory) await this.#walk(node);
    else await this.#file(node);
  }

  /** Ends the search (truncated) past the deadline. */
  #checkTime(): void {
    if (Date.now() >= this.#deadline) this.#cut();
  }

  #cut(): void {
    this.truncated = true;
    this.done = true;
  }

  /** Searches a directory's regular files and subdirectories; symlinks are not followed. */
  async #walk(dir: Node): Promise<void> {
    for (const child of await this.#view.children(dir)) {
      this.#checkTime();
      if (this.done) return;
      const { isDirectory, isFile } = child.info;
      if (!isDirectory && !isFile) continue;
      if (this.#filter.skips(child.path.slice(1), isDirectory)) continue;
      if (isDirectory) await this.#walk(child);
      else await this.#file(child);
    }
  }

  async #file(node: Node): Promise<void> {
    if (this.#maxCount === 0) return;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(node.host);
    } catch (error) {
      // As ripgrep, a file that cannot be read is left out.
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied) {
        return;
      }
      throw error;
    }
    try {
      await this.#lines(file, { path: node.path, matches: 0, afterLeft: 0, pending: [] });
    } finally {
      file.close();
    }
    this.#onProgress?.(this.matches);
  }

  async #lines(file: Deno.FsFile, state: FileState): Promise<void> {
    const reader = new LineBuffer(file, this.#limits.maxLineBytes);
    let number = 1;
    for (let run = await reader.next(); run !== null; run = await reader.next()) {
      this.#checkTime();
      if (this.#scanned + reader.bytesRead > this.#limits.maxScanBytes) this.#cut();
      if (this.done) break;
      const { bytes, offset } = run;
      const text = DECODER.decode(bytes);
      const aligned = text.length === bytes.length;
      let at = 0;
      let textAt = 0;
      while (at < bytes.length) {
        const newline = bytes.indexOf(10, at);
        const terminated = newline >= 0;
        const end = terminated ? newline : bytes.length;
        const textEnd = aligned ? end : terminated ? text.indexOf("\n", textAt) : text.length;
        const line: Line = {
          number: number++,
          offset: offset + at,
          bytes: bytes.subarray(at, terminated ? end + 1 : end),
          text: text.slice(textAt, textEnd),
          terminated,
          aligned,
        };
        if (!aligned && line.text.includes("\uFFFD")) {
          const lossy = decodeLossy(bytes.subarray(at, end));
          line.text = lossy.text;
          line.offsets = lossy.offsets;
        }
        if (!this.#line(state, line)) {
          this.#scanned += reader.bytesRead;
          return;
        }
        at = end + 1;
        textAt = textEnd + 1;
      }
      // Before-context candidates outlive the buffer they point into.
      state.pending = state.pending.slice(-this.#request.before)
        .map((line) => ({ ...line, bytes: line.bytes.slice() }));
    }
    this.#scanned += reader.bytesRead;
    // The rest of a file past an over-long line is not searched: the result may miss lines.
    if (reader.stopped === "long line") this.truncated = true;
  }

  /**
   * Handles one line; `false` ends the file. After a file's `max_count`-th match its
   * after-context is still shown, matching lines in it included (as ripgrep does). Once
   * `max_total` matches are in, only their after-context is added, and the next match
   * found anywhere marks the result truncated.
   */
  #line(state: FileState, line: Line): boolean {
    const isMatch = this.#matcher.test(line.text);
    const fileDone = () => state.matches >= this.#maxCount && state.afterLeft === 0;
    if (this.#total >= this.#maxTotal) {
      if (isMatch) {
        this.#cut();
        return false;
      }
      if (state.afterLeft > 0) {
        state.afterLeft--;
        this.#emit(state, line, false);
      }
      return !fileDone() && !this.done;
    }
    if (state.matches >= this.#maxCount) {
      state.afterLeft--;
      this.#emit(state, line, isMatch);
      return state.afterLeft > 0 && !this.done;
    }
    if (isMatch) {
      for (const pending of state.pending.slice(-this.#request.before)) {
        this.#emit(state, pending, false);
      }
      state.pending = [];
      this.#emit(state, line, true);
      state.afterLeft = this.#request.after;
      return !fileDone() && !this.done;
    }
    if (state.afterLeft > 0) {
      state.afterLeft--;
      this.#emit(state, line, false);
      return !this.done;
    }
    if (this.#request.before > 0) {
      state.pending.push(line);
      if (state.pending.length > 2 * this.#request.before) {
        state.pending = state.pending.slice(-this.#request.before);
      }
    }
    return true;
  }

  #emit(state: FileState, line: Line, isMatch: boolean): void {
    if (this.done) return;
    this.#resultBytes += line.bytes.length;
    if (this.#resultBytes > this.#limits.maxResultBytes) {
      this.#cut();
      return;
    }
    let submatches: GrepSubmatch[] = [];
    if (isMatch) {
      state.matches++;
      this.#total++;
      const spans = this.#matcher.spans(line.text, line.terminated);
      const offsets = byteOffsets(line, spans.flat());
      submatches = spans.map(([start, end], i) => ({
        text: line.text.slice(start, end),
        start: offsets[2 * i],
        end: offsets[2 * i + 1],
      }));
    }
    this.matches.push({
      path: state.path,
      line_number: line.number,
      absolute_offset: line.offset,
      line_text: line.terminated ? `${line.text}\n` : line.text,
      line_bytes: line.bytes.toBase64(),
      submatches,
      type: isMatch ? "match" : "context",
    });
  }
}

/**
 * Resolves the paths of a request inside the image (a final symlink is followed there).
 * Throws `PathNotFoundError`, or `PathNotUsableError` for a path that is neither a regular
 * file nor a directory (or that runs through a non-directory).
 *
 * @example
 * ```ts
 * const [etc] = await resolveRoots(view, ["/etc"]);
 * ```
 */
export async function resolveRoots(view: LayeredView, paths: string[]): Promise<Node[]> {
  const roots: Node[] = [];
  for (const path of paths) {
    const node = await view.resolve(path, true);
    if (!node.info.isDirectory && !node.info.isFile) {
      throw new PathNotUsableError(path, "not a regular file or a directory");
    }
    roots.push(node);
  }
  return roots;
}

/**
 * Searches an image's files in this thread for lines matching `request.patterns`, as
 * `rg --json --hidden --no-ignore --sort path` would over the image's root: directories are
 * walked in name order without following symlinks, files with a NUL byte early on are
 * skipped as binary, `request.globs` filter what the walk finds (a path named in
 * `request.paths` is always searched; a symlink there is followed inside the image).
 * Throws `GrepQueryError` for a bad pattern or glob, and what {@linkcode resolveRoots}
 * throws. A pathological regular expression can hold the thread: serve requests with
 * `grepImage`, which runs this in a worker.
 *
 * @example
 * ```ts
 * const view = new LayeredView(image.layers.map((id) => layerStore.path(id)));
 * const result = await searchImage(view, parseGrepQuery({ pattern: ["root"], path: ["/etc"] }));
 * for (const match of result.matches) console.log(match.path, match.line_number);
 * ```
 */
export async function searchImage(
  view: LayeredView,
  request: GrepRequest,
  options: SearchOptions = {},
): Promise<GrepResult> {
  const search = new Search(view, request, options);
  for (const root of await resolveRoots(view, request.paths)) {
    if (search.done) break;
    await search.root(root);
  }
  return {
    path: request.paths[0],
    patterns: request.patterns,
    matches: search.matches,
    truncated: search.truncated,
  };
}
