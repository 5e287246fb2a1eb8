/**
 * The operation event log: typed events discriminated by `type`, and the
 * conversion from an SSE message. Unknown types and malformed payloads become
 * an {@linkcode UnknownEvent} carrying the raw data (and, for a malformed known
 * type, the offending field), so a server can add event types safely. Known
 * events are read leniently: a missing optional field, an unknown field or an
 * older field name never turns one into an `UnknownEvent`.
 *
 * @module
 */
import * as v from "valibot";
import { isTerminalStatus } from "./operation_status.ts";
import type { SSEMessage } from "./sse.ts";
import type { StreamRepr, TerminalStatus } from "./types.ts";
import { EVENT_RESOURCE_FIELDS } from "./_resource_fields.ts";
import { firstIssue, number, optional, record } from "./_validate.ts";

/**
 * The fields every event has.
 *
 * @example
 * ```ts
 * import type { EventBase } from "@contree/sdk";
 *
 * const label = (event: EventBase) => `#${event.id} at ${event.ts}`;
 * ```
 */
export interface EventBase {
  /** Per-operation sequence number, from 0, strictly increasing. */
  id: number;
  /** When it happened, ISO-8601. */
  ts: string;
  /** Process id in the instance: 0 init daemon, 1 main command, >= 2 subprocesses. */
  spid?: number;
}

/**
 * `init`: the instance booted.
 *
 * @example
 * ```ts
 * import type { InitEvent } from "@contree/sdk";
 *
 * const booted = (event: InitEvent) => event.data.started_at;
 * ```
 */
export interface InitEvent extends EventBase {
  /** Discriminant. */
  type: "init";
  /** Payload. */
  data: {
    started_at: string;
    runtime_path: string;
    verbose: boolean;
    init_pid: number;
    hostname?: string;
    kernel?: string;
    machine?: string;
    boot_id?: string;
  };
}

/**
 * `spawn`: a process started (secret-looking env values are redacted).
 *
 * @example
 * ```ts
 * import type { SpawnEvent } from "@contree/sdk";
 *
 * const argv = (event: SpawnEvent) => [event.data.command, ...event.data.args];
 * ```
 */
export interface SpawnEvent extends EventBase {
  /** Discriminant. */
  type: "spawn";
  /** Payload. */
  data: {
    pid: number;
    command: string;
    args: string[];
    shell: boolean;
    cwd: string;
    uid: number;
    gid: number;
    timeout: number;
    truncate_at: number;
    env?: Record<string, string>;
  };
}

/**
 * `stdin`, `stdout` or `stderr`: one chunk of a stream.
 *
 * @example
 * ```ts
 * import { decodeStreamText, type StreamEvent } from "@contree/sdk";
 *
 * const text = (event: StreamEvent) => decodeStreamText(event.data);
 * ```
 */
export interface StreamEvent extends EventBase {
  /** Discriminant. */
  type: "stdin" | "stdout" | "stderr";
  /** The chunk. */
  data: StreamRepr;
}

/**
 * Resource usage in an `exit` event.
 *
 * @example
 * ```ts
 * import type { EventResources } from "@contree/sdk";
 *
 * const cpuMicros = (r: EventResources) => r.user_time_us + r.sys_time_us;
 * ```
 */
export interface EventResources {
  /** User CPU time, microseconds. */
  user_time_us: number;
  /** System CPU time, microseconds. */
  sys_time_us: number;
  /** Peak resident set, KiB. */
  max_rss_kb: number;
  /** Shared memory. */
  shared_memory: number;
  /** Unshared memory. */
  unshared_memory: number;
  /** Swaps. */
  swaps: number;
  /** Minor page faults. */
  minor_faults: number;
  /** Major page faults. */
  major_faults: number;
  /** Voluntary context switches. */
  voluntary_ctx_switches: number;
  /** Involuntary context switches. */
  involuntary_ctx_switches: number;
  /** Block input operations. */
  block_input_ops: number;
  /** Block output operations. */
  block_output_ops: number;
  /** IPC messages sent. */
  ipc_msgs_sent: number;
  /** IPC messages received. */
  ipc_msgs_received: number;
  /** Signals received. */
  signals_received: number;
}

/**
 * `exit`: a process ended (`signal` is -1 when not signalled).
 *
 * @example
 * ```ts
 * import type { ExitEvent } from "@contree/sdk";
 *
 * const ok = (event: ExitEvent) => event.data.code === 0 && !event.data.timed_out;
 * ```
 */
export interface ExitEvent extends EventBase {
  /** Discriminant. */
  type: "exit";
  /** Payload. */
  data: {
    pid: number;
    code: number;
    signal: number;
    core_dump?: boolean;
    timed_out: boolean;
    duration_ms: number;
    resources: EventResources;
  };
}

/**
 * `truncated`: output beyond `truncate_output_at` was dropped.
 *
 * @example
 * ```ts
 * import type { TruncatedEvent } from "@contree/sdk";
 *
 * const lost = (event: TruncatedEvent) => event.data.bytes_dropped;
 * ```
 */
export interface TruncatedEvent extends EventBase {
  /** Discriminant. */
  type: "truncated";
  /** Payload. */
  data: { stream: string; bytes_emitted: number; bytes_dropped: number };
}

/**
 * `size_cap`: the filesystem hit its size cap.
 *
 * @example
 * ```ts
 * import type { SizeCapEvent } from "@contree/sdk";
 *
 * const over = (event: SizeCapEvent) => event.data.file_size - event.data.limit_bytes;
 * ```
 */
export interface SizeCapEvent extends EventBase {
  /** Discriminant. */
  type: "size_cap";
  /** Payload. */
  data: { limit_bytes: number; file_size: number };
}

/**
 * Counters of one network interface.
 *
 * @example
 * ```ts
 * import type { NetworkInterfaceStats } from "@contree/sdk";
 *
 * const traffic = (nic: NetworkInterfaceStats) => nic.rx_bytes + nic.tx_bytes;
 * ```
 */
export interface NetworkInterfaceStats {
  /** Interface name. */
  name: string;
  /** Bytes received. */
  rx_bytes: number;
  /** Packets received. */
  rx_packets: number;
  /** Receive errors. */
  rx_errs: number;
  /** Received packets dropped. */
  rx_drop: number;
  /** Bytes sent. */
  tx_bytes: number;
  /** Packets sent. */
  tx_packets: number;
  /** Send errors. */
  tx_errs: number;
  /** Sent packets dropped. */
  tx_drop: number;
}

/**
 * `network`: interface counters and configuration.
 *
 * @example
 * ```ts
 * import type { NetworkEvent } from "@contree/sdk";
 *
 * const address = (event: NetworkEvent) => event.data.configured?.ip4;
 * ```
 */
export interface NetworkEvent extends EventBase {
  /** Discriminant. */
  type: "network";
  /** Payload. */
  data: {
    interfaces: NetworkInterfaceStats[];
    configured?: {
      ip4?: string;
      ip4_gw?: string;
      ip6?: string;
      ip6_gw?: string;
      gw_mac?: string;
      nameserver?: string;
    };
    error?: string;
  };
}

/**
 * `shutdown`: the instance stopped.
 *
 * @example
 * ```ts
 * import type { ShutdownEvent } from "@contree/sdk";
 *
 * const why = (event: ShutdownEvent) => event.data.reason;
 * ```
 */
export interface ShutdownEvent extends EventBase {
  /** Discriminant. */
  type: "shutdown";
  /** Payload. */
  data: { stopped_at: string; reason: string };
}

/**
 * `completion`: the authoritative last event of an operation. Older services sent
 * `duration` (seconds) and `result_image`: they are read into `duration_ms` and
 * `result_image_uuid`; fields the client does not know are kept as sent.
 *
 * @example
 * ```ts
 * import type { CompletionEvent } from "@contree/sdk";
 *
 * const image = (event: CompletionEvent) => event.data.result_image_uuid ?? null;
 * ```
 */
export interface CompletionEvent extends EventBase {
  /** Discriminant. */
  type: "completion";
  /** Payload. */
  data: {
    status: TerminalStatus;
    result_image_uuid?: string | null;
    error?: string | null;
    /** How long the operation took, when the service said. */
    duration_ms?: number;
    image_size_bytes?: number;
    /** Fields of newer (or older) services, kept as sent. */
    [field: string]: unknown;
  };
}

/**
 * An event of an unknown type, or a known type whose payload did not validate:
 * passed through raw.
 *
 * @example
 * ```ts
 * import type { UnknownEvent } from "@contree/sdk";
 *
 * const describe = (event: UnknownEvent) => `${event.eventType}: ${JSON.stringify(event.data)}`;
 * ```
 */
export interface UnknownEvent {
  /** Discriminant. */
  type: "unknown";
  /** The event's own type (from the JSON `type`, else the SSE `event:` field). */
  eventType: string;
  /** The id, when the frame or the JSON carried one. */
  id?: number;
  /** The timestamp, when present. */
  ts?: string;
  /** The process id, when present. */
  spid?: number;
  /** The JSON `data` field when present, else the whole parsed JSON, else the raw text. */
  data: unknown;
  /**
   * Why a known type did not validate, naming the field: `data.value: expected string,
   * received number`. Absent for types the client does not know.
   */
  problem?: string;
}

/**
 * Any event of an operation's log, discriminated by `type`.
 *
 * @example
 * ```ts
 * import type { OperationEvent } from "@contree/sdk";
 *
 * function show(event: OperationEvent) {
 *   if (event.type === "exit") console.log("exit code", event.data.code);
 *   else if (event.type === "completion") console.log("done:", event.data.status);
 * }
 * ```
 */
export type OperationEvent =
  | InitEvent
  | SpawnEvent
  | StreamEvent
  | ExitEvent
  | TruncatedEvent
  | SizeCapEvent
  | NetworkEvent
  | ShutdownEvent
  | CompletionEvent
  | UnknownEvent;

const string = v.string();
const boolean = v.boolean();

function eventSchema<T extends string, D>(type: T, data: v.GenericSchema<unknown, D>) {
  return v.object({
    id: number,
    ts: string,
    spid: optional(number),
    type: v.literal(type),
    data,
  });
}

/** Required number fields, listed by name. */
function ints<const K extends string>(names: readonly K[]): Record<K, typeof number> {
  return Object.fromEntries(names.map((name) => [name, number])) as Record<K, typeof number>;
}

const EventResourcesSchema: v.GenericSchema<unknown, EventResources> = v.object(
  ints(EVENT_RESOURCE_FIELDS),
);

/** The event types read with valibot; stream chunks and `completion` are read by hand. */
type SchemaEvent = Exclude<OperationEvent, UnknownEvent | StreamEvent | CompletionEvent>;

const SchemaEventSchema: v.GenericSchema<unknown, SchemaEvent> = v.variant("type", [
  eventSchema(
    "init",
    v.object({
      started_at: string,
      runtime_path: string,
      verbose: boolean,
      init_pid: number,
      hostname: optional(string),
      kernel: optional(string),
      machine: optional(string),
      boot_id: optional(string),
    }),
  ),
  eventSchema(
    "spawn",
    v.object({
      pid: number,
      command: string,
      args: v.array(string),
      shell: boolean,
      cwd: string,
      uid: number,
      gid: number,
      timeout: number,
      truncate_at: number,
      env: optional(record(string)),
    }),
  ),
  eventSchema(
    "exit",
    v.object({
      pid: number,
      code: number,
      signal: number,
      core_dump: optional(boolean),
      timed_out: boolean,
      duration_ms: number,
      resources: EventResourcesSchema,
    }),
  ),
  eventSchema(
    "truncated",
    v.object({ stream: string, bytes_emitted: number, bytes_dropped: number }),
  ),
  eventSchema("size_cap", v.object(ints(["limit_bytes", "file_size"]))),
  eventSchema(
    "network",
    v.object({
      interfaces: v.array(
        v.object({
          name: string,
          ...ints([
            "rx_bytes",
            "rx_packets",
            "rx_errs",
            "rx_drop",
            "tx_bytes",
            "tx_packets",
            "tx_errs",
            "tx_drop",
          ]),
        }),
      ),
      configured: optional(
        v.object({
          ip4: optional(string),
          ip4_gw: optional(string),
          ip6: optional(string),
          ip6_gw: optional(string),
          gw_mac: optional(string),
          nameserver: optional(string),
        }),
      ),
      error: optional(string),
    }),
  ),
  eventSchema("shutdown", v.object({ stopped_at: string, reason: string })),
]);

/** A field that failed validation: its path and what was wrong. */
class Invalid {
  constructor(readonly path: string, readonly problem: string) {}
}

function kind(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
}

function invalid(path: string, expected: string, value: unknown): Invalid {
  return new Invalid(
    path,
    value === undefined
      ? "missing required field"
      : `expected ${expected}, received ${kind(value)}`,
  );
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The envelope every event shares; `spid` may be absent or null. */
function envelope(raw: Json): EventBase | Invalid {
  const { id, ts, spid } = raw;
  if (typeof id !== "number") return invalid("id", "number", id);
  if (typeof ts !== "string") return invalid("ts", "string", ts);
  if (spid === undefined || spid === null) return { id, ts };
  if (typeof spid !== "number") return invalid("spid", "number", spid);
  return { id, ts, spid };
}

/** `stdin`/`stdout`/`stderr`: the hot path of a busy run, validated by hand. */
function streamEvent(raw: Json, type: StreamEvent["type"]): StreamEvent | Invalid {
  const { id, ts, spid, data } = raw;
  if (typeof id !== "number") return invalid("id", "number", id);
  if (typeof ts !== "string") return invalid("ts", "string", ts);
  if (!isObject(data)) return invalid("data", "object", data);
  const { value, encoding, truncated } = data;
  if (typeof value !== "string") return invalid("data.value", "string", value);
  if (typeof encoding !== "string") return invalid("data.encoding", "string", encoding);
  if (truncated !== undefined && truncated !== null && typeof truncated !== "boolean") {
    return invalid("data.truncated", "boolean", truncated);
  }
  if (spid !== undefined && spid !== null && typeof spid !== "number") {
    return invalid("spid", "number", spid);
  }
  // The parsed JSON is the event (fields the client does not know kept), unless a null
  // stands for an absent field.
  if (spid !== null && truncated !== null) return raw as unknown as StreamEvent;
  const repr: StreamRepr = { value, encoding };
  if (typeof truncated === "boolean") repr.truncated = truncated;
  return spid === null || spid === undefined
    ? { id, ts, type, data: repr }
    : { id, ts, spid: spid as number, type, data: repr };
}

/** The optional fields of `completion` (today's names and older ones) and their JSON types. */
const COMPLETION_FIELDS = [
  ["result_image_uuid", "string"],
  ["result_image", "string"],
  ["error", "string"],
  ["duration_ms", "number"],
  ["duration", "number"],
  ["image_size_bytes", "number"],
] as const;

/**
 * `completion`, in today's shape or an older one (`duration` in seconds, `result_image`);
 * unknown fields are kept.
 */
function completionEvent(raw: Json): CompletionEvent | Invalid {
  const base = envelope(raw);
  if (base instanceof Invalid) return base;
  const data = raw.data;
  if (!isObject(data)) return invalid("data", "object", data);
  const status = data.status;
  if (typeof status !== "string") return invalid("data.status", "string", status);
  if (!isTerminalStatus(status)) {
    return new Invalid("data.status", `not a terminal status: ${status}`);
  }
  for (const [key, type] of COMPLETION_FIELDS) {
    const value = data[key];
    if (value !== undefined && value !== null && typeof value !== type) {
      return invalid(`data.${key}`, type, value);
    }
  }
  const out: CompletionEvent["data"] = { ...data, status: status as TerminalStatus };
  const image = data.result_image_uuid ?? data.result_image;
  if (image !== undefined) out.result_image_uuid = image as string | null;
  const seconds = data.duration as number | null | undefined;
  const duration = data.duration_ms ??
    (typeof seconds === "number" ? Math.round(seconds * 1000) : undefined);
  if (duration === undefined || duration === null) delete out.duration_ms;
  else out.duration_ms = duration as number;
  if (data.image_size_bytes === null) delete out.image_size_bytes;
  return { ...base, type: "completion", data: out };
}

/** A parsed frame as a known event, or why it is not one (`undefined`: an unknown type). */
function knownEvent(parsed: unknown): Exclude<OperationEvent, UnknownEvent> | Invalid | undefined {
  if (!isObject(parsed)) return undefined;
  const type = parsed.type;
  switch (type) {
    case "stdout":
    case "stderr":
    case "stdin":
      return streamEvent(parsed, type);
    case "completion":
      return completionEvent(parsed);
    case "init":
    case "spawn":
    case "exit":
    case "truncated":
    case "size_cap":
    case "network":
    case "shutdown": {
      const result = v.safeParse(SchemaEventSchema, parsed);
      return result.success ? result.output : new Invalid(...firstIssue(result.issues));
    }
    default:
      return undefined;
  }
}

function field(value: unknown, key: string): unknown {
  return isObject(value) ? value[key] : undefined;
}

function ifString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function ifNumber(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}

/**
 * Converts one SSE message of the events endpoint into an
 * {@linkcode OperationEvent}. Never throws: anything that is not a valid known
 * event becomes an {@linkcode UnknownEvent}, whose `problem` names the
 * offending field when the type was a known one.
 *
 * @example
 * ```ts
 * import { parseOperationEvent } from "@contree/sdk";
 *
 * const event = parseOperationEvent({
 *   event: "stdout",
 *   id: "2",
 *   data: '{"id":2,"ts":"2026-06-08T20:00:00Z","spid":1,"type":"stdout","data":{"value":"hi\\n","encoding":"ascii"}}',
 * });
 * console.log(event.type); // "stdout"
 * ```
 */
export function parseOperationEvent(message: SSEMessage): OperationEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.data);
  } catch {
    parsed = message.data;
  }
  const known = knownEvent(parsed);
  if (known !== undefined && !(known instanceof Invalid)) return known;
  const frameId = message.id === undefined ? NaN : Number(message.id);
  const data = isObject(parsed) && "data" in parsed ? parsed.data : parsed;
  const unknown: UnknownEvent = {
    type: "unknown",
    eventType: ifString(field(parsed, "type")) ?? message.event,
    id: ifNumber(field(parsed, "id")) ?? (Number.isInteger(frameId) ? frameId : undefined),
    ts: ifString(field(parsed, "ts")),
    spid: ifNumber(field(parsed, "spid")),
    data,
  };
  if (known instanceof Invalid) unknown.problem = `${known.path || "event"}: ${known.problem}`;
  return unknown;
}

/**
 * Whether an event ends an operation's log: a `completion`, also one whose payload the
 * client could not read.
 *
 * @example
 * ```ts
 * import { isCompletion, parseOperationEvent } from "@contree/sdk";
 *
 * const event = parseOperationEvent({ event: "completion", data: '{"type":"completion"}' });
 * console.log(event.type, isCompletion(event)); // "unknown" true
 * ```
 */
export function isCompletion(event: OperationEvent): boolean {
  return event.type === "completion" ||
    (event.type === "unknown" && event.eventType === "completion");
}
