/**
 * `grepImage`: the search of `GET /v1/inspect/{uuid}/grep`, run in a child Deno process.
 * JavaScript regular expressions backtrack (ripgrep's do not), and V8 cannot interrupt a
 * running one, not even in a terminated worker: only killing a process bounds the work.
 * The child may read the image's layers and nothing else.
 */
import { LayeredView } from "../images/layered_view.ts";
import { GlobFilter } from "./glob_filter.ts";
import { Matcher } from "./matcher.ts";
import type { ChildJob, ChildMessage } from "./_protocol.ts";
import type { GrepRequest } from "./request.ts";
import type { GrepMatch, GrepResult } from "../../src/wire/mod.ts";
import { DEFAULT_GREP_LIMITS, type GrepLimits, resolveRoots } from "./search.ts";

/** Time the child gets past its own deadline before it is killed. */
const GRACE_MS = 2_000;
/** V8 heap of the child, in MiB. */
const CHILD_HEAP_MB = 1024;
const CHILD = new URL("./_child.ts", import.meta.url).href;

/** Options of {@linkcode grepImage}. */
export interface GrepOptions {
  /** Budgets (default {@linkcode DEFAULT_GREP_LIMITS}). */
  limits?: GrepLimits;
  /** Stops the search (e.g. the client went away); it then rejects with the reason. */
  signal?: AbortSignal;
}

/**
 * `--allow-read` for these paths. A comma cannot be written in the flag, so a path holding
 * one is replaced by its closest ancestor without one.
 */
function allowRead(paths: string[]): string {
  const allowed = paths.map((path) =>
    path.includes(",") ? path.slice(0, path.lastIndexOf("/", path.indexOf(","))) || "/" : path
  );
  return `--allow-read=${[...new Set(allowed)].join(",")}`;
}

/** Calls `onLine` with each line of JSON the child writes. */
async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (message: ChildMessage) => void,
): Promise<void> {
  const pieces: string[] = [];
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    let start = 0;
    for (let end = chunk.indexOf("\n"); end >= 0; end = chunk.indexOf("\n", start)) {
      pieces.push(chunk.slice(start, end));
      onLine(JSON.parse(pieces.join("")));
      pieces.length = 0;
      start = end + 1;
    }
    pieces.push(chunk.slice(start));
  }
}

/**
 * Searches the image made of `layers` (host directories, lowest first) as `searchImage`
 * does, in a child process. The request is checked here first, so a bad pattern or glob
 * throws `GrepQueryError` and a bad path `PathNotFoundError` / `PathNotUsableError`. A
 * child still running `GRACE_MS` past the time budget (a regular expression backtracking
 * without end) is killed, and the entries it sent so far are returned with
 * `truncated: true`.
 *
 * @example
 * ```ts
 * const layers = image.layers.map((id) => layerStore.path(id));
 * const result = await grepImage(layers, parseGrepQuery(c.req.queries()), {
 *   signal: c.req.raw.signal,
 * });
 * ```
 */
export async function grepImage(
  layers: string[],
  request: GrepRequest,
  options: GrepOptions = {},
): Promise<GrepResult> {
  // Checked here so that these errors keep their classes (the child's would be a 500).
  new Matcher(request.patterns, request.caseMode);
  new GlobFilter(request.globs);
  await resolveRoots(new LayeredView(layers), request.paths);
  const limits = options.limits ?? DEFAULT_GREP_LIMITS;
  const signal = options.signal;
  signal?.throwIfAborted();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      // Each layer and its sidecar, `<layer>.json`.
      allowRead(layers.flatMap((layer) => [layer, `${layer.replace(/\/+$/, "")}.json`])),
      `--v8-flags=--max-old-space-size=${CHILD_HEAP_MB}`,
      CHILD,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let killed = false;
  const kill = () => {
    if (killed) return;
    killed = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // It has exited already.
    }
  };
  const timer = setTimeout(kill, limits.timeoutMs + GRACE_MS);
  signal?.addEventListener("abort", kill);
  try {
    const stderr = new Response(child.stderr).text();
    const job: ChildJob = { layers, request, limits };
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(job))).catch(() => {});
    await writer.close().catch(() => {});
    const matches: GrepMatch[] = [];
    let truncated: boolean | undefined;
    await readLines(child.stdout, (message) => {
      if (message.kind === "done") truncated = message.truncated;
      else for (const match of message.matches) matches.push(match);
    });
    const status = await child.status;
    signal?.throwIfAborted();
    if (truncated === undefined && !killed) {
      throw new Error(`grep child process failed (${status.code}): ${(await stderr).slice(-2000)}`);
    }
    return {
      path: request.paths[0],
      patterns: request.patterns,
      matches,
      truncated: truncated ?? true,
    };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", kill);
    kill();
  }
}
