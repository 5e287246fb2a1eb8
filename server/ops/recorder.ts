/** Recording: the terminal state of an operation, its image and its event log, at once. */
import {
  type Database,
  type ImageRepo,
  isoTime,
  type OperationRecord,
  type OperationRepo,
  transaction,
} from "../store/mod.ts";
import type { EventHub } from "./event_hub.ts";
import type { Outcome } from "./_outcome.ts";
import { encodeStream, resultResources } from "../../src/wire/mod.ts";

/** What {@linkcode recordOutcome} touches. */
export interface RecorderDeps {
  /** The database the write is one transaction of. */
  db: Database;
  /** Where a new image goes and a tag moves. */
  images: Pick<ImageRepo, "insert" | "setTag">;
  /** Where the terminal state goes. */
  operations: Pick<OperationRepo, "update">;
  /** The operation's event log. */
  hub: Pick<EventHub, "append" | "retract" | "flush" | "close">;
}

/**
 * Appends `completion` and writes the terminal state, the new image (and tag) and the
 * unflushed events in one transaction; the event log closes once that committed. When the
 * write fails (typically a full disk) the `completion` event is taken back and the error
 * thrown, so the caller can free space and record a failure instead.
 *
 * @example
 * ```ts
 * recordOutcome(deps, op, emptyOutcome("CANCELLED", null));
 * ```
 */
export function recordOutcome(deps: RecorderDeps, op: OperationRecord, outcome: Outcome): void {
  const { db, images, operations, hub } = deps;
  const finished = new Date();
  const duration = (finished.getTime() - Date.parse(op.created_at)) / 1000;
  const r = outcome.result;
  const result = r
    ? {
      stdout: { ...encodeStream(outcome.stdout.bytes()), truncated: outcome.stdout.truncated },
      stderr: { ...encodeStream(outcome.stderr.bytes()), truncated: outcome.stderr.truncated },
      state: {
        exit_code: r.exitCode,
        pid: r.pid,
        signal: r.signal,
        timed_out: r.timedOut,
        core_dump: false,
        stopped: false,
        continued: false,
      },
      resources: resultResources(r.resources, r.durationMs),
    }
    : null;
  const completion = hub.append(op.uuid, "completion", 0, {
    status: outcome.status,
    result_image_uuid: outcome.resultImage,
    error: outcome.error,
    duration_ms: Math.round(duration * 1000),
    image_size_bytes: outcome.imageSize,
  });
  let confirm: () => void;
  try {
    confirm = transaction(db, () => {
      if (outcome.image) images.insert(outcome.image);
      if (outcome.tag && outcome.resultImage) images.setTag(outcome.resultImage, outcome.tag);
      operations.update(op.uuid, {
        status: outcome.status,
        error: outcome.error,
        finished_at: isoTime(finished),
        duration,
        result_image_uuid: outcome.resultImage,
        image_size: outcome.imageSize,
        consumed_cpu: r ? (r.resources.user_time_us + r.resources.sys_time_us) / 1e6 : 0,
        consumed_memory: r ? r.resources.max_rss_kb * 1024 : 0,
        result,
      });
      return hub.flush(op.uuid);
    });
  } catch (error) {
    hub.retract(op.uuid, completion);
    throw error;
  }
  confirm();
  hub.close(op.uuid);
}
