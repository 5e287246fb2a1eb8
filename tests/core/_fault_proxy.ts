// A TCP proxy on loopback that cuts event-stream connections at random byte offsets: the
// answer to every `GET .../events` request is passed on for a random number of bytes (its
// headers included), then both connections are closed mid-answer. Other requests pass
// untouched. Uses node:net only, so it runs under Deno, Bun and Node.
import net from "node:net";

/** Options of {@linkcode startFaultProxy}. */
export interface FaultProxyOptions {
  /**
   * Cut an event answer after a uniformly random 0..maxCut bytes, or, one time in ten,
   * 0..8 * maxCut bytes, so that a frame larger than maxCut gets through now and then.
   */
  maxCut: number;
  /** Seed of the offsets, printed by failing tests to replay them. */
  seed: number;
}

/** A running proxy. */
export interface FaultProxy {
  /** Base URL to give the client instead of the server's. */
  url: string;
  /** Event answers cut so far. */
  cuts: number;
  /** Event answers seen so far, by `Content-Encoding` (`identity` when absent). */
  encodings: Record<string, number>;
  close(): Promise<void>;
}

/** mulberry32: small, seedable, good enough to spread offsets. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Milliseconds between the last byte passed and the close of a cut connection. */
const CLOSE_DELAY = 20;

const REQUEST_LINE = /(?:^|\r\n)(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP\/1\.1\r\n/g;

/** Starts a proxy in front of `target` (an `http://127.0.0.1:PORT` URL). */
export function startFaultProxy(target: string, options: FaultProxyOptions): Promise<FaultProxy> {
  const upstreamUrl = new URL(target);
  const next = random(options.seed);
  const sockets = new Set<net.Socket>();
  const proxy: FaultProxy = {
    url: "",
    cuts: 0,
    encodings: {},
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(upstreamUrl.port), upstreamUrl.hostname);
    sockets.add(client).add(upstream);
    // Bytes of the current answer still to pass before the cut; undefined: no cut pending.
    let budget: number | undefined;
    let firstChunk = false;
    let tail = "";
    client.on("data", (chunk: Uint8Array) => {
      const text = tail + new TextDecoder("latin1").decode(chunk);
      let path: string | undefined;
      for (const match of text.matchAll(REQUEST_LINE)) path = match[2];
      if (path !== undefined) {
        const events = /\/events(\?|$)/.test(path);
        const range = next() < 0.9 ? options.maxCut : 8 * options.maxCut;
        budget = events ? Math.floor(next() * (range + 1)) : undefined;
        firstChunk = events;
      }
      tail = text.slice(-256);
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Uint8Array) => {
      if (firstChunk) {
        firstChunk = false;
        const head = new TextDecoder("latin1").decode(chunk.subarray(0, 4096));
        const encoding = /\r\ncontent-encoding: *([^\r]+)/i.exec(head)?.[1] ?? "identity";
        proxy.encodings[encoding] = (proxy.encodings[encoding] ?? 0) + 1;
      }
      if (budget === undefined || chunk.length < budget) {
        if (budget !== undefined) budget -= chunk.length;
        client.write(chunk);
        return;
      }
      proxy.cuts++;
      upstream.destroy();
      // The bytes before the cut arrive, then the connection dies: closing in the same
      // instant would let some runtimes' fetch drop what arrived with the close.
      client.write(chunk.subarray(0, budget));
      budget = undefined;
      setTimeout(() => client.destroy(), CLOSE_DELAY);
    });
    const done = (socket: net.Socket) => () => {
      sockets.delete(socket);
    };
    client.on("close", done(client));
    upstream.on("close", done(upstream));
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      proxy.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      resolve(proxy);
    });
  });
}
