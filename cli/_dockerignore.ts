// `.dockerignore` as Docker reads it (moby/patternmatcher): one pattern a line, `#` comments,
// `!` re-includes, paths relative to the build context, the last matching rule wins, and a rule
// that matches a directory matches everything under it. Written out rather than taken from a
// glob library because Docker's patterns are not theirs: no braces or extglobs, `*` and `?`
// never cross `/`, `**` spans any number of directories, `dir/**` leaves `dir` itself, and a
// pattern is anchored at the context root (`*.log` is only the top level's).

interface Rule {
  pattern: RegExp;
  include: boolean;
}

/** Characters that are literal in a pattern but special in a RegExp. */
const LITERAL = new Set([..."+.()|{}$^"]);

function compile(pattern: string): RegExp {
  let source = "^";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "*" && pattern[i + 1] === "*") {
      i++;
      if (pattern[i + 1] === "/") i++;
      source += i === pattern.length - 1 ? ".*" : "(.*/)?";
    } else if (ch === "*") source += "[^/]*";
    else if (ch === "?") source += "[^/]";
    else if (ch === "\\") source += i + 1 < pattern.length ? `\\${pattern[++i]}` : "\\\\";
    else if (ch === "[" && pattern[i + 1] === "!") {
      source += "[^";
      i++;
    } else if (LITERAL.has(ch)) source += `\\${ch}`;
    else source += ch;
  }
  return new RegExp(`${source}$`);
}

/** A pattern as Docker cleans it: no `.`, `..` or empty segments, no slash at either end. */
function clean(pattern: string): string {
  const parts: string[] = [];
  for (const part of pattern.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && parts.length > 0 && parts.at(-1) !== "..") parts.pop();
    else parts.push(part);
  }
  return parts.join("/");
}

/** The rules of a `.dockerignore`. */
export interface Dockerignore {
  /** Whether a path (relative to the build context, `/` between names) is left out. */
  ignores(path: string): boolean;
  /**
   * Whether some rule re-includes paths (`!`): a left-out directory must then still be walked,
   * for what it holds may be taken back in.
   */
  readonly reincludes: boolean;
}

/** The rules of a `.dockerignore` file's text. */
export function dockerignore(text: string): Dockerignore {
  const rules: Rule[] = [];
  for (const line of text.split(/\r?\n/)) {
    let pattern = line.trim();
    if (pattern === "" || pattern.startsWith("#")) continue;
    const include = pattern.startsWith("!");
    if (include) pattern = pattern.slice(1).trim();
    pattern = clean(pattern);
    if (pattern === "") continue;
    rules.push({ pattern: compile(pattern), include });
  }
  return {
    reincludes: rules.some((rule) => rule.include),
    ignores(path) {
      const names = path.split("/");
      const parents = names.slice(0, -1).map((_, i) => names.slice(0, i + 1).join("/"));
      let ignored = false;
      for (const rule of rules) {
        // Only a rule that would change the answer is tried.
        if (rule.include !== ignored) continue;
        if (rule.pattern.test(path) || parents.some((parent) => rule.pattern.test(parent))) {
          ignored = !rule.include;
        }
      }
      return ignored;
    },
  };
}
