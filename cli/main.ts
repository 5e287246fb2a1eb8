#!/usr/bin/env -S deno run -A
/**
 * `contree`: the ConTree command line, built on the SDK and `@contree/sdk/local`. Run it with
 * `deno run -A jsr:@contree/sdk/cli`, `bun cli/main.ts`, `node --import tsx cli/main.ts`,
 * or the binary from `deno task build:cli`. `contree --help` lists the commands.
 *
 * @example
 * ```sh
 * deno run -A jsr:@contree/sdk/cli auth --token "$TOKEN" --url http://127.0.0.1:8080 --type jwt
 * deno run -A jsr:@contree/sdk/cli use tag:busybox:latest
 * deno run -A jsr:@contree/sdk/cli run -- uname -a
 * ```
 *
 * @module
 */
import process from "node:process";
import { main } from "./_app.ts";

export { main };

if ((import.meta as { main?: boolean }).main ?? isEntry()) {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}

/** Node (tsx) has no `import.meta.main`: compare the entry script with this file. */
function isEntry(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  const here = new URL(import.meta.url).pathname;
  return entry === here || here.endsWith(entry.replace(/^\.\//, "/")) || here === `${entry}.ts`;
}
