/**
 * TypeScript SDK for ConTree sandboxes: run commands in isolated instances whose
 * filesystems are saved as immutable images. Web APIs only: it runs in Deno,
 * Bun, Node, browsers and Cloudflare Workers. `@contree/sdk/local` adds the
 * helpers that read the local machine (environment, `auth.ini`, files).
 *
 * A run is a `Promise` of its result image that executes once, when first
 * used; `run.again()` runs it anew.
 *
 * @example Run a command, keep its image, stream another (with `CONTREE_URL` and `CONTREE_TOKEN` set)
 * ```ts
 * import { ContreeImage } from "@contree/sdk";
 * import { contreeFromEnv } from "@contree/sdk/local";
 *
 * await using contree = contreeFromEnv();
 * const busybox = await contree.images.use("busybox:latest", { strict: true });
 * const built = await busybox.run({ shell: "echo hi > /greeting; echo built", disposable: false });
 * console.log(built instanceof ContreeImage, built.stdout); // true "built\n"
 * console.log(await built.readText("/greeting")); // "hi\n"
 * for await (const chunk of built.run({ shell: "cat /greeting; echo € >&2" })) {
 *   console.log(chunk.stream, JSON.stringify(chunk.text)); // stdout "hi\n", stderr "€\n"
 * }
 * ```
 *
 * @module
 */

export { VERSION } from "./src/version.ts";

export * from "./src/wire/mod.ts";
export * from "./src/sdk/mod.ts";
