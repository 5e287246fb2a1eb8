/** Member names of layers and archives as paths inside the image. */
import { InvalidImageError } from "./errors.ts";

/**
 * `name` as a relative path without `.`, empty or trailing components (`""` for the root).
 * Throws {@linkcode InvalidImageError} for a `..` component.
 */
export function cleanPath(name: string): string {
  const parts = name.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) {
    throw new InvalidImageError(`tar: member ${JSON.stringify(name)} escapes the root`);
  }
  return parts.join("/");
}
