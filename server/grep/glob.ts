/**
 * Glob syntax as ripgrep's `globset` reads it with `literal_separator`: `?` and `*` never
 * match `/`; `**` matches across directories when it is a whole path component (leading,
 * trailing or between two slashes) and is `*` otherwise; `[a-z]`, `[!a]`/`[^a]` classes
 * (no escapes inside); `{a,b}` alternatives (not nested); `\` escapes the next character.
 */
import { GrepQueryError } from "./errors.ts";

type Token =
  | { kind: "literal"; char: string }
  | { kind: "any" }
  | { kind: "star" }
  | { kind: "recursivePrefix" }
  | { kind: "recursiveSuffix" }
  | { kind: "recursiveMiddle" }
  | { kind: "class"; negated: boolean; ranges: [string, string][] }
  | { kind: "alternates"; alternatives: Token[][] };

const SYNTAX = new Set([..."\\^$.*+?()[]{}|/"]);
const CLASS_SYNTAX = new Set([..."\\[]^-"]);

class GlobSyntaxError extends Error {}

class Parser {
  readonly #chars: string[];
  #at = 0;
  #prev: string | undefined;
  #cur: string | undefined;
  /** The top level, then one entry per alternative of an open `{...}`. */
  readonly #stack: Token[][] = [[]];

  constructor(glob: string) {
    this.#chars = [...glob];
  }

  parse(): Token[] {
    for (let c = this.#bump(); c !== undefined; c = this.#bump()) {
      if (c === "?") this.#push({ kind: "any" });
      else if (c === "*") this.#star();
      else if (c === "[") this.#class();
      else if (c === "{") {
        if (this.#stack.length > 1) {
          throw new GlobSyntaxError("nested alternate groups are not allowed");
        }
        this.#stack.push([]);
      } else if (c === "}") {
        const alternatives = this.#stack.splice(1).reverse();
        this.#push({ kind: "alternates", alternatives });
      } else if (c === "," && this.#stack.length > 1) this.#stack.push([]);
      else if (c === "\\") {
        const escaped = this.#bump();
        if (escaped === undefined) throw new GlobSyntaxError("dangling '\\'");
        this.#push({ kind: "literal", char: escaped });
      } else this.#push({ kind: "literal", char: c });
    }
    if (this.#stack.length > 1) {
      throw new GlobSyntaxError("unclosed alternate group; missing '}'");
    }
    return this.#stack[0];
  }

  #bump(): string | undefined {
    this.#prev = this.#cur;
    this.#cur = this.#chars[this.#at++];
    return this.#cur;
  }

  #peek(): string | undefined {
    return this.#chars[this.#at];
  }

  #tokens(): Token[] {
    return this.#stack[this.#stack.length - 1];
  }

  #push(token: Token): void {
    this.#tokens().push(token);
  }

  #twoStars(): void {
    this.#push({ kind: "star" });
    this.#push({ kind: "star" });
  }

  #star(): void {
    const prev = this.#prev;
    if (this.#peek() !== "*") {
      this.#push({ kind: "star" });
      return;
    }
    this.#bump();
    const inAlternates = this.#stack.length > 1;
    if (this.#tokens().length === 0) {
      if (this.#peek() !== undefined && this.#peek() !== "/") this.#twoStars();
      else {
        this.#push({ kind: "recursivePrefix" });
        this.#bump();
      }
      return;
    }
    if (prev !== "/" && (!inAlternates || (prev !== "," && prev !== "{"))) {
      this.#twoStars();
      return;
    }
    let suffix: boolean;
    const next = this.#peek();
    if (next === undefined || (inAlternates && (next === "," || next === "}"))) suffix = true;
    else if (next === "/") {
      this.#bump();
      suffix = false;
    } else {
      this.#twoStars();
      return;
    }
    // The `/` before `**` becomes part of the recursive token.
    const last = this.#tokens().pop();
    if (last?.kind === "recursivePrefix" || last?.kind === "recursiveSuffix") this.#push(last);
    else this.#push({ kind: suffix ? "recursiveSuffix" : "recursiveMiddle" });
  }

  #class(): void {
    const ranges: [string, string][] = [];
    const negated = this.#peek() === "!" || this.#peek() === "^";
    if (negated) this.#bump();
    let first = true;
    let inRange = false;
    const extend = (char: string) => {
      const range = ranges[ranges.length - 1];
      range[1] = char;
      if (range[1].codePointAt(0)! < range[0].codePointAt(0)!) {
        throw new GlobSyntaxError(`invalid range; '${range[0]}' > '${range[1]}'`);
      }
    };
    while (true) {
      const c = this.#bump();
      if (c === undefined) throw new GlobSyntaxError("unclosed character class; missing ']'");
      if (c === "]" && !first) break;
      if (c === "-" && !first) {
        if (inRange) extend("-");
        inRange = !inRange;
      } else {
        if (inRange) extend(c);
        else ranges.push([c, c]);
        inRange = false;
      }
      first = false;
    }
    if (inRange) ranges.push(["-", "-"]);
    this.#push({ kind: "class", negated, ranges });
  }
}

function escape(char: string, syntax: Set<string>): string {
  return syntax.has(char) ? `\\${char}` : char;
}

function toSource(tokens: Token[]): string {
  return tokens.map((token): string => {
    switch (token.kind) {
      case "literal":
        return escape(token.char, SYNTAX);
      case "any":
        return "[^/]";
      case "star":
        return "[^/]*";
      case "recursivePrefix":
        return "(?:/?|.*/)";
      case "recursiveSuffix":
        return "/.*";
      case "recursiveMiddle":
        return "(?:/|/.*/)";
      case "class": {
        const members = token.ranges.map(([from, to]) =>
          from === to
            ? escape(from, CLASS_SYNTAX)
            : `${escape(from, CLASS_SYNTAX)}-${escape(to, CLASS_SYNTAX)}`
        );
        return `[${token.negated ? "^" : ""}${members.join("")}]`;
      }
      case "alternates": {
        const parts = token.alternatives.map(toSource).filter((part) => part !== "");
        return parts.length === 0 ? "" : `(?:${parts.join("|")})`;
      }
    }
  }).join("");
}

/**
 * Compiles a glob to a regular expression matching whole paths (relative, `/`-separated).
 * Throws {@linkcode GrepQueryError} (parameter `glob`) when the glob does not parse.
 *
 * @example
 * ```ts
 * compileGlob("src/*.rs").test("src/main.rs"); // true
 * compileGlob("*.rs").test("src/main.rs"); // false: `*` stops at `/`
 * compileGlob("src/**").test("src/a/b"); // true
 * compileGlob("{a,b}.[ch]").test("b.h"); // true
 * ```
 */
export function compileGlob(glob: string): RegExp {
  let tokens: Token[];
  try {
    tokens = new Parser(glob).parse();
  } catch (error) {
    if (!(error instanceof GlobSyntaxError)) throw error;
    throw new GrepQueryError("glob", `glob ${JSON.stringify(glob)} is invalid: ${error.message}`);
  }
  const only = tokens.length === 1 ? tokens[0].kind : undefined;
  return new RegExp(`^${only === "recursivePrefix" ? ".*" : toSource(tokens)}$`, "su");
}
