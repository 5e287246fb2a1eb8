/** Import progress as lines a person reads (operation output, CLI). */
import type { ImportProgress } from "./types.ts";

function megabytes(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MB`;
}

/**
 * One line (with its newline) telling `event`, or `""` for byte counts (too frequent to
 * show).
 *
 * @example
 * ```ts
 * onProgress: (event) => {
 *   const line = describeProgress(event);
 *   if (line) console.log(line.trimEnd());
 * };
 * // "image sha256:3f6e… (3 layers, 1.0 MB)"
 * // "layer 1 sha256:2a7f… unpacked (1.0 MB)"
 * ```
 */
export function describeProgress(event: ImportProgress): string {
  switch (event.kind) {
    case "manifest":
      return `image ${event.digest} (${event.layers} layers, ${megabytes(event.bytes)})\n`;
    case "layer":
      if (event.state === "downloading") return "";
      return `layer ${event.index + 1} ${event.diffId} ${
        event.state === "cached" ? "already present" : `unpacked (${megabytes(event.received)})`
      }\n`;
    case "done":
      return `imported ${event.digest}${event.cached ? " (already imported)" : ""}\n`;
  }
}
