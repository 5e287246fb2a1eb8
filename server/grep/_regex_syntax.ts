/**
 * A tokenizer for JavaScript regular expressions (`u`/`v` flags) that tells literal
 * characters from syntax, enough for smart case and for rewriting Rust-regex escapes.
 */

/** A piece of a pattern; `text` is its exact source. */
export type RegexToken =
  /** A character matched as itself (`a`, `\.`, `\x41`, a class member). */
  | { kind: "literal"; text: string; char: string }
  /** `\d \D \w \W \s \S`, in or out of a character class. */
  | { kind: "perlClass"; text: string; letter: string; inClass: boolean }
  /** `\b \B \A \z` outside classes. */
  | { kind: "assertion"; text: string; letter: string }
  /** `(?<name>` or Rust's `(?P<name>`. */
  | { kind: "namedGroup"; text: string; name: string }
  /** Any other group opening: `(`, `(?:`, `(?=`, `(?<!`, `(?i:`, ... */
  | { kind: "groupOpen"; text: string }
  /** `)`. */
  | { kind: "groupClose"; text: string }
  /** `|`. */
  | { kind: "alternation"; text: string }
  /** Rust's inline flags, `(?i)` or `(?-i)`: they last to the end of the enclosing group. */
  | { kind: "flags"; text: string; flags: string }
  /** Anything else: operators, groups, quantifiers, property escapes, back-references. */
  | { kind: "syntax"; text: string };

const HEX = /^[0-9a-fA-F]+$/;
const ESCAPED_CONTROLS: Record<string, string> = {
  n: "\n",
  r: "\r",
  t: "\t",
  f: "\f",
  v: "\v",
  0: "\0",
};

/** Index just past the first `close` at or after `from`, or the end. */
function skipPast(chars: string[], from: number, close: string): number {
  const at = chars.indexOf(close, from);
  return at < 0 ? chars.length : at + 1;
}

/** The character of a `\x`/`\u`/`\c` escape whose letter is at `chars[i]`, and its end. */
function codeEscape(chars: string[], i: number): [string | undefined, number] {
  const kind = chars[i];
  if (kind === "c") {
    const letter = chars[i + 1] ?? "";
    const valid = /^[a-zA-Z]$/.test(letter);
    return [valid ? String.fromCharCode(letter.charCodeAt(0) % 32) : undefined, i + 2];
  }
  if (kind === "u" && chars[i + 1] === "{") {
    const end = skipPast(chars, i + 2, "}");
    const hex = chars.slice(i + 2, end - 1).join("");
    const valid = HEX.test(hex) && parseInt(hex, 16) < 0x110000;
    return [valid ? String.fromCodePoint(parseInt(hex, 16)) : undefined, end];
  }
  const hex = chars.slice(i + 1, i + (kind === "x" ? 3 : 5)).join("");
  return [HEX.test(hex) ? String.fromCodePoint(parseInt(hex, 16)) : undefined, i + 1 + hex.length];
}

/** Splits `pattern` into tokens; an invalid pattern still tokenizes (the compiler rejects it). */
export function tokenize(pattern: string): RegexToken[] {
  const chars = [...pattern];
  const tokens: RegexToken[] = [];
  let depth = 0; // nesting of character classes (nested ones need the `v` flag)
  let i = 0;
  while (i < chars.length) {
    const start = i;
    const c = chars[i++];
    const text = () => chars.slice(start, i).join("");
    const syntax = () => tokens.push({ kind: "syntax", text: text() });
    const literal = (char: string) => tokens.push({ kind: "literal", text: text(), char });
    if (c === "\\") {
      const e = chars[i];
      if (e === undefined) syntax();
      else if (e === "x" || e === "u" || e === "c") {
        const [char, end] = codeEscape(chars, i);
        i = end;
        if (char === undefined) syntax();
        else literal(char);
      } else if (e === "p" || e === "P") {
        i = chars[i + 1] === "{" ? skipPast(chars, i + 2, "}") : i + 2;
        syntax();
      } else if (e === "k") {
        i = chars[i + 1] === "<" ? skipPast(chars, i + 2, ">") : i + 1;
        syntax();
      } else if (/^[1-9]$/.test(e)) {
        while (/^[0-9]$/.test(chars[i] ?? "")) i++;
        syntax();
      } else {
        i++;
        if ("dDwWsS".includes(e)) {
          tokens.push({ kind: "perlClass", text: text(), letter: e, inClass: depth > 0 });
        } else if ("bBAz".includes(e) && depth === 0) {
          tokens.push({ kind: "assertion", text: text(), letter: e });
        } else if (e === "q") syntax();
        else literal(e === "b" ? "\b" : ESCAPED_CONTROLS[e] ?? e);
      }
    } else if (depth > 0) {
      if (c === "[") {
        depth++;
        if (chars[i] === "^") i++;
        syntax();
      } else if (c === "]") {
        depth--;
        syntax();
      } else if (c === "-" || c === "&") syntax();
      else literal(c);
    } else if (c === "[") {
      depth = 1;
      if (chars[i] === "^") i++;
      syntax();
    } else if (c === "(") {
      const group = () => tokens.push({ kind: "groupOpen", text: text() });
      if (chars[i] !== "?") {
        group();
        continue;
      }
      i++;
      let named = -1;
      if (chars[i] === "P" && chars[i + 1] === "<") named = i + 2;
      else if (chars[i] === "<" && chars[i + 1] !== "=" && chars[i + 1] !== "!") named = i + 1;
      if (named >= 0) {
        i = skipPast(chars, named, ">");
        tokens.push({ kind: "namedGroup", text: text(), name: chars.slice(named, i - 1).join("") });
      } else if (chars[i] === "<") { // look-behind
        i += 2;
        group();
      } else if (chars[i] === "=" || chars[i] === "!" || chars[i] === ":") {
        i++;
        group();
      } else {
        while (/^[a-zA-Z-]$/.test(chars[i] ?? "")) i++;
        if (chars[i] === ":") {
          i++;
          group();
        } else if (chars[i] === ")") {
          i++;
          tokens.push({
            kind: "flags",
            text: text(),
            flags: chars.slice(start + 2, i - 1).join(""),
          });
        } else syntax();
      }
    } else if (c === "{") {
      i = skipPast(chars, i, "}");
      syntax();
    } else if (c === ")") tokens.push({ kind: "groupClose", text: c });
    else if (c === "|") tokens.push({ kind: "alternation", text: c });
    else if (".^$*+?".includes(c)) syntax();
    else literal(c);
  }
  return tokens;
}
