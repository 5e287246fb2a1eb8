/** Reading the helper's output pipes: a header line first, then the process's output. */

/** Longest header line the helper writes, newline included. */
const MAX_HEADER = 128;

/** Reads `stream` to its end, handing each chunk to `onChunk`. */
export async function pump(
  stream: ReadableStream<Uint8Array>,
  onChunk: (chunk: Uint8Array) => void,
): Promise<void> {
  for await (const chunk of stream) onChunk(chunk);
}

/**
 * Reads the first line of `stream` and matches it (without its newline) against `header`.
 * `rest` is what was read past the line, or everything read when the stream did not start
 * with a matching line. The stream is left unlocked, to be read on from there.
 */
export async function readHeader(
  stream: ReadableStream<Uint8Array>,
  header: RegExp,
): Promise<{ match: RegExpExecArray | null; rest: Uint8Array }> {
  const reader = stream.getReader();
  let read = new Uint8Array(0);
  try {
    while (read.indexOf(0x0a) < 0 && read.length < MAX_HEADER) {
      const { done, value } = await reader.read();
      if (done) break;
      const joined = new Uint8Array(read.length + value.length);
      joined.set(read);
      joined.set(value, read.length);
      read = joined;
    }
  } finally {
    reader.releaseLock();
  }
  const newline = read.indexOf(0x0a);
  const match = newline < 0
    ? null
    : header.exec(new TextDecoder().decode(read.subarray(0, newline)));
  return { match, rest: match ? read.subarray(newline + 1) : read };
}
