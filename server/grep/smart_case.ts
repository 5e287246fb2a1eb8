/**
 * ripgrep's smart case: a search is case-insensitive when its patterns contain at least one
 * literal character and no upper-case one. Escapes that stand for classes or assertions
 * (`\S`, `\W`, `\p{Lu}`, `\B`), group syntax and quantifiers are not literals; escaped
 * characters (`\.`, `\x41`, `\u{41}`) and class members (`[A-Z]`) are.
 */

const UPPERCASE = /^\p{Uppercase}$/u;
const HEX = /^[0-9a-fA-F]+$/;
const ESCAPED_CONTROLS: Record<string, string> = {
  n: "\n",
  r: "\r",
  t: "\t",
  f: "\f",
  v: "\v",
  0: "\0",
};
/** Escapes that are classes or assertions (`b` is a backspace inside a class). */
const NOT_LITERAL_ESCAPES = new Set(["d", "D", "w", "W", "s", "S", "b", "B", "q"]);

/** Index of the first `close` at or after `from`, or the end. */
function skipTo(chars: string[], from: number, close: string): number {
  const at = chars.indexOf(close, from);
  return at < 0 ? chars.length : at + 1;
}

/** The code point of a `\x`/`\u`/`\c` escape starting at `chars[i]` and where it ends. */
function codeEscape(chars: string[], i: number): [string | undefined, number] {
  const kind = chars[i];
  if (kind === "c") {
    const letter = chars[i + 1] ?? "";
    return [
      /^[a-zA-Z]$/.test(letter) ? String.fromCodePoint(letter.charCodeAt(0) % 32) : undefined,
      i + 2,
    ];
  }
  if (kind === "u" && chars[i + 1] === "{") {
    const end = skipTo(chars, i + 2, "}");
    const hex = chars.slice(i + 2, end - 1).join("");
    return [HEX.test(hex) ? String.fromCodePoint(parseInt(hex, 16) % 0x110000) : undefined, end];
  }
  const hex = chars.slice(i + 1, i + (kind === "x" ? 3 : 5)).join("");
  return [HEX.test(hex) ? String.fromCodePoint(parseInt(hex, 16)) : undefined, i + 1 + hex.length];
}

/** The literal characters of a JavaScript (`u`/`v` flag) regular expression. */
function* literals(pattern: string): Generator<string> {
  const chars = [...pattern];
  let depth = 0; // inside character classes (nested with the `v` flag)
  let i = 0;
  while (i < chars.length) {
    const c = chars[i++];
    if (c === "\\") {
      const e = chars[i];
      if (e === undefined) return;
      if (e === "x" || e === "u" || e === "c") {
        const [literal, end] = codeEscape(chars, i);
        i = end;
        if (literal !== undefined) yield literal;
      } else if (e === "p" || e === "P") {
        i = chars[i + 1] === "{" ? skipTo(chars, i + 2, "}") : i + 2;
      } else if (e === "k") {
        i = chars[i + 1] === "<" ? skipTo(chars, i + 2, ">") : i + 1;
      } else if (/^[1-9]$/.test(e)) {
        while (/^[0-9]$/.test(chars[i] ?? "")) i++; // a back-reference
      } else {
        i++;
        if (NOT_LITERAL_ESCAPES.has(e)) continue;
        yield ESCAPED_CONTROLS[e] ?? e;
      }
    } else if (depth > 0) {
      if (c === "[") {
        depth++;
        if (chars[i] === "^") i++;
      } else if (c === "]") depth--;
      else if (c !== "-" && c !== "&") yield c;
    } else if (c === "[") {
      depth = 1;
      if (chars[i] === "^") i++;
    } else if (c === "(") {
      if (chars[i] !== "?") continue;
      i++;
      if (chars[i] === "P" && chars[i + 1] === "<") i = skipTo(chars, i + 2, ">");
      else if (chars[i] === "<" && chars[i + 1] !== "=" && chars[i + 1] !== "!") {
        i = skipTo(chars, i + 1, ">");
      } else {
        while (i < chars.length && /^[imsx<=!:-]$/.test(chars[i])) i++;
      }
    } else if (c === "{") {
      i = skipTo(chars, i, "}");
    } else if (!".^$|)*+?".includes(c)) {
      yield c;
    }
  }
}

/**
 * Whether smart case makes a search case-insensitive: some pattern has a literal character
 * and none has an upper-case one (decided over all patterns together, as ripgrep does).
 *
 * @example
 * ```ts
 * smartCaseInsensitive(["error"]); // true
 * smartCaseInsensitive(["Error"]); // false
 * smartCaseInsensitive(["\\Sfoo", "bar"]); // true: \S is a class, not a letter
 * smartCaseInsensitive(["foo", "Bar"]); // false
 * ```
 */
export function smartCaseInsensitive(patterns: string[]): boolean {
  let anyLiteral = false;
  for (const pattern of patterns) {
    for (const literal of literals(pattern)) {
      if (UPPERCASE.test(literal)) return false;
      anyLiteral = true;
    }
  }
  return anyLiteral;
}
