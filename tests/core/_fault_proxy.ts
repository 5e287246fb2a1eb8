// A TCP proxy on loopback that breaks HTTP answers on purpose: for each request a policy picks
// a fault (or none), and the answer is passed on for that many bytes (its head included), then
// the connection is cut, or goes silent until the client gives up. `randomEventCuts` is the
// policy of the event-stream tests: every `GET .../events` answer cut at a random offset. Uses
// node:net only, so it runs under Deno, Bun and Node.
import net from "node:net";

/** What the proxy does to one answer: pass `after` bytes, then cut it or go silent. */
export interface Fault {
  after: number;
  then: "cut" | "stall";
}

/** A request as the proxy sees it. */
export interface ProxiedRequest {
  method: string;
  path: string;
  /** Its head from the request line on (as far as it arrived with that line). */
  head: string;
}

/** Options of {@linkcode startFaultProxy}. */
export interface FaultProxyOptions {
  /** The fault for the answer to `request`; undefined passes it untouched. */
  fault(request: ProxiedRequest): Fault | undefined;
}

/** A running proxy. */
export interface FaultProxy {
  /** Base URL to give the client instead of the server's. */
  url: string;
  /** Answers broken so far (cut or stalled). */
  cuts: number;
  /** Answers given a fault so far, by `Content-Encoding` (`identity` when absent). */
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

/**
 * Cuts every event-stream answer after a uniformly random 0..maxCut bytes or, one time in ten,
 * 0..8 * maxCut bytes, so that a frame larger than maxCut gets through now and then. `seed`
 * is printed by failing tests to replay the offsets.
 */
export function randomEventCuts(
  { maxCut, seed }: { maxCut: number; seed: number },
): FaultProxyOptions["fault"] {
  const next = random(seed);
  return ({ path }) => {
    if (!/\/events(\?|$)/.test(path)) return undefined;
    const range = next() < 0.9 ? maxCut : 8 * maxCut;
    return { after: Math.floor(next() * (range + 1)), then: "cut" };
  };
}

/** Milliseconds between the last byte passed and the close of a cut connection. */
const CLOSE_DELAY = 20;

const REQUEST_LINE = /(?:^|\r\n)(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP\/1\.1\r\n/g;

/** Starts a proxy in front of `target` (an `http://127.0.0.1:PORT` URL). */
export function startFaultProxy(target: string, options: FaultProxyOptions): Promise<FaultProxy> {
  const upstreamUrl = new URL(target);
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
    // The current answer's fault; undefined: it passes whole.
    let fault: Fault | undefined;
    // Bytes of the current answer still to pass before its fault.
    let budget = 0;
    let firstChunk = false;
    let stalled = false;
    let tail = "";
    client.on("data", (chunk: Uint8Array) => {
      const text = tail + new TextDecoder("latin1").decode(chunk);
      let request: ProxiedRequest | undefined;
      for (const match of text.matchAll(REQUEST_LINE)) {
        request = { method: match[1], path: match[2], head: text.slice(match.index) };
      }
      if (request !== undefined) {
        fault = options.fault(request);
        budget = fault?.after ?? 0;
        firstChunk = fault !== undefined;
      }
      tail = text.slice(-256);
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Uint8Array) => {
      if (stalled) return;
      if (firstChunk) {
        firstChunk = false;
        const head = new TextDecoder("latin1").decode(chunk.subarray(0, 4096));
        const encoding = /\r\ncontent-encoding: *([^\r]+)/i.exec(head)?.[1] ?? "identity";
        proxy.encodings[encoding] = (proxy.encodings[encoding] ?? 0) + 1;
      }
      if (fault === undefined || chunk.length < budget) {
        budget -= chunk.length;
        client.write(chunk);
        return;
      }
      proxy.cuts++;
      client.write(chunk.subarray(0, budget));
      if (fault.then === "stall") {
        // Silent from here on: the client must notice and hang up.
        stalled = true;
        upstream.pause();
      } else {
        upstream.destroy();
        // The bytes before the cut arrive, then the connection dies: closing in the same
        // instant would let some runtimes' fetch drop what arrived with the close.
        setTimeout(() => client.destroy(), CLOSE_DELAY);
      }
      fault = undefined;
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
    client.on("close", () => upstream.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      proxy.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      resolve(proxy);
    });
  });
}
