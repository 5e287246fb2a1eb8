/**
 * A small INI parser with the semantics of Python's `configparser` that
 * `auth.ini` files are written with.
 *
 * @module
 */

/**
 * Sections of an INI file: section name → key → value. Keys are lowercased;
 * values keep their case.
 *
 * @example
 * ```ts
 * import type { IniSections } from "@contree/sdk/local";
 *
 * const sections: IniSections = { DEFAULT: { profile: "work" } };
 * ```
 */
export type IniSections = Record<string, Record<string, string>>;

/**
 * Parses INI text: `[section]` headers, `key = value` or `key: value` lines,
 * full-line comments starting with `#` or `;`, and indented continuation lines
 * (joined with `\n`). Keys before any section header go to `DEFAULT`. Throws a
 * `SyntaxError` naming the line for anything else.
 *
 * @example
 * ```ts
 * import { parseIni } from "@contree/sdk/local";
 *
 * const ini = parseIni("[DEFAULT]\nprofile = work\n\n[profile:work]\ntoken = abc\n");
 * console.log(ini["profile:work"].token); // "abc"
 * ```
 */
export function parseIni(text: string): IniSections {
  const sections: IniSections = {};
  let section = "DEFAULT";
  let lastKey: string | undefined;
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/);
  lines.forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) {
      if (trimmed === "") lastKey = undefined;
      return;
    }
    if (/^\s/.test(line) && lastKey !== undefined) {
      const values = sections[section];
      values[lastKey] = values[lastKey] === "" ? trimmed : `${values[lastKey]}\n${trimmed}`;
      return;
    }
    const header = /^\[(.+)\]$/.exec(trimmed);
    if (header) {
      section = header[1].trim();
      sections[section] ??= {};
      lastKey = undefined;
      return;
    }
    const separator = trimmed.search(/[=:]/);
    if (separator <= 0) throw new SyntaxError(`invalid INI line ${index + 1}: ${trimmed}`);
    lastKey = trimmed.slice(0, separator).trim().toLowerCase();
    (sections[section] ??= {})[lastKey] = trimmed.slice(separator + 1).trim();
  });
  return sections;
}
