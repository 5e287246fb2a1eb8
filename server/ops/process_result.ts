/** The `InstanceResult` of one process of an operation, folded from its events. */
import type { SandboxResources } from "../sandbox/run.ts";
import type { StoredEvent } from "../store/mod.ts";
import type { EventHub } from "./event_hub.ts";
import { decodeStream, encodeStream, resultResources } from "../../src/wire/mod.ts";

const PAGE = 1024;

interface ExitData {
  code: number;
  signal: number;
  core_dump?: boolean;
  timed_out: boolean;
  duration_ms: number;
  resources: SandboxResources;
}

function* processEvents(hub: EventHub, uuid: string, spid: number): Generator<StoredEvent> {
  for (let afterId = -1;;) {
    const page = hub.read(uuid, { afterId, spid, limit: PAGE });
    yield* page;
    if (page.length < PAGE) return;
    afterId = page[page.length - 1].id;
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Whether the operation's log has a process `spid` (one with a `spawn` event: 1 is the main
 * command, 2 and up its subprocesses).
 *
 * @example
 * ```ts
 * if (!hasProcess(hub, uuid, 2)) throw new HttpError(404, "no subprocess 2");
 * ```
 */
export function hasProcess(hub: EventHub, uuid: string, spid: number): boolean {
  return hub.read(uuid, { afterId: -1, spid, limit: 1 })[0]?.type === "spawn";
}

/**
 * The `InstanceResult` of process `spid` of an operation, from its events (live or stored):
 * stdout and stderr so far (`truncated` once a `truncated` event says so), and its `state`;
 * while it runs `exit_code` and `signal` are -1 and there are no `resources`. `null` when the
 * log has no such process.
 *
 * @example
 * ```ts
 * const result = processResult(hub, uuid, 2);
 * if (result === null) throw new HttpError(404, "no subprocess 2");
 * return c.json(result);
 * ```
 */
export function processResult(
  hub: EventHub,
  uuid: string,
  spid: number,
): Record<string, unknown> | null {
  let pid: number | undefined;
  const output = { stdout: [] as Uint8Array[], stderr: [] as Uint8Array[] };
  const truncated = { stdout: false, stderr: false };
  let exit: ExitData | undefined;
  for (const event of processEvents(hub, uuid, spid)) {
    const { data } = JSON.parse(event.json);
    if (event.type === "spawn") pid = data.pid;
    else if (event.type === "stdout" || event.type === "stderr") {
      output[event.type].push(decodeStream(data));
    } else if (
      event.type === "truncated" && (data.stream === "stdout" || data.stream === "stderr")
    ) {
      truncated[data.stream as "stdout" | "stderr"] = true;
    } else if (event.type === "exit") exit = data;
  }
  if (pid === undefined) return null;
  return {
    ...(exit ? { resources: resultResources(exit.resources, exit.duration_ms) } : {}),
    state: {
      exit_code: exit ? exit.code : -1,
      pid,
      signal: exit ? exit.signal : -1,
      timed_out: exit?.timed_out ?? false,
      core_dump: exit?.core_dump ?? false,
      stopped: false,
      continued: false,
    },
    stdout: { ...encodeStream(concat(output.stdout)), truncated: truncated.stdout },
    stderr: { ...encodeStream(concat(output.stderr)), truncated: truncated.stderr },
  };
}
