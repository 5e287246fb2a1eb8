// The import graph of the repository's product folders, read from the sources (no loader):
// static and dynamic imports and re-exports with relative specifiers, each marked runtime or
// type-only (TypeScript erases `import type`, `export type` and `{ type A, type B }`).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

/** The repository root, with a trailing slash. */
export const ROOT: string = new URL("../../", import.meta.url).pathname;

/** The folders whose files the graph holds (and `mod.ts` at the root). */
export const PRODUCT_FOLDERS = ["src", "worker", "server", "local", "cli"];

function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    if (name === "node_modules" || name.startsWith(".")) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|tsx|js|mjs)$/.test(name) && !/\.d\.ts$/.test(name) ? [path] : [];
  });
}

const STATIC =
  /(?:^|[;\s}])(?:import|export)\s+(type\s+)?(?:([\w*{}\s,$]*?)\s+from\s+)?["']([^"']+)["']/g;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** One import of a source: its specifier, and whether only types come through it. */
export interface Specifier {
  specifier: string;
  typeOnly: boolean;
}

/** Whether the clause `{ type A, type B as C }` names types only (and at least one). */
function typesOnly(clause: string | undefined): boolean {
  const braces = clause?.trim().match(/^\{([\s\S]*)\}$/);
  if (!braces) return false;
  const names = braces[1].split(",").map((name) => name.trim()).filter(Boolean);
  return names.length > 0 && names.every((name) => /^type\s/.test(name));
}

/** The imports of a source, comments left out (JSDoc examples import too). */
export function imports(text: string): Specifier[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return [
    ...[...code.matchAll(STATIC)].map(([, type, clause, specifier]) => ({
      specifier,
      typeOnly: type !== undefined || typesOnly(clause),
    })),
    ...[...code.matchAll(DYNAMIC)].map(([, specifier]) => ({ specifier, typeOnly: false })),
  ];
}

/** The specifiers a source imports, type-only ones included. */
export function specifiers(text: string): string[] {
  return imports(text).map((found) => found.specifier);
}

/**
 * Repository-relative path of each product file -> the repository files it imports; with
 * `runtimeOnly`, only the imports that survive compilation (type-only ones left out).
 */
export function importGraph(options: { runtimeOnly?: boolean } = {}): Map<string, string[]> {
  const files = [join(ROOT, "mod.ts"), ...PRODUCT_FOLDERS.flatMap((f) => sources(join(ROOT, f)))];
  const graph = new Map<string, string[]>();
  for (const file of files) {
    graph.set(relative(ROOT, file), targets(file, readFileSync(file, "utf8"), options));
  }
  return graph;
}

/** The repository files `text` (the source of `file`) imports. */
export function targets(
  file: string,
  text: string,
  options: { runtimeOnly?: boolean } = {},
): string[] {
  const found = imports(text)
    .filter(({ specifier, typeOnly }) =>
      specifier.startsWith(".") && !(options.runtimeOnly && typeOnly)
    )
    .map(({ specifier }) => relative(ROOT, normalize(join(dirname(file), specifier))));
  return [...new Set(found)];
}

/** The strongly connected components with more than one file, or a file importing itself. */
export function cycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) {
      found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

/** The top-level folder of a repository path; `mod.ts` at the root is the core (`src`). */
export function folderOf(path: string): string {
  return path.includes("/") ? path.slice(0, path.indexOf("/")) : "src";
}

/** What each folder must not import: other folders, beyond the `_`-file rule for all. */
const FORBIDDEN: Record<string, string[]> = {
  src: ["worker", "server", "local", "cli"],
  worker: ["server"],
  cli: ["server"],
  server: ["worker", "cli"],
};

/** Folders that take the package only through its exports (`deno.json` "exports"). */
const PACKAGE_USERS = ["worker", "cli"];

/**
 * The edges of `graph` that break the folder rules: the core imports no other folder; the
 * gateway and the command line never import the backend, and take the package only through
 * its exports (`packageExports`, repository paths); the backend imports neither of them; no
 * file imports another folder's `_`-prefixed (private) file.
 */
export function folderViolations(
  graph: Map<string, string[]>,
  packageExports: string[],
): string[] {
  const found: string[] = [];
  for (const [from, targets] of graph) {
    const source = folderOf(from);
    for (const target of targets) {
      const folder = folderOf(target);
      const edge = `${from} -> ${target}`;
      if (FORBIDDEN[source]?.includes(folder)) found.push(`${edge}: ${source} imports ${folder}`);
      if (folder !== source && target.split("/").pop()!.startsWith("_")) {
        found.push(`${edge}: a private file of another folder`);
      }
      if (
        PACKAGE_USERS.includes(source) && (folder === "src" || folder === "local") &&
        !packageExports.includes(target)
      ) {
        found.push(`${edge}: not one of the package's exports`);
      }
    }
  }
  return found;
}

/**
 * The graph between folders: the top-level folders, and each subfolder of `server/` and
 * `src/` on its own (`server/ops`, `src/wire`, ...); files directly in `server/` or `src/`
 * (entry points, the version) are left out, since they sit above or beside every folder.
 */
export function folderGraph(graph: Map<string, string[]>): Map<string, string[]> {
  const folder = (path: string): string | undefined => {
    const parts = path.split("/");
    if (parts[0] === "server" || parts[0] === "src") {
      return parts.length > 2 ? `${parts[0]}/${parts[1]}` : undefined;
    }
    return parts.length > 1 ? parts[0] : undefined;
  };
  const folders = new Map<string, Set<string>>();
  for (const [from, targets] of graph) {
    const source = folder(from);
    if (source === undefined) continue;
    const edges = folders.get(source) ?? new Set();
    folders.set(source, edges);
    for (const target of targets) {
      const folderOfTarget = folder(target);
      if (folderOfTarget !== undefined && folderOfTarget !== source) edges.add(folderOfTarget);
    }
  }
  return new Map([...folders].map(([name, edges]) => [name, [...edges]]));
}
