/** Image tag syntax. */

const TAG_RE = /^[a-z0-9_-]+(?:[:/.][a-z0-9_-]+)*$/;

/** Longest tag accepted. */
export const MAX_TAG_LENGTH = 256;

/**
 * Tells why `tag` is not a valid image tag, or returns `null` when it is: `[a-z0-9_-]`
 * segments joined by `:`, `/` or `.`, at most 256 characters.
 *
 * @example
 * ```ts
 * tagProblem("busybox:latest"); // null
 * tagProblem("Bad Tag"); // "tag must be [a-z0-9_-] segments joined by ':', '/' or '.'"
 * ```
 */
export function tagProblem(tag: string): string | null {
  if (tag.length === 0) return "tag must not be empty";
  if (tag.length > MAX_TAG_LENGTH) return `tag must be at most ${MAX_TAG_LENGTH} characters`;
  if (!TAG_RE.test(tag)) return "tag must be [a-z0-9_-] segments joined by ':', '/' or '.'";
  return null;
}
