/**
 * Rewrites what Rust's regex (ripgrep's engine) means differently from JavaScript: `\w`,
 * `\d`, `\s` and `\b` are Unicode-aware there (ASCII-only here), `\A`/`\z` anchor the
 * haystack (a line), `(?P<name>` names a group, and inline flags `(?i)`/`(?-i)` last to the
 * end of the enclosing group (JavaScript only has the scoped `(?i:...)`).
 */
import { tokenize } from "./_regex_syntax.ts";

/** Rust's Unicode word characters (UTS #18 `\w`). */
const WORD = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}";
/** Perl classes as class members (usable inside `[...]`). */
const MEMBERS: Record<string, string> = {
  d: "\\p{Nd}",
  D: "\\P{Nd}",
  s: "\\p{White_Space}",
  S: "\\P{White_Space}",
  w: WORD,
};
const WORD_CLASS = `[${WORD}]`;
const ASSERTIONS: Record<string, string> = {
  b: `(?:(?<=${WORD_CLASS})(?!${WORD_CLASS})|(?<!${WORD_CLASS})(?=${WORD_CLASS}))`,
  B: `(?:(?<=${WORD_CLASS})(?=${WORD_CLASS})|(?<!${WORD_CLASS})(?!${WORD_CLASS}))`,
  A: "^",
  z: "$",
};

/**
 * The JavaScript modifier (`i` or `-i`) for Rust inline flags, or `undefined` when they do
 * not change case; `m`, `s` and `u` are what a line search does anyway. Throws a
 * `SyntaxError` for flags that cannot be honoured (`x`, `U`, `R`, `-u`).
 */
function modifier(flags: string): string | undefined {
  const [on, off = ""] = flags.split("-");
  for (const flag of on + off) {
    if (!"imsu".includes(flag) || off.includes("u")) {
      throw new SyntaxError(`inline flags (?${flags}) are not supported`);
    }
  }
  if (on.includes("i")) return "i";
  if (off.includes("i")) return "-i";
  return undefined;
}

/**
 * The JavaScript source for a Rust-flavoured `pattern`, for the `v` flag (`unicodeSets`)
 * or the `u` flag. With `u`, `\W` inside a class stays ASCII (it cannot be complemented
 * there). Throws a `SyntaxError` for unsupported inline flags.
 */
export function rustToJs(pattern: string, unicodeSets: boolean): string {
  const out: string[] = [];
  /** Per open group, the modifier group opened for inline flags, if any. */
  const groups: (string | undefined)[] = [undefined];
  const close = () => {
    if (groups[groups.length - 1] !== undefined) out.push(")");
  };
  for (const token of tokenize(pattern)) {
    switch (token.kind) {
      case "perlClass": {
        if (token.letter === "W") {
          out.push(token.inClass && !unicodeSets ? token.text : `[^${WORD}]`);
        } else {
          const member = MEMBERS[token.letter];
          out.push(token.inClass || token.letter !== "w" ? member : WORD_CLASS);
        }
        break;
      }
      case "assertion":
        out.push(ASSERTIONS[token.letter]);
        break;
      case "namedGroup":
        out.push(`(?<${token.name}>`);
        groups.push(undefined);
        break;
      case "groupOpen":
        out.push(token.text);
        groups.push(undefined);
        break;
      case "groupClose":
        close();
        out.push(")");
        if (groups.length > 1) groups.pop();
        break;
      case "alternation": {
        const open = groups[groups.length - 1];
        out.push(open === undefined ? "|" : `)|(?${open}:`);
        break;
      }
      case "flags": {
        const open = modifier(token.flags);
        if (open === undefined) break;
        close();
        groups[groups.length - 1] = open;
        out.push(`(?${open}:`);
        break;
      }
      default:
        out.push(token.text);
    }
  }
  close();
  return out.join("");
}
