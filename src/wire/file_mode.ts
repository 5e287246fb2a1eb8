/**
 * File modes: the octal strings of `FileSpec.mode` (`"0644"`) and the numbers
 * of `FileItem.mode` (full `st_mode`).
 *
 * @module
 */

/**
 * Formats the permission bits of a mode as four octal digits; file-type bits of
 * an `st_mode` are dropped.
 *
 * @example
 * ```ts
 * import { formatFileMode } from "@contree/sdk";
 *
 * console.log(formatFileMode(0o644)); // "0644"
 * console.log(formatFileMode(33188)); // "0644" (st_mode 0o100644)
 * ```
 */
export function formatFileMode(mode: number): string {
  if (!Number.isInteger(mode) || mode < 0) throw new RangeError(`invalid file mode: ${mode}`);
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

/**
 * Parses an octal mode string (`"0644"`, `"644"` or `"0o644"`); numbers pass
 * through. Throws a `RangeError` for anything else.
 *
 * @example
 * ```ts
 * import { parseFileMode } from "@contree/sdk";
 *
 * console.log(parseFileMode("0755")); // 493
 * ```
 */
export function parseFileMode(mode: string | number): number {
  if (typeof mode === "number") {
    if (Number.isInteger(mode) && mode >= 0 && mode <= 0o7777) return mode;
  } else {
    const digits = mode.trim().replace(/^0o/i, "");
    if (/^[0-7]{1,4}$/.test(digits)) return parseInt(digits, 8);
  }
  throw new RangeError(`invalid file mode: ${JSON.stringify(mode)}`);
}
