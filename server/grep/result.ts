/** The wire's `GrepResult`, `GrepMatch` and `GrepSubmatch` (field names from `rg --json`). */

/** A matched part of a line. */
export interface GrepSubmatch {
  /** The matched text. */
  text: string;
  /** Byte offset of the start within the line. */
  start: number;
  /** Byte offset of the end within the line. */
  end: number;
}

/** A matching line, or a context line around one. */
export interface GrepMatch {
  /** Image path of the file, e.g. `/etc/passwd`. */
  path: string;
  /** Line number, from 1. */
  line_number: number;
  /** Byte offset of the line's start in the file. */
  absolute_offset: number;
  /**
   * The line with its `\n` (none on a file's last line without one); each byte that is not
   * UTF-8 is shown as U+FFFD.
   */
  line_text: string;
  /** The line's exact bytes (with its `\n`), base64. */
  line_bytes: string;
  /** The matches in the line, in order; `[]` for context lines. */
  submatches: GrepSubmatch[];
  /** `match` or `context`. */
  type: "match" | "context";
}

/**
 * The answer of `GET /v1/inspect/{uuid}/grep`.
 *
 * @example
 * ```ts
 * const result: GrepResult = { path: "/etc", patterns: ["root"], matches: [], truncated: false };
 * ```
 */
export interface GrepResult {
  /** The (first) path searched, as requested. */
  path: string;
  /** The patterns, as requested. */
  patterns: string[];
  /** Matching and context lines, file by file in path order, lines in file order. */
  matches: GrepMatch[];
  /** Whether results were cut: by `max_total`, or by the server's time and size budgets. */
  truncated: boolean;
}
