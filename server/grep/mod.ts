/**
 * Image grep for the local backend (`GET /v1/inspect/{uuid}/grep`): ripgrep-like search of
 * an image's files without a sandbox, answered in the shape of `rg --json` lines.
 *
 * The behaviour is that of `rg --json --hidden --no-ignore --sort path` over the image root
 * (ripgrep 13 checked in `tests/server/grep_ripgrep.test.ts`), with these differences:
 *
 * - Patterns are JavaScript regular expressions (`v` flag, else `u`), rewritten so that
 *   Rust's `\w \d \s \b \B` are Unicode-aware, `\A \z` anchor the line, `(?P<name>` names a
 *   group and inline `(?i)`/`(?-i)` last to the end of their group (`m`, `s`, `u` are
 *   no-ops; `x`, `U`, `R`, `-u` are refused). Rust-only syntax such as `[[:alpha:]]`,
 *   `\pL`, `\x{..}` or a range as a set operand (`[a-z&&[^aeiou]]`, write
 *   `[[a-z]&&[^aeiou]]`) is refused or read the JavaScript way; JavaScript-only syntax
 *   (look-around, back-references) is accepted. JavaScript backtracks: a pattern that never
 *   finishes is stopped at the time budget (the search runs in a child process).
 * - Bytes that are not UTF-8 are searched as U+FFFD, which `.`, negated classes, `\W` and
 *   `\S` match (Rust's never match such bytes); `line_text` and submatch texts show U+FFFD,
 *   `line_bytes` has the exact bytes.
 * - After an empty match the search moves one character on (ripgrep 13 moves one byte and
 *   reports empty matches inside multi-byte characters). ripgrep 13 quirks are not copied:
 *   its inline flags leak from one pattern into the next, and after a first submatch it
 *   judges `^` and `\b` as if the line started there.
 * - Hidden files are searched and no ignore files are read. Paths named in `path` are
 *   resolved in the image: results carry canonical paths (`path=/lib` where `/lib` links to
 *   `usr/lib` gives `/usr/lib/...`). Files named in `path` follow the binary rule of files
 *   found by the walk (the search of a file ends at the 64 KiB read holding its first NUL
 *   byte), where ripgrep has a separate mode for them. UTF-16 files are not transcoded.
 * - `max_total` (ripgrep has none) caps the `match` entries; time, bytes read, result size
 *   and line length budgets also end a search: both set `truncated`.
 *
 * @example
 * ```ts
 * import { grepImage, parseGrepQuery } from "./server/grep/mod.ts";
 *
 * const layers = image.layers.map((id) => layerStore.path(id));
 * const result = await grepImage(layers, parseGrepQuery({ pattern: ["root"], path: ["/etc"] }));
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./glob.ts";
export * from "./glob_filter.ts";
export * from "./grep.ts";
export * from "./matcher.ts";
export * from "./request.ts";
export * from "./search.ts";
export * from "./smart_case.ts";
