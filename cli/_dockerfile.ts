// Dockerfile text: instructions with their line numbers, `\` continuations, `KEY=VALUE`
// pairs, JSON exec forms, and `$NAME` substitution.
import { UsageError } from "./_session.ts";

/** One instruction of a Dockerfile. */
export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Splits a Dockerfile into instructions (comments dropped, `\` continuations joined). */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buffer = "";
  let start = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (buffer === "" && (line === "" || line.startsWith("#"))) return;
    if (buffer !== "" && line.startsWith("#")) return;
    if (buffer === "") start = index + 1;
    if (line.endsWith("\\")) {
      buffer += line.slice(0, -1) + " ";
      return;
    }
    buffer += line;
    const match = /^(\S+)\s*(.*)$/s.exec(buffer.trim());
    if (match) out.push({ keyword: match[1].toUpperCase(), args: match[2].trim(), line: start });
    buffer = "";
  });
  if (buffer.trim()) {
    throw new UsageError(`Dockerfile ends inside a continued line (line ${start})`);
  }
  return out;
}

/** Replaces `$NAME`, `${NAME}` and `${NAME:-default}` from `vars`. */
export function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(
    /\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)/g,
    (_, braced: string | undefined, fallback: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare!;
      return vars[name] ?? fallback ?? "";
    },
  );
}

/** `KEY=VALUE KEY2="two words"`, or the legacy `KEY VALUE`. */
export function parsePairs(args: string, keyword: string): [string, string][] {
  if (!/^\w+=/.test(args)) {
    const match = /^(\w+)\s+(.*)$/s.exec(args);
    if (!match) throw new UsageError(`${keyword} ${args}: expected KEY=VALUE`);
    return [[match[1], match[2]]];
  }
  const pairs: [string, string][] = [];
  const re = /(\w+)=("((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))/g;
  for (const m of args.matchAll(re)) {
    pairs.push([m[1], m[3] !== undefined ? m[3].replace(/\\(.)/g, "$1") : m[4] ?? m[5] ?? ""]);
  }
  return pairs;
}

/** A JSON exec form (`["a", "b"]`), or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith("[")) return undefined;
  try {
    const words = JSON.parse(args);
    if (Array.isArray(words) && words.every((w) => typeof w === "string")) return words;
  } catch { /* the shell form */ }
  return undefined;
}
