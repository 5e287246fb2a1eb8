// Base64 of byte arrays: the native Uint8Array.prototype.toBase64 / Uint8Array.fromBase64
// where the runtime has them (Deno, Bun: about 25x faster on large outputs), else the Web's
// atob/btoa, in slices to keep argument lists short.
const SLICE = 0x8000;

interface NativeBase64 {
  toBase64?: (this: Uint8Array) => string;
}
const nativeTo = (Uint8Array.prototype as NativeBase64).toBase64;
const nativeFrom = (Uint8Array as { fromBase64?: (text: string) => Uint8Array }).fromBase64;

/** Encodes bytes as standard base64. */
export function toBase64(bytes: Uint8Array): string {
  if (nativeTo) return nativeTo.call(bytes);
  let binary = "";
  for (let i = 0; i < bytes.length; i += SLICE) {
    binary += String.fromCharCode(...bytes.subarray(i, i + SLICE));
  }
  return btoa(binary);
}

/** Decodes standard base64 (whitespace tolerated); throws on invalid input. */
export function fromBase64(text: string): Uint8Array {
  if (nativeFrom) return nativeFrom(text.replace(/\s+/g, ""));
  const binary = atob(text.replace(/\s+/g, ""));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
