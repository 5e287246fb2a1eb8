// A CLI session: the image it stands on, working directory, environment, files staged
// for the next run, and its history as a tree with named branches (like a git HEAD).
// Kept as one JSON file per session under $CONTREE_HOME/cli/sessions/PROFILE/.
import { createHash } from "node:crypto";
import { readdir, readFile, rm } from "node:fs/promises";
import process from "node:process";
import { basename, join } from "pathe";
import type { Env } from "../local/mod.ts";
import type { UploadedFile } from "./_files.ts";
import { writeTextAtomically } from "./_text_file.ts";

/** One step of the history. */
export interface HistoryEntry {
  /** 1, 2, 3… in order of creation. */
  id: number;
  /** The entry it was made from. */
  parent: number | null;
  /** The image after the step. */
  image: string;
  /** `use`, `run`, `build`, `tag`, or `detached` (a run whose result is not known yet). */
  kind: string;
  /** The command or reference. */
  title: string;
  /** The operation that made the image, if any. */
  operation?: string;
  /** The branch it was made on. */
  branch: string;
  /** ISO time. */
  at: string;
}

/** A file staged with `file cp`, sent with the next run. */
export interface StagedFile extends UploadedFile {
  /** The local path it was uploaded from. */
  source: string;
}

/** The saved state of a session. */
export interface SessionState {
  key: string;
  branch: string;
  branches: Record<string, number>;
  history: HistoryEntry[];
  cwd: string;
  env: Record<string, string>;
  pending: Record<string, StagedFile>;
  updatedAt: string;
}

/**
 * The key of the session: `override`, else `CONTREE_SESSION`, else `<cwd name>+<8 hex>`
 * derived from the profile, the parent process (the shell) and its terminal.
 */
export function sessionKey(profile: string, override: string | undefined, env: Env): string {
  if (override) return override;
  if (env.CONTREE_SESSION) return env.CONTREE_SESSION;
  const seed = `${profile}:${process.ppid}:${env.TTY ?? env.SSH_TTY ?? ""}`;
  const hex = createHash("sha256").update(seed).digest("hex").slice(0, 8);
  return `${basename(process.cwd()) || "root"}+${hex}`;
}

/** The sessions of one profile, in a directory. */
export class SessionStore {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  #path(key: string): string {
    return join(this.dir, `${encodeURIComponent(key)}.json`);
  }

  /** The session `key`, or a new empty one. */
  async load(key: string): Promise<Session> {
    try {
      const state = JSON.parse(await readFile(this.#path(key), "utf8")) as SessionState;
      return new Session(this, state, true);
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") throw error;
    }
    return new Session(this, {
      key,
      branch: "main",
      branches: {},
      history: [],
      cwd: "",
      env: {},
      pending: {},
      updatedAt: new Date().toISOString(),
    }, false);
  }

  /** Saves atomically. */
  async save(state: SessionState): Promise<void> {
    state.updatedAt = new Date().toISOString();
    await writeTextAtomically(this.#path(state.key), JSON.stringify(state, null, 1));
  }

  /** Every saved session. */
  async list(): Promise<SessionState[]> {
    let names: string[] = [];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") throw error;
    }
    const states: SessionState[] = [];
    for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
      states.push(JSON.parse(await readFile(join(this.dir, name), "utf8")));
    }
    return states;
  }

  /** Deletes a session; false when there was none. */
  async delete(key: string): Promise<boolean> {
    try {
      await rm(this.#path(key));
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return false;
      throw error;
    }
  }
}

/** One session, loaded. */
export class Session {
  readonly store: SessionStore;
  readonly state: SessionState;
  /** Whether it was saved before. */
  readonly exists: boolean;

  constructor(store: SessionStore, state: SessionState, exists: boolean) {
    this.store = store;
    this.state = state;
    this.exists = exists;
  }

  get key(): string {
    return this.state.key;
  }

  /** The entry at the tip of the active branch. */
  get head(): HistoryEntry | undefined {
    const id = this.state.branches[this.state.branch];
    return id === undefined ? undefined : this.entry(id);
  }

  /** The image at HEAD. */
  get image(): string | undefined {
    return this.head?.image;
  }

  entry(id: number): HistoryEntry | undefined {
    return this.state.history.find((entry) => entry.id === id);
  }

  /** Records a new step on the active branch and moves the branch to it. */
  record(step: Omit<HistoryEntry, "id" | "parent" | "branch" | "at">): HistoryEntry {
    const entry: HistoryEntry = {
      id: (this.state.history.at(-1)?.id ?? 0) + 1,
      parent: this.head?.id ?? null,
      branch: this.state.branch,
      at: new Date().toISOString(),
      ...step,
    };
    this.state.history.push(entry);
    this.state.branches[this.state.branch] = entry.id;
    return entry;
  }

  /** Moves the active branch to the entry `id`. */
  moveTo(id: number): HistoryEntry {
    const entry = this.entry(id);
    if (!entry) throw new UsageError(`no history entry ${id} in session ${this.key}`);
    this.state.branches[this.state.branch] = id;
    return entry;
  }

  /** The entries from HEAD back to the root. */
  ancestry(): HistoryEntry[] {
    const out: HistoryEntry[] = [];
    for (
      let entry = this.head;
      entry;
      entry = entry.parent === null ? undefined : this.entry(entry.parent)
    ) {
      out.push(entry);
    }
    return out;
  }

  save(): Promise<void> {
    return this.store.save(this.state);
  }
}

/** A mistake in what the user asked (exit code 2 when from parsing, else 1). */
export class UsageError extends Error {
  override name = "UsageError";
}
