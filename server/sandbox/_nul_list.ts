/** Lists of strings in the form the helper reads them: each one ended by a NUL byte. */

/** `items`, each NUL-terminated, as bytes (bwrap `--args` files, env files, run arguments). */
export function nulTerminated(items: Iterable<string>): Uint8Array<ArrayBuffer> {
  let text = "";
  for (const item of items) text += `${item}\0`;
  return new TextEncoder().encode(text);
}
