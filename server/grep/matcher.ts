/**
 * Line matching with several regular expressions, the way ripgrep joins `-e` patterns: a
 * line matches when any pattern does, and matches are found leftmost-first as for the
 * alternation `p1|p2|...` (at the same start the earlier pattern wins).
 */
import { GrepQueryError } from "./errors.ts";
import type { CaseMode } from "./request.ts";
import { rustToJs } from "./_rust_compat.ts";
import { smartCaseInsensitive } from "./smart_case.ts";

/** A match in a line, as UTF-16 indices `[start, end)`. */
export type Span = [start: number, end: number];

/**
 * Compiles one pattern, rewritten for Rust's meanings (see `_rust_compat.ts`): with the `v`
 * flag (nested classes and `&&`/`--` set operations, as Rust's regex has), else with `u`
 * (which accepts unescaped `(`, `{`, `|`, ... in classes). `s` lets `.` match `\r` and
 * U+2028 as Rust's `.` does (a line never holds `\n`).
 */
function compile(pattern: string, insensitive: boolean): RegExp {
  const flags = `gs${insensitive ? "i" : ""}`;
  try {
    return new RegExp(rustToJs(pattern, true), `${flags}v`);
  } catch (error) {
    try {
      return new RegExp(rustToJs(pattern, false), `${flags}u`);
    } catch {
      const reason = (error as Error).message.replace(/^Invalid regular expression: .*: /s, "");
      throw new GrepQueryError(
        "pattern",
        `pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${reason}`,
      );
    }
  }
}

/**
 * Finds the lines that match any of a set of patterns, and the matches within them.
 *
 * @example
 * ```ts
 * const matcher = new Matcher(["b+", "a"], "sensitive");
 * matcher.test("xbb"); // true
 * matcher.spans("abba", true); // [[0, 1], [1, 3], [3, 4]]
 * ```
 */
export class Matcher {
  readonly #regexps: RegExp[];

  /**
   * Compiles `patterns` for `caseMode`; throws {@linkcode GrepQueryError} for a pattern
   * that is not a valid regular expression.
   */
  constructor(patterns: string[], caseMode: CaseMode) {
    const insensitive = caseMode === "insensitive" ||
      (caseMode === "smart" && smartCaseInsensitive(patterns));
    this.#regexps = patterns.map((pattern) => compile(pattern, insensitive));
  }

  /** Whether any pattern matches somewhere in `line` (without its line terminator). */
  test(line: string): boolean {
    return this.#regexps.some((regexp) => {
      regexp.lastIndex = 0;
      return regexp.test(line);
    });
  }

  /** The leftmost-first match at or after `from`, or `null`. */
  #find(line: string, from: number): Span | null {
    let best: Span | null = null;
    for (const regexp of this.#regexps) {
      regexp.lastIndex = from;
      const found = regexp.exec(line);
      if (found && (best === null || found.index < best[0])) {
        best = [found.index, found.index + found[0].length];
      }
    }
    return best;
  }

  /**
   * The successive matches in `line` (without its terminator) as ripgrep reports them: an
   * empty match right after a match is skipped, the search moves one character past an
   * empty match, and a line without a terminator (the file's last) reports no empty match
   * at its end.
   */
  spans(line: string, terminated: boolean): Span[] {
    const spans: Span[] = [];
    let from = 0;
    let lastEnd = -1;
    while (from <= line.length) {
      const span = this.#find(line, from);
      if (span === null || (!terminated && span[0] === line.length)) break;
      const [start, end] = span;
      if (start === end) {
        from = end + ((line.codePointAt(end) ?? 0) > 0xffff ? 2 : 1);
        if (end === lastEnd) continue;
      } else {
        from = end;
      }
      lastEnd = end;
      spans.push(span);
    }
    return spans;
  }
}
