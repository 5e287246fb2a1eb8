// The session: use, session list|show|log|rollback|branch|checkout|delete.
import process from "node:process";
import type { Context } from "./_context.ts";
import { resolveImage } from "./_run.ts";
import { type HistoryEntry, type Session, UsageError } from "./_session.ts";
import { writeOut } from "./_term.ts";

function shellExport(key: string, value: string): string {
  const shell = (process.env.SHELL ?? "/bin/sh").split("/").at(-1);
  return shell === "fish" ? `set -gx ${key} ${value}\n` : `export ${key}=${value}\n`;
}

/** `contree use [IMAGE]`: sets the image (printing the session's export line) or shows it. */
export async function use(ctx: Context, ref: string | undefined, fresh: boolean): Promise<number> {
  if (ref === undefined) {
    if (fresh) throw new UsageError("--new requires an IMAGE argument.");
    const session = await ctx.session();
    const head = session.head;
    if (!session.exists || !head) {
      throw new UsageError("No active session. Run `contree use IMAGE` to start one.");
    }
    await ctx.printer.row({
      session_key: session.key,
      active_branch: session.state.branch,
      current_image: head.image,
      last_kind: head.kind,
      last_title: head.title,
      cwd: session.state.cwd || "/",
      updated_at: session.state.updatedAt,
    });
    await ctx.printer.flush();
    return 0;
  }
  const contree = await ctx.contree();
  const image = await resolveImage(contree, ref);
  let session = await ctx.session();
  if (fresh) session = await session.store.load(crypto.randomUUID());
  session.record({ image, kind: "use", title: ref });
  await session.save();
  if (ctx.structured) {
    await ctx.printer.row({ session_key: session.key, image, branch: session.state.branch });
    await ctx.printer.flush();
  } else await writeOut(shellExport("CONTREE_SESSION", session.key));
  return 0;
}

function entryRow(session: Session, entry: HistoryEntry): Record<string, unknown> {
  const labels = Object.entries(session.state.branches).filter(([, id]) => id === entry.id).map((
    [name],
  ) => name);
  return {
    id: entry.id,
    parent: entry.parent,
    head: session.head?.id === entry.id,
    branches: labels.join(","),
    kind: entry.kind,
    image: entry.image,
    title: entry.title,
    operation: entry.operation ?? "",
    at: entry.at,
  };
}

async function existing(ctx: Context): Promise<Session> {
  const session = await ctx.session();
  if (!session.exists) {
    throw new UsageError(`No session '${session.key}'. Run \`contree use IMAGE\` first.`);
  }
  return session;
}

/** `contree session show`: the history, oldest first. */
export async function sessionShow(ctx: Context): Promise<number> {
  const session = await existing(ctx);
  for (const entry of session.state.history) await ctx.printer.row(entryRow(session, entry));
  await ctx.printer.flush();
  return 0;
}

/** `contree session list`. */
export async function sessionList(ctx: Context): Promise<number> {
  const current = await ctx.session();
  for (const state of await current.store.list()) {
    const head = state.history.find((e) => e.id === state.branches[state.branch]);
    await ctx.printer.row({
      session: state.key,
      active: state.key === current.key,
      branch: state.branch,
      image: head?.image ?? "",
      steps: state.history.length,
      updated_at: state.updatedAt,
    });
  }
  await ctx.printer.flush();
  return 0;
}

/** `contree session delete KEY`. */
export async function sessionDelete(ctx: Context, key: string): Promise<number> {
  const session = await ctx.session();
  if (!(await session.store.delete(key))) throw new UsageError(`no session '${key}'`);
  ctx.info(`Deleted session ${key}`);
  return 0;
}

/**
 * `contree session rollback [N]`: no N = one step back; `-N` = N steps back; `+N` = N steps
 * forward (the newest child); a bare N = the history entry with id N.
 */
export async function rollback(ctx: Context, spec: string | undefined): Promise<number> {
  const session = await existing(ctx);
  const head = session.head;
  if (!head) throw new UsageError("the session has no history");
  const text = spec ?? "-1";
  let target: HistoryEntry | undefined;
  if (/^-\d+$/.test(text)) {
    const steps = Number(text.slice(1));
    const chain = session.ancestry();
    target = chain[steps];
    if (!target) {
      throw new UsageError(`cannot go back ${steps} steps: the branch has ${chain.length - 1}`);
    }
  } else if (/^\+\d+$/.test(text)) {
    target = head;
    for (let i = 0; i < Number(text.slice(1)); i++) {
      const children = session.state.history.filter((e) => e.parent === target!.id);
      const next = children.filter((e) => e.branch === session.state.branch).at(-1) ??
        children.at(-1);
      if (!next) throw new UsageError(`cannot go forward ${text.slice(1)} steps from ${head.id}`);
      target = next;
    }
  } else if (/^\d+$/.test(text)) {
    target = session.entry(Number(text));
    if (!target) throw new UsageError(`no history entry ${text}`);
  } else throw new UsageError(`bad rollback target '${text}' (N, -N or +N)`);
  session.moveTo(target.id);
  await session.save();
  await ctx.printer.row(entryRow(session, target));
  await ctx.printer.flush();
  return 0;
}

/** `contree session branch [NAME] [-d] [--from REF]`. */
export async function branch(
  ctx: Context,
  name: string | undefined,
  options: { delete?: boolean; from?: string },
): Promise<number> {
  const session = await existing(ctx);
  const state = session.state;
  if (name === undefined) {
    for (const [branchName, id] of Object.entries(state.branches)) {
      await ctx.printer.row({
        branch: branchName,
        active: branchName === state.branch,
        id,
        image: session.entry(id)?.image ?? "",
      });
    }
    await ctx.printer.flush();
    return 0;
  }
  if (options.delete) {
    if (!(name in state.branches)) throw new UsageError(`no branch '${name}'`);
    if (name === state.branch) throw new UsageError(`cannot delete the active branch '${name}'`);
    delete state.branches[name];
    await session.save();
    ctx.info(`Deleted branch ${name}`);
    return 0;
  }
  if (name in state.branches) throw new UsageError(`branch '${name}' already exists`);
  let at = session.head?.id;
  if (options.from !== undefined) {
    at = /^\d+$/.test(options.from) ? Number(options.from) : state.branches[options.from];
    if (at === undefined || !session.entry(at)) {
      throw new UsageError(`no entry or branch '${options.from}'`);
    }
  }
  if (at === undefined) throw new UsageError("the session has no history to branch from");
  state.branches[name] = at;
  await session.save();
  await ctx.printer.row({ branch: name, id: at, image: session.entry(at)!.image });
  await ctx.printer.flush();
  return 0;
}

/** `contree session checkout BRANCH`. */
export async function checkout(ctx: Context, name: string): Promise<number> {
  const session = await existing(ctx);
  if (!(name in session.state.branches)) throw new UsageError(`no branch '${name}'`);
  session.state.branch = name;
  await session.save();
  await ctx.printer.row({ branch: name, ...entryRow(session, session.head!) });
  await ctx.printer.flush();
  return 0;
}

/**
 * The history as a graph, newest first, like `git log --graph`: one lane per line of
 * descent; `*` marks an entry, `|` a lane going on, `/` a lane joining its parent's.
 */
export function graphLines(session: Session, c: (kind: string, text: string) => string): string[] {
  const entries = [...session.state.history].sort((a, b) => b.id - a.id);
  const lanes: (number | null)[] = [];
  const lines: string[] = [];
  const headId = session.head?.id;
  for (const entry of entries) {
    let col = lanes.indexOf(entry.id);
    if (col === -1) {
      col = lanes.indexOf(null);
      if (col === -1) col = lanes.push(entry.id) - 1;
      else lanes[col] = entry.id;
    }
    // Other lanes waiting for this entry (its children on other branches) join it first.
    const joining = lanes.map((lane, i) => i !== col && lane === entry.id);
    if (joining.some(Boolean)) {
      const chars: string[] = Array.from(
        { length: lanes.length * 2 },
        (_, p) => p % 2 === 0 && lanes[p / 2] !== null && !joining[p / 2] ? "|" : " ",
      );
      joining.forEach((join, i) => {
        if (join) chars[i > col ? 2 * i - 1 : 2 * i + 1] = i > col ? "/" : "\\";
      });
      lines.push(chars.join("").trimEnd());
      joining.forEach((join, i) => {
        if (join) lanes[i] = null;
      });
      while (lanes.length > 0 && lanes.at(-1) === null) lanes.pop();
    }
    const row = lanes.map((lane, i) => (i === col ? c("mark", "*") : lane === null ? " " : "|"))
      .join(" ");
    const labels = Object.entries(session.state.branches).filter(([, id]) => id === entry.id)
      .map(([name]) =>
        name === session.state.branch && entry.id === headId ? `HEAD -> ${name}` : name
      );
    const decoration = labels.length ? ` ${c("branch", `(${labels.join(", ")})`)}` : "";
    lines.push(
      `${row.trimEnd()} ${c("id", String(entry.id))}${decoration} ${entry.kind} ${
        c("image", entry.image.slice(0, 8))
      } ${entry.title}`,
    );
    lanes[col] = entry.parent;
    while (lanes.length > 0 && lanes.at(-1) === null) lanes.pop();
  }
  return lines;
}

/** `contree session log`: the history as a tree. */
export async function sessionLog(ctx: Context): Promise<number> {
  const session = await existing(ctx);
  if (ctx.structured) return await sessionShow(ctx);
  const paint = (kind: string, text: string) =>
    kind === "mark"
      ? ctx.c.red(text)
      : kind === "branch"
      ? ctx.c.green(text)
      : kind === "id"
      ? ctx.c.yellow(text)
      : ctx.c.dim(text);
  await writeOut(graphLines(session, paint).map((line) => `${line}\n`).join(""));
  return 0;
}
