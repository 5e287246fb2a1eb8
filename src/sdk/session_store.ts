/**
 * The serialised form of a session and where it is kept: the
 * {@linkcode SessionStore} interface and the in-memory store.
 *
 * @module
 */

import * as v from "valibot";

/**
 * One step of a session's history: the image it reached and how.
 *
 * @example
 * ```ts
 * import type { SessionStep } from "@contree/sdk";
 *
 * const describe = (step: SessionStep) => `#${step.step} ${step.command ?? "(start)"} -> ${step.image}`;
 * ```
 */
export interface SessionStep {
  /** The step's number: its index in `steps`. */
  step: number;
  /** The step it was run from; `null` for the first step. */
  parent: number | null;
  /** The image: a UUID (or `tag:NAME` for a first step not resolved yet). */
  image: string;
  /** The operation that made the image; `null` for the first step. */
  operation: string | null;
  /** The command, as a shell string or an argv joined by spaces; `null` for the first step. */
  command: string | null;
  /** When the step was recorded, ISO-8601. */
  createdAt: string;
}

/**
 * A named line of history: `head` is the current step, `tip` the furthest
 * step `forward()` can return to.
 *
 * @example
 * ```ts
 * import type { SessionBranch } from "@contree/sdk";
 *
 * const canGoForward = (branch: SessionBranch) => branch.head !== branch.tip;
 * ```
 */
export interface SessionBranch {
  /** The current step. */
  head: number;
  /** The newest step reachable forward from `head`. */
  tip: number;
}

/**
 * A session as JSON: what `session.toJSON()` gives and
 * `ContreeSession.restore()` takes.
 *
 * @example
 * ```ts
 * import type { SessionSnapshot } from "@contree/sdk";
 *
 * const steps = (snapshot: SessionSnapshot) => snapshot.steps.length;
 * ```
 */
export interface SessionSnapshot {
  /** Format version. */
  version: 1;
  /** The session's id. */
  id: string;
  /** The checked-out branch. */
  branch: string;
  /** Every branch by name. */
  branches: Record<string, SessionBranch>;
  /** Every step ever recorded, by number. */
  steps: SessionStep[];
}

const step = v.pipe(v.number(), v.integer(), v.minValue(0));

/** Validates a snapshot read from outside (a file, a database, JSON from a user). */
export const SessionSnapshotSchema: v.GenericSchema<unknown, SessionSnapshot> = v.pipe(
  v.object({
    version: v.literal(1),
    id: v.pipe(v.string(), v.minLength(1)),
    branch: v.string(),
    branches: v.record(v.string(), v.object({ head: step, tip: step })),
    steps: v.pipe(
      v.array(v.object({
        step,
        parent: v.nullable(step),
        image: v.pipe(v.string(), v.minLength(1)),
        operation: v.nullable(v.string()),
        command: v.nullable(v.string()),
        createdAt: v.string(),
      })),
      v.minLength(1),
    ),
  }),
  v.check((s) => s.steps.every((entry, i) => entry.step === i), "steps must be numbered in order"),
  v.check(
    (s) => s.steps.every((entry) => entry.parent === null || entry.parent < entry.step),
    "a step's parent must come before it",
  ),
  v.check(
    (s) =>
      Object.values(s.branches).every((b) => b.head < s.steps.length && b.tip < s.steps.length),
    "branches must point at existing steps",
  ),
  v.check((s) => s.branch in s.branches, "the checked-out branch must exist"),
);

/**
 * Where sessions are kept, by id. Implementations must store a copy: the
 * session keeps mutating its own snapshot.
 *
 * @example A store backed by `localStorage`
 * ```ts
 * import type { SessionSnapshot, SessionStore } from "@contree/sdk";
 *
 * const localStore: SessionStore = {
 *   load: (id) => {
 *     const text = localStorage.getItem(`contree:${id}`);
 *     return Promise.resolve(text === null ? undefined : JSON.parse(text));
 *   },
 *   save: (snapshot: SessionSnapshot) =>
 *     Promise.resolve(localStorage.setItem(`contree:${snapshot.id}`, JSON.stringify(snapshot))),
 *   delete: (id) => Promise.resolve(localStorage.removeItem(`contree:${id}`)),
 * };
 * ```
 */
export interface SessionStore {
  /** The snapshot saved under `id` (validated by the caller), or `undefined`. */
  load(id: string): Promise<unknown>;
  /** Saves (replaces) a snapshot under its `id`. */
  save(snapshot: SessionSnapshot): Promise<void>;
  /** Forgets a session; nothing happens when it is unknown. */
  delete(id: string): Promise<void>;
}

/**
 * Keeps sessions in memory, as JSON text (so saved snapshots never change
 * behind the store's back). The default store of a session.
 *
 * @example
 * ```ts
 * import { ContreeSession, MemorySessionStore, type ContreeImage } from "@contree/sdk";
 *
 * async function reopen(image: ContreeImage) {
 *   const store = new MemorySessionStore();
 *   const session = image.session({ store });
 *   await session.run({ shell: "echo hi > /f" });
 *   const again = await ContreeSession.load(image.contree, session.id, { store });
 *   console.log(again.history.length); // 2
 * }
 * ```
 */
export class MemorySessionStore implements SessionStore {
  readonly #snapshots = new Map<string, string>();

  /** The snapshot saved under `id`, or `undefined`. */
  load(id: string): Promise<unknown> {
    const text = this.#snapshots.get(id);
    return Promise.resolve(text === undefined ? undefined : JSON.parse(text));
  }

  /** Saves a snapshot. */
  save(snapshot: SessionSnapshot): Promise<void> {
    this.#snapshots.set(snapshot.id, JSON.stringify(snapshot));
    return Promise.resolve();
  }

  /** Forgets a session. */
  delete(id: string): Promise<void> {
    this.#snapshots.delete(id);
    return Promise.resolve();
  }
}
