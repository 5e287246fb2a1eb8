/**
 * The `glob` parameter as ripgrep's `-g` overrides: gitignore-style lines where a plain
 * glob selects files and `!glob` excludes files or whole directories.
 */
import { compileGlob } from "./glob.ts";

interface Rule {
  regexp: RegExp;
  /** `!glob`: excludes what it matches. */
  excludes: boolean;
  /** `glob/`: matches directories only. */
  dirOnly: boolean;
}

/** Parses one line as the `ignore` crate does, or `null` for a blank line or a comment. */
function parseRule(line: string): Rule | null {
  if (line.startsWith("#")) return null;
  if (!line.endsWith("\\ ")) line = line.trimEnd();
  if (line === "") return null;
  let excludes = false;
  let anchored = false;
  if (line.startsWith("\\!") || line.startsWith("\\#")) {
    line = line.slice(1);
  } else {
    if (line.startsWith("!")) {
      excludes = true;
      line = line.slice(1);
    }
    if (line.startsWith("/")) {
      anchored = true;
      line = line.slice(1);
    }
  }
  const dirOnly = line.endsWith("/");
  if (dirOnly) line = line.slice(0, -1);
  let glob = line;
  // Without a slash a glob matches a name at any depth.
  if (!anchored && !line.includes("/") && !glob.startsWith("**/") && glob !== "**") {
    glob = `**/${glob}`;
  }
  // `dir/**` matches what is inside the directory, not the directory itself.
  if (glob.endsWith("/**")) glob = `${glob}/*`;
  return { regexp: compileGlob(glob), excludes, dirOnly };
}

/**
 * Decides which entries a directory walk keeps. Paths are relative to the image root (no
 * leading slash). The last glob that matches an entry decides; with no match a directory is
 * entered, and a file is kept only when no plain (selecting) glob was given. Paths named
 * explicitly in the request are not filtered.
 *
 * @example
 * ```ts
 * const filter = new GlobFilter(["*.conf", "!etc/ssl/"]);
 * filter.skips("etc/ssl", true); // true: not entered
 * filter.skips("etc/nginx/nginx.conf", false); // false
 * filter.skips("etc/hosts", false); // true: no plain glob matches
 * ```
 */
export class GlobFilter {
  readonly #rules: Rule[];
  readonly #selects: boolean;

  /** Compiles the globs; throws `GrepQueryError` for one that does not parse. */
  constructor(globs: string[]) {
    this.#rules = globs.map(parseRule).filter((rule) => rule !== null);
    this.#selects = this.#rules.some((rule) => !rule.excludes);
  }

  /** Whether the walk skips the entry at `path` (a directory with its whole subtree). */
  skips(path: string, isDir: boolean): boolean {
    for (let i = this.#rules.length - 1; i >= 0; i--) {
      const rule = this.#rules[i];
      if ((!rule.dirOnly || isDir) && rule.regexp.test(path)) return rule.excludes;
    }
    return !isDir && this.#selects;
  }
}
