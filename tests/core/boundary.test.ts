// The core must run unchanged in Deno, Bun, Node, browsers and Workers: only Web APIs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|js|mjs)$/.test(name) ? [path] : [];
  });
}

const forbidden: [RegExp, string][] = [
  [/from\s+["']node:|import\(\s*["']node:|\brequire\(/, "a node: import"],
  [/\bDeno\./, "the Deno namespace"],
  [/\bBun\./, "the Bun namespace"],
  [/\bprocess\.(env|argv|exit|cwd|platform)\b/, "Node's process object"],
];

function violations(text: string): string[] {
  return forbidden.filter(([re]) => re.test(text)).map(([, what]) => what);
}

describe("core boundary", () => {
  it("src/ and mod.ts use Web APIs only", () => {
    const files = [join(root, "mod.ts"), ...sources(join(root, "src"))];
    const found = files.flatMap((file) =>
      violations(readFileSync(file, "utf8")).map((what) => `${file.slice(root.length)}: ${what}`)
    );
    assert.deepEqual(found, []);
  });

  it("the check catches each forbidden use", () => {
    const samples = [
      `import { readFile } from "node:fs";`,
      `const x = await import("node:path");`,
      `const text = await Deno.readTextFile("x");`,
      `const file = Bun.file("x");`,
      `const token = process.env.TOKEN;`,
    ];
    for (const sample of samples) assert.equal(violations(sample).length, 1, sample);
    assert.deepEqual(violations(`const url = new URL("https://example.com/node:x");`), []);
  });
});
