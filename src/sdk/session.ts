/**
 * {@linkcode ContreeSession}: a moving HEAD over images, with history,
 * branches and navigation.
 *
 * @module
 */

import * as v from "valibot";
import type { GrepQuery, GrepResult } from "../wire/types.ts";
import type { Contree } from "./contree.ts";
import { ContreeSessionBusyError, ContreeSessionError } from "./errors.ts";
import type { Outcome } from "./_execution.ts";
import type { ContreeImage, OpenOptions } from "./image.ts";
import { makeImage } from "./_image_maker.ts";
import type { ImageDirectory, ImageFile } from "./image_fs.ts";
import type { RunOutput } from "./result.ts";
import { ContreeRun } from "./run.ts";
import { type RunOptions, runOptions, type RunSettings } from "./run_options.ts";
import {
  MemorySessionStore,
  type SessionBranch,
  type SessionSnapshot,
  SessionSnapshotSchema,
  type SessionStep,
  type SessionStore,
} from "./session_store.ts";

/**
 * Options of `image.session()`.
 *
 * @example
 * ```ts
 * import { MemorySessionStore, type SessionOptions } from "@contree/sdk";
 *
 * const options: SessionOptions = { id: "build-42", store: new MemorySessionStore() };
 * ```
 */
export interface SessionOptions {
  /** The session's id; default a random UUID. */
  id?: string;
  /** Where the session is saved after every change; default a new {@linkcode MemorySessionStore}. */
  store?: SessionStore;
  /** The name of the first branch; default `main`. */
  branch?: string;
}

function describe(options: RunOptions): string {
  return options.shell ?? [options.command ?? "", ...(options.args ?? [])].join(" ");
}

/**
 * A session: a moving HEAD over images. Each run starts from HEAD, is
 * non-disposable by default, and when it completes with exit code 0 HEAD
 * advances to its result image, recorded as a new step (command, operation,
 * image). A run that fails, is cancelled, times out or exits non-zero leaves
 * HEAD where it was; the session stays usable. Runs are strictly sequential:
 * starting one while another executes throws {@linkcode ContreeSessionBusyError}.
 *
 * History is a tree of steps: `rollback(n)`, `forward(n)` and `goto(step)`
 * move HEAD; `branch(name, { from })` and `checkout(name)` keep several lines.
 * The session is saved to its {@linkcode SessionStore} after every change and
 * can be serialised with `toJSON()` and brought back with
 * `ContreeSession.restore()` or `ContreeSession.load()`.
 *
 * @example
 * ```ts
 * import type { ContreeImage } from "@contree/sdk";
 *
 * async function demo(image: ContreeImage) {
 *   const session = image.session();
 *   await session.run({ shell: "echo 1 > /v" });
 *   await session.run({ shell: "echo 2 > /v" });
 *   await session.rollback(1);
 *   console.log(await session.readText("/v")); // "1\n"
 *   await session.branch("experiment");
 *   await session.checkout("experiment");
 *   await session.run({ shell: "echo x > /v" });
 *   await session.checkout("main");
 *   await session.forward(1);
 *   console.log(await session.readText("/v")); // "2\n"
 * }
 * ```
 */
export class ContreeSession {
  /** The client. */
  readonly contree: Contree;
  /** The session's id (the key in its store). */
  readonly id: string;
  /** Where the session is saved. */
  readonly store: SessionStore;
  readonly #snapshot: SessionSnapshot;
  #busy = false;

  private constructor(contree: Contree, snapshot: SessionSnapshot, store: SessionStore) {
    this.contree = contree;
    this.id = snapshot.id;
    this.store = store;
    this.#snapshot = snapshot;
  }

  /** Starts a session at an image; use `image.session()`. */
  static create(
    contree: Contree,
    image: { uuid?: string; tag?: string; ref: string },
    options: SessionOptions = {},
  ): ContreeSession {
    const branch = options.branch ?? "main";
    const snapshot: SessionSnapshot = {
      version: 1,
      id: options.id ?? crypto.randomUUID(),
      branch,
      branches: { [branch]: { head: 0, tip: 0 } },
      steps: [{
        step: 0,
        parent: null,
        image: image.ref,
        operation: null,
        command: null,
        createdAt: new Date().toISOString(),
      }],
    };
    return new ContreeSession(contree, snapshot, options.store ?? new MemorySessionStore());
  }

  /**
   * Brings a session back from its JSON (validated), keeping it in `store`.
   *
   * @example
   * ```ts
   * import { ContreeSession, type ContreeImage } from "@contree/sdk";
   *
   * async function roundTrip(image: ContreeImage) {
   *   const session = image.session();
   *   await session.run({ shell: "touch /a" });
   *   const text = JSON.stringify(session);
   *   const copy = ContreeSession.restore(image.contree, JSON.parse(text));
   *   console.log(copy.head.uuid === session.head.uuid); // true
   * }
   * ```
   */
  static restore(
    contree: Contree,
    snapshot: unknown,
    options: { store?: SessionStore } = {},
  ): ContreeSession {
    const parsed = v.safeParse(SessionSnapshotSchema, snapshot);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      throw new ContreeSessionError(`invalid session snapshot: ${issue.message}`);
    }
    return new ContreeSession(
      contree,
      structuredClone(parsed.output),
      options.store ?? new MemorySessionStore(),
    );
  }

  /**
   * Loads the session saved under `id` in `store`.
   *
   * @example
   * ```ts
   * import { ContreeSession, type Contree, type SessionStore } from "@contree/sdk";
   *
   * async function resume(contree: Contree, store: SessionStore) {
   *   const session = await ContreeSession.load(contree, "build-42", { store });
   *   return session.head;
   * }
   * ```
   */
  static async load(
    contree: Contree,
    id: string,
    options: { store: SessionStore },
  ): Promise<ContreeSession> {
    const snapshot = await options.store.load(id);
    if (snapshot === undefined) throw new ContreeSessionError(`no session ${id} in the store`);
    return ContreeSession.restore(contree, snapshot, options);
  }

  /** The checked-out branch's name. */
  get currentBranch(): string {
    return this.#snapshot.branch;
  }

  /** Every branch by name. */
  get branches(): Record<string, SessionBranch> {
    return structuredClone(this.#snapshot.branches);
  }

  /** The current step's number. */
  get step(): number {
    return this.#branch().head;
  }

  /** Every step ever recorded, in order (a tree through `parent`). */
  get steps(): SessionStep[] {
    return structuredClone(this.#snapshot.steps);
  }

  /** The steps from the first to HEAD. */
  get history(): SessionStep[] {
    return this.#chain(this.step).reverse().map((n) => ({ ...this.#snapshot.steps[n] }));
  }

  /** The image at HEAD. */
  get head(): ContreeImage {
    return this.contree.images.ref(this.#snapshot.steps[this.step].image);
  }

  /** Whether a run is executing. */
  get busy(): boolean {
    return this.#busy;
  }

  /** The session as JSON, for `ContreeSession.restore()`. */
  toJSON(): SessionSnapshot {
    return structuredClone(this.#snapshot);
  }

  #branch(): SessionBranch {
    return this.#snapshot.branches[this.#snapshot.branch];
  }

  /** Step numbers from `step` back to the first. */
  #chain(step: number): number[] {
    const chain: number[] = [];
    for (let at: number | null = step; at !== null; at = this.#snapshot.steps[at].parent) {
      chain.push(at);
    }
    return chain;
  }

  #idle(): void {
    if (this.#busy) throw new ContreeSessionBusyError(this.id);
  }

  async #save(): Promise<void> {
    await this.store.save(this.toJSON());
  }

  /** HEAD's UUID, resolving (and recording) a first step that only has a tag. */
  async #headUuid(signal: AbortSignal): Promise<string> {
    const entry = this.#snapshot.steps[this.step];
    if (entry.image.startsWith("tag:")) {
      entry.image = await this.contree.api.findImageByTag(
        entry.image.slice(4),
        this.contree.requestOptions(signal),
      );
      await this.#save();
    }
    return entry.image;
  }

  /**
   * Prepares a run from HEAD (see `ContreeImage.run`): non-disposable unless
   * `disposable: true`; when it completes with exit code 0, HEAD advances.
   *
   * @example
   * ```ts
   * import type { ContreeSession } from "@contree/sdk";
   *
   * async function install(session: ContreeSession) {
   *   const result = await session.run({ shell: "mkdir -p /opt/app && echo ok" });
   *   console.log(result.stdout, session.history.at(-1)?.command); // "ok\n" "mkdir -p /opt/app && echo ok"
   * }
   * ```
   */
  run<const T extends RunOptions>(
    options: T,
  ): ContreeRun<RunOutput<T, "stdout">, RunOutput<T, "stderr">>;
  /** Prepares a run of `argv[0]` with arguments `argv.slice(1)` from HEAD. */
  run<const T extends RunSettings = Record<never, never>>(
    argv: readonly string[],
    options?: T,
  ): ContreeRun<RunOutput<T, "stdout">, RunOutput<T, "stderr">>;
  run(first: RunOptions | readonly string[], settings?: RunSettings): ContreeRun<unknown, unknown> {
    const options = runOptions(first, settings);
    return new ContreeRun(
      {
        contree: this.contree,
        sourceUuid: this.head.uuid,
        disposable: false,
        image: (signal) => this.#headUuid(signal),
        resultImage: (init) => makeImage(this.contree, init),
        begin: () => {
          this.#idle();
          this.#busy = true;
        },
        end: (outcome) => this.#advance(outcome, options),
      },
      options,
    );
  }

  async #advance(outcome: Outcome | undefined, options: RunOptions): Promise<void> {
    try {
      if (!outcome?.imageUuid || outcome.result.exitCode !== 0) return;
      const steps = this.#snapshot.steps;
      const step = steps.length;
      steps.push({
        step,
        parent: this.step,
        image: outcome.imageUuid,
        operation: outcome.result.operationUuid,
        command: describe(options),
        createdAt: new Date().toISOString(),
      });
      this.#snapshot.branches[this.#snapshot.branch] = { head: step, tip: step };
      await this.#save();
    } finally {
      this.#busy = false;
    }
  }

  async #move(head: number): Promise<ContreeImage> {
    const branch = this.#branch();
    branch.tip = this.#chain(branch.tip).includes(head) ? branch.tip : head;
    branch.head = head;
    await this.#save();
    return this.head;
  }

  /**
   * Moves HEAD `n` steps back (default 1); `forward()` can return.
   *
   * @example
   * ```ts
   * import type { ContreeSession } from "@contree/sdk";
   *
   * async function undo(session: ContreeSession) {
   *   return await session.rollback();
   * }
   * ```
   */
  async rollback(n = 1): Promise<ContreeImage> {
    this.#idle();
    const chain = this.#chain(this.step);
    if (!Number.isInteger(n) || n < 0 || n >= chain.length) {
      throw new ContreeSessionError(
        `cannot roll back ${n} step(s): HEAD has ${chain.length - 1} before it`,
      );
    }
    return await this.#move(chain[n]);
  }

  /**
   * Moves HEAD `n` steps forward (default 1) towards the branch's tip.
   *
   * @example
   * ```ts
   * import type { ContreeSession } from "@contree/sdk";
   *
   * async function redo(session: ContreeSession) {
   *   return await session.forward();
   * }
   * ```
   */
  async forward(n = 1): Promise<ContreeImage> {
    this.#idle();
    const ahead = this.#chain(this.#branch().tip);
    const at = ahead.indexOf(this.step);
    if (!Number.isInteger(n) || n < 0 || n > at) {
      throw new ContreeSessionError(
        `cannot go forward ${n} step(s): ${at} ahead of HEAD on ${this.currentBranch}`,
      );
    }
    return await this.#move(ahead[at - n]);
  }

  /**
   * Moves HEAD to any recorded step.
   *
   * @example
   * ```ts
   * import type { ContreeSession } from "@contree/sdk";
   *
   * async function restart(session: ContreeSession) {
   *   return await session.goto(0);
   * }
   * ```
   */
  async goto(step: number): Promise<ContreeImage> {
    this.#idle();
    if (!Number.isInteger(step) || step < 0 || step >= this.#snapshot.steps.length) {
      throw new ContreeSessionError(`no step ${step}`);
    }
    return await this.#move(step);
  }

  /**
   * Creates a branch at a step (a number), at another branch's HEAD (a name),
   * or at HEAD; `checkout()` switches to it.
   *
   * @example
   * ```ts
   * import type { ContreeSession } from "@contree/sdk";
   *
   * async function tryBoth(session: ContreeSession) {
   *   await session.branch("a");
   *   await session.branch("b", { from: "a" });
   *   await session.checkout("b");
   * }
   * ```
   */
  async branch(name: string, options: { from?: number | string } = {}): Promise<void> {
    this.#idle();
    const { branches, steps } = this.#snapshot;
    if (name === "" || name in branches) {
      throw new ContreeSessionError(`branch ${JSON.stringify(name)} exists or is invalid`);
    }
    const from = options.from ?? this.step;
    let head: number;
    if (typeof from === "string") {
      if (!(from in branches)) throw new ContreeSessionError(`no branch ${from}`);
      head = branches[from].head;
    } else if (Number.isInteger(from) && from >= 0 && from < steps.length) {
      head = from;
    } else {
      throw new ContreeSessionError(`no step ${from}`);
    }
    branches[name] = { head, tip: head };
    await this.#save();
  }

  /**
   * Switches to a branch: HEAD becomes that branch's HEAD.
   *
   * @example
   * ```ts
   * import type { ContreeSession } from "@contree/sdk";
   *
   * async function back(session: ContreeSession) {
   *   return await session.checkout("main");
   * }
   * ```
   */
  async checkout(name: string): Promise<ContreeImage> {
    this.#idle();
    if (!(name in this.#snapshot.branches)) throw new ContreeSessionError(`no branch ${name}`);
    this.#snapshot.branch = name;
    await this.#save();
    return this.head;
  }

  /**
   * Lists a directory at HEAD.
   *
   * @example
   * ```ts
   * import type { ContreeSession } from "@contree/sdk";
   *
   * async function root(session: ContreeSession) {
   *   return (await session.ls("/")).map((entry) => entry.name);
   * }
   * ```
   */
  ls(path = "/", options: { signal?: AbortSignal } = {}): Promise<(ImageFile | ImageDirectory)[]> {
    return this.head.ls(path, options);
  }

  /** Reads a file at HEAD (see `ContreeImage.read`). */
  read(path: string, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    return this.head.read(path, options);
  }

  /** Reads a file at HEAD as text (see `ContreeImage.readText`). */
  readText(path: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    return this.head.readText(path, options);
  }

  /** Streams a file at HEAD (see `ContreeImage.open`). */
  open(path: string, options: OpenOptions = {}): Promise<ReadableStream<Uint8Array>> {
    return this.head.open(path, options);
  }

  /** A path at HEAD as a tar stream (see `ContreeImage.archive`). */
  archive(
    path: string,
    options: { signal?: AbortSignal; compressed?: boolean } = {},
  ): Promise<ReadableStream<Uint8Array>> {
    return this.head.archive(path, options);
  }

  /** Whether a path exists at HEAD (see `ContreeImage.exists`). */
  exists(path: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    return this.head.exists(path, options);
  }

  /** Searches files at HEAD (see `ContreeImage.grep`). */
  grep(
    pattern: string | string[],
    query: Omit<GrepQuery, "pattern"> & { signal?: AbortSignal } = {},
  ): Promise<GrepResult> {
    return this.head.grep(pattern, query);
  }
}
