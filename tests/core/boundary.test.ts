// The core must run unchanged in Deno, Bun, Node, browsers and Workers: only Web APIs. The
// folders meet only through public modules, and no import that survives compilation goes in a
// circle (type-only ones may: the SDK's public types name each other).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  cycles,
  folderGraph,
  folderViolations,
  importGraph,
  imports,
  ROOT as root,
  specifiers,
  targets,
} from "./_imports.ts";

const forbidden: [RegExp, string][] = [
  [/from\s+["']node:|import\(\s*["']node:|\brequire\(/, "a node: import"],
  [/\bDeno\./, "the Deno namespace"],
  [/\bBun\./, "the Bun namespace"],
  [/\bprocess\.(env|argv|exit|cwd|platform)\b/, "Node's process object"],
];

function violations(text: string): string[] {
  return forbidden.filter(([re]) => re.test(text)).map(([, what]) => what);
}

/** The package's exports (deno.json), as repository paths. */
const packageExports: string[] = Object.values(
  JSON.parse(readFileSync(join(root, "deno.json"), "utf8")).exports as Record<string, string>,
).map((path) => path.replace(/^\.\//, ""));

const graph = importGraph();
const runtimeGraph = importGraph({ runtimeOnly: true });

describe("core boundary", () => {
  it("src/ and mod.ts use Web APIs only", () => {
    const files = [...graph.keys()].filter((file) => file === "mod.ts" || file.startsWith("src/"));
    assert.ok(files.length > 20);
    const found = files.flatMap((file) =>
      violations(readFileSync(join(root, file), "utf8")).map((what) => `${file}: ${what}`)
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

describe("folder boundaries", () => {
  it("hold across src/, local/, worker/, cli/ and server/", () => {
    assert.ok([...graph.keys()].some((file) => file.startsWith("server/")));
    assert.ok([...graph.keys()].some((file) => file.startsWith("worker/")));
    assert.deepEqual(folderViolations(graph, packageExports), []);
  });

  it("the check catches each broken rule", () => {
    const cases: [string, string][] = [
      ["src/sdk/a.ts", "server/api/mod.ts"],
      ["src/wire/a.ts", "local/env.ts"],
      ["mod.ts", "worker/mod.ts"],
      ["worker/src/a.ts", "server/ops/mod.ts"],
      ["cli/a.ts", "server/main.ts"],
      ["server/a.ts", "worker/mod.ts"],
      ["server/a.ts", "cli/main.ts"],
      ["server/a.ts", "src/wire/_http.ts"],
      ["worker/src/a.ts", "src/sdk/image.ts"],
      ["cli/a.ts", "src/version.ts"],
    ];
    for (const [from, to] of cases) {
      assert.equal(folderViolations(new Map([[from, [to]]]), packageExports).length, 1, from);
    }
    const allowed: [string, string][] = [
      ["server/ops/a.ts", "src/wire/mod.ts"],
      ["server/ops/a.ts", "server/ops/_env.ts"],
      ["local/a.ts", "src/wire/errors.ts"],
      ["worker/src/a.ts", "mod.ts"],
      ["cli/a.ts", "local/mod.ts"],
    ];
    for (const [from, to] of allowed) {
      assert.deepEqual(folderViolations(new Map([[from, [to]]]), packageExports), [], from);
    }
  });

  it("reads imports, re-exports and dynamic imports, not comments", () => {
    const text = [
      `import { a } from "./a.ts";`,
      `import type { B } from "./b.ts";`,
      `export * from "./c.ts";`,
      `export { d } from "./d.ts";`,
      `const e = await import("./e.ts");`,
      `import "./f.ts";`,
      `/** @example\n * import { x } from "./no.ts";\n */`,
      `// import { y } from "./nope.ts";`,
    ].join("\n");
    assert.deepEqual(specifiers(text).sort(), [
      "./a.ts",
      "./b.ts",
      "./c.ts",
      "./d.ts",
      "./e.ts",
      "./f.ts",
    ]);
  });
});

describe("import cycles", () => {
  // The SDK's object model is one recursive family of types (an image's `run()` resolves to an
  // image, its `session()` has an image as HEAD, ...), and its classes are nominal (`#fields`),
  // so they name each other through `import type`, which TypeScript erases. At run time the
  // modules load in one order: sessions make images through `contree.images`.
  it("none in src/, local/, worker/, cli/ or server/ at run time", () => {
    assert.ok(runtimeGraph.size === graph.size && runtimeGraph.size > 50);
    assert.deepEqual(cycles(runtimeGraph), []);
  });

  it("none between folders", () => {
    assert.deepEqual(cycles(folderGraph(graph)), []);
  });

  it("the check finds a cycle, and only the files in it", () => {
    const sample = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts", "d.ts"]],
      ["d.ts", []],
      ["e.ts", ["e.ts"]],
    ]);
    assert.deepEqual(cycles(sample), [["a.ts", "b.ts", "c.ts"], ["e.ts"]]);
  });

  it("ignores type-only edges at run time, and only them", () => {
    const sources: Record<string, string> = {
      "src/a.ts": `import { b } from "./b.ts";`,
      "src/b.ts": [
        `import type { A } from "./a.ts";`,
        `import { type C, type D as E } from "./c.ts";`,
        `export type { F } from "./f.ts";`,
        `export { type G } from "./g.ts";`,
      ].join("\n"),
      "src/c.ts": `import { type B, b } from "./b.ts";\nexport { d } from "./d.ts";`,
      "src/d.ts": `import d, { type C } from "./c.ts";`,
      "src/f.ts": `const b = await import("./b.ts");`,
      "src/g.ts": `import "./b.ts";`,
    };
    const graphOf = (runtimeOnly: boolean) =>
      new Map(
        Object.entries(sources).map(([file, text]) => [
          file,
          targets(join(root, file), text, { runtimeOnly }),
        ]),
      );
    assert.deepEqual(graphOf(true).get("src/b.ts"), []);
    assert.deepEqual(cycles(graphOf(true)), [["src/c.ts", "src/d.ts"]]);
    assert.deepEqual(cycles(graphOf(false)), [[
      "src/a.ts",
      "src/b.ts",
      "src/c.ts",
      "src/d.ts",
      "src/f.ts",
      "src/g.ts",
    ]]);
    assert.deepEqual(
      imports(`import { type A, b } from "./x.ts";\nimport type X from "./y.ts";`),
      [{ specifier: "./x.ts", typeOnly: false }, { specifier: "./y.ts", typeOnly: true }],
    );
  });
});
