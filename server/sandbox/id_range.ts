/**
 * The host ids a sandbox's user namespace maps to: sandbox uid and gid N are host ids
 * `uidStart + N` and `gidStart + N`, for N below `count`. Every sandbox gets a user namespace
 * of its own over the same range; ids outside it show as `nobody` inside.
 */
import { SandboxError } from "./errors.ts";

/** Where sandbox ids 0 .. count-1 live on the host. */
export interface IdRange {
  /** Host uid of the sandbox's uid 0. */
  uidStart: number;
  /** Host gid of the sandbox's gid 0. */
  gidStart: number;
  /** How many ids are mapped (uids and gids alike). */
  count: number;
}

/** Sandbox ids every range must cover: 0 to 65535 (`nobody` is 65534). */
export const SANDBOX_IDS = 65536;

/**
 * The range a server running as root uses when /etc/subuid gives root none: 2^30 up, far
 * above login users and the ranges `useradd` hands out (100000 up, 65536 each).
 */
export const ROOT_ID_RANGE: IdRange = { uidStart: 2 ** 30, gidStart: 2 ** 30, count: SANDBOX_IDS };

const LAST_ID = 2 ** 32 - 2;

function checked(range: IdRange, what: string): IdRange {
  const { uidStart, gidStart, count } = range;
  const ok = (start: number) =>
    Number.isSafeInteger(start) && start > 0 && start + count - 1 <= LAST_ID;
  if (!Number.isSafeInteger(count) || count < SANDBOX_IDS || !ok(uidStart) || !ok(gidStart)) {
    throw new SandboxError(
      `${what}: need ${SANDBOX_IDS} or more host ids above 0 (sandbox ids 0-65535), got ` +
        `uids ${uidStart}+${count}, gids ${gidStart}+${count}`,
    );
  }
  return range;
}

/**
 * Parses `START:COUNT` (the same host range for uids and gids), as `serve --id-range` takes it.
 *
 * @example
 * ```ts
 * parseIdRange("200000:65536"); // { uidStart: 200000, gidStart: 200000, count: 65536 }
 * ```
 */
export function parseIdRange(text: string): IdRange {
  const match = /^(\d{1,10}):(\d{1,10})$/.exec(text);
  if (!match) throw new SandboxError(`id range must be START:COUNT, got ${JSON.stringify(text)}`);
  const [start, count] = [Number(match[1]), Number(match[2])];
  return checked({ uidStart: start, gidStart: start, count }, "id range");
}

/** The first range of at least SANDBOX_IDS ids /etc/subuid-style `text` gives `user`. */
function subordinate(text: string, user: { name?: string; id: number }): [number, number] | null {
  for (const line of text.split("\n")) {
    const [owner, start, count] = line.trim().split(":");
    if (owner !== user.name && owner !== String(user.id)) continue;
    if (!/^\d+$/.test(start ?? "") || !/^\d+$/.test(count ?? "")) continue;
    if (Number(count) >= SANDBOX_IDS) return [Number(start), Number(count)];
  }
  return null;
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "";
    throw error;
  }
}

/** The login name of `uid` from /etc/passwd, if listed. */
async function userName(uid: number): Promise<string | undefined> {
  for (const line of (await readText("/etc/passwd")).split("\n")) {
    const fields = line.split(":");
    if (fields[2] === String(uid)) return fields[0];
  }
  return undefined;
}

/**
 * The default range for a server running as the current user: its subordinate ids from
 * /etc/subuid and /etc/subgid (as rootless Podman takes them), else {@linkcode ROOT_ID_RANGE}
 * when running as root. Throws {@linkcode SandboxError} for a user with no range, naming the fix.
 *
 * @example
 * ```ts
 * const range = await defaultIdRange(); // as root, e.g. { uidStart: 1073741824, ... }
 * ```
 */
export async function defaultIdRange(): Promise<IdRange> {
  const uid = Deno.uid() ?? 0;
  const [subuid, subgid, name] = await Promise.all([
    readText("/etc/subuid"),
    readText("/etc/subgid"),
    userName(uid),
  ]);
  // Both files name the user (by login name or uid), not a group.
  const uids = subordinate(subuid, { name, id: uid });
  const gids = subordinate(subgid, { name, id: uid });
  if (uids && gids) {
    return checked(
      { uidStart: uids[0], gidStart: gids[0], count: Math.min(uids[1], gids[1]) },
      "/etc/subuid and /etc/subgid",
    );
  }
  if (uid === 0) return ROOT_ID_RANGE;
  throw new SandboxError(
    `no subordinate ids for ${name ?? `uid ${uid}`} in /etc/subuid and /etc/subgid: add a range ` +
      `of ${SANDBOX_IDS} (e.g. \`usermod --add-subuids 200000-265535 --add-subgids ` +
      `200000-265535 ${name ?? "USER"}\`) or pass --id-range START:COUNT`,
  );
}
