/**
 * ripgrep's smart case: a search is case-insensitive when its patterns contain at least one
 * literal character and no upper-case one. Escapes that stand for classes or assertions
 * (`\S`, `\W`, `\p{Lu}`, `\B`), group names and quantifiers are not literals; escaped
 * characters (`\.`, `\x41`, `\u{41}`) and class members (`[A-Z]`) are.
 */
import { tokenize } from "./_regex_syntax.ts";

const UPPERCASE = /^\p{Uppercase}$/u;

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
    for (const token of tokenize(pattern)) {
      if (token.kind !== "literal") continue;
      if (UPPERCASE.test(token.char)) return false;
      anyLiteral = true;
    }
  }
  return anyLiteral;
}
