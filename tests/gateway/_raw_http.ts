// A bare HTTP/1.1 client over node:net, for requests that fetch() refuses to send or rewrites:
// dot segments, raw non-UTF-8 bytes, oversized headers. Works under Node, Deno and Bun.
import { connect } from "node:net";

export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: Uint8Array;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

function dechunk(body: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 0;
  const latin1 = new TextDecoder("latin1");
  while (at < body.byteLength) {
    const eol = body.indexOf(13, at);
    if (eol < 0) break;
    const size = parseInt(latin1.decode(body.subarray(at, eol)), 16);
    if (!(size > 0)) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return concat(parts);
}

function headerEnd(all: Uint8Array): number {
  for (let i = 0; i + 3 < all.byteLength; i++) {
    if (all[i] === 13 && all[i + 1] === 10 && all[i + 2] === 13 && all[i + 3] === 10) return i;
  }
  return -1;
}

function parse(all: Uint8Array, split: number): RawResponse {
  const lines = new TextDecoder("latin1").decode(all.subarray(0, split)).split("\r\n");
  const status = Number(lines[0].split(" ")[1]);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = all.subarray(split + 4);
  if (headers.get("transfer-encoding")?.includes("chunked")) body = dechunk(body);
  return { status, headers, body };
}

/** Whether `all` holds a whole response (judged by its framing). */
function complete(all: Uint8Array, head: boolean): boolean {
  const split = headerEnd(all);
  if (split < 0) return false;
  const { status, headers } = parse(all.subarray(0, split + 4), split);
  const body = all.byteLength - split - 4;
  if (head || status === 204 || status === 304 || (status >= 100 && status < 200)) return true;
  if (headers.get("transfer-encoding")?.includes("chunked")) {
    const tail = new TextDecoder("latin1").decode(
      all.subarray(Math.max(split, all.byteLength - 7)),
    );
    return tail.endsWith("0\r\n\r\n");
  }
  const length = headers.get("content-length");
  return length !== undefined && body >= Number(length);
}

/**
 * Sends `head` (request line and headers, without the blank line) and `body`, with
 * `Connection: close`, and reads one answer. A connection the server resets or closes without
 * an answer gives status 0.
 */
export function rawRequest(
  base: string,
  head: string | Uint8Array,
  body: Uint8Array = new Uint8Array(),
): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  const headBytes = typeof head === "string" ? new TextEncoder().encode(head) : head;
  const isHead = new TextDecoder("latin1").decode(headBytes.subarray(0, 5)) === "HEAD ";
  const tail = new TextEncoder().encode(
    `\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`,
  );
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let done = false;
    const socket = connect(Number(port), hostname);
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      const all = concat(chunks);
      const split = headerEnd(all);
      resolve(split < 0 ? { status: 0, headers: new Map(), body: all } : parse(all, split));
    };
    socket.on("connect", () => {
      socket.write(concat([headBytes, tail]));
      if (body.byteLength > 0) socket.write(body, () => {});
    });
    socket.on("data", (chunk: Uint8Array) => {
      chunks.push(new Uint8Array(chunk));
      if (complete(concat(chunks), isHead)) finish();
    });
    socket.on("end", finish);
    socket.on("error", finish);
    socket.on("close", finish);
  });
}
