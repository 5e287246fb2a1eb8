// Local files sent into sandboxes: the `--file` mapping syntax, directory walks with the
// official default excludes, and uploads deduplicated by SHA-256 with a progress bar.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { basename, join, relative, resolve } from "pathe";
import { type Contree, NotFoundError, withProgress } from "../mod.ts";
import type { Context } from "./_context.ts";
import { UsageError } from "./_session.ts";

/** A local file and where it goes in the sandbox. */
export interface MappedFile {
  host: string;
  dest: string;
  uid: number;
  gid: number;
  mode: number;
  size: number;
}

/** A `--file` argument before the directory walk. */
interface Mapping {
  host: string;
  dest?: string;
  uid?: number;
  gid?: number;
  mode?: number;
}

/** The excludes of directory attachments, as in the official CLI. */
export const DEFAULT_EXCLUDES = [
  ".*",
  ".git",
  "*.pyc",
  "__pycache__",
  ".mypy_cache",
  ".pytest_cache",
  ".venv",
  "node_modules",
  "dist",
  "build",
];

/**
 * Parses `host_path[:instance_path][:uUID][:gGID][:mMODE]`; a bare octal number after the
 * destination is a mode too (`LOCAL:DEST:0755`).
 */
export function parseMapping(spec: string): Mapping {
  const [host, ...parts] = spec.split(":");
  if (!host) throw new UsageError(`--file ${spec}: no local path`);
  const mapping: Mapping = { host };
  const number = (text: string, radix: number, what: string) => {
    if (!(radix === 8 ? /^[0-7]{1,4}$/ : /^\d+$/).test(text)) {
      throw new UsageError(`--file ${spec}: bad ${what} '${text}'`);
    }
    return Number.parseInt(text, radix);
  };
  for (const part of parts) {
    if (part.startsWith("/")) mapping.dest = part;
    else if (/^[0-7]{3,4}$/.test(part)) mapping.mode = number(part, 8, "mode");
    else if (part.startsWith("m")) mapping.mode = number(part.slice(1), 8, "mode");
    else if (part.startsWith("u")) mapping.uid = number(part.slice(1), 10, "uid");
    else if (part.startsWith("g")) mapping.gid = number(part.slice(1), 10, "gid");
    else throw new UsageError(`--file ${spec}: cannot read '${part}' (paths start with /)`);
  }
  return mapping;
}

function glob(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(
    /\?/g,
    ".",
  );
  return new RegExp(`^${body}$`);
}

function excluded(rel: string, patterns: RegExp[]): boolean {
  const parts = rel.split("/");
  return patterns.some((p) => p.test(rel) || parts.some((part) => p.test(part)));
}

/**
 * Expands mappings to files: a directory is walked (excludes applied, and what `skip` says of
 * each entry: a skipped directory is not walked), uid/gid/mode default to the local file's.
 * `cwd` is where a destination without a leading `/` would be.
 */
export async function expandMappings(
  specs: string[],
  extraExcludes: string[] = [],
  cwd = "/",
  skip: (path: string, directory: boolean) => boolean = () => false,
): Promise<MappedFile[]> {
  const patterns = [...DEFAULT_EXCLUDES, ...extraExcludes].map(glob);
  const files: MappedFile[] = [];
  for (const spec of specs) {
    const mapping = parseMapping(spec);
    const host = resolve(mapping.host);
    let info;
    try {
      info = await stat(host);
    } catch {
      throw new UsageError(`--file ${spec}: ${mapping.host} does not exist`);
    }
    const dest = mapping.dest ?? join(cwd || "/", basename(host));
    const make = (path: string, at: string, s: Awaited<ReturnType<typeof stat>>): MappedFile => ({
      host: path,
      dest: at,
      uid: mapping.uid ?? Number(s.uid),
      gid: mapping.gid ?? Number(s.gid),
      mode: mapping.mode ?? (Number(s.mode) & 0o7777),
      size: Number(s.size),
    });
    if (info.isFile()) {
      files.push(make(host, dest, info));
      continue;
    }
    if (!info.isDirectory()) throw new UsageError(`--file ${spec}: not a file or directory`);
    const walk = async (dir: string): Promise<void> => {
      for (
        const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
          a.name < b.name ? -1 : 1
        )
      ) {
        const path = join(dir, entry.name);
        const rel = relative(host, path);
        if (excluded(rel, patterns) || skip(path, entry.isDirectory())) continue;
        if (entry.isDirectory()) await walk(path);
        else if (entry.isFile()) files.push(make(path, join(dest, rel), await stat(path)));
      }
    };
    await walk(host);
  }
  return files;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Uint8Array);
  return hash.digest("hex");
}

/** An uploaded file as a spawn request places it in the sandbox. */
export interface UploadedFile {
  uuid: string;
  uid: number;
  gid: number;
  mode: number;
}

/**
 * Files up to this size are read whole and sent with a `Content-Length` (and retried like any
 * buffer); larger ones are streamed, so that their progress shows as they go.
 */
const WHOLE_FILE = 1 << 20;

/** Lookups and uploads at once: `CONTREE_CONCURRENCY`, as in the official CLI, else 8. */
function concurrency(ctx: Context): number {
  const value = Number(ctx.env.CONTREE_CONCURRENCY);
  return Number.isInteger(value) && value > 0 ? value : 8;
}

/**
 * Runs `work` on every item, at most `limit` at once; after a failure no new item starts, and
 * the first failure is thrown once the running ones are done.
 */
async function eachLimited<T>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(limit, items.length) }, worker),
  );
  const rejected = results.find((result) => result.status === "rejected");
  if (rejected) throw (rejected as PromiseRejectedResult).reason;
}

/**
 * Uploads the files the server does not have yet (looked up by SHA-256), several at once, with
 * one progress bar over all of them. Returns them by their path in the sandbox.
 */
export async function uploadFiles(
  ctx: Context,
  contree: Contree,
  files: MappedFile[],
): Promise<Record<string, UploadedFile>> {
  const uuids = new Map<string, string>();
  const missing: MappedFile[] = [];
  const unique = [...new Map(files.map((file) => [file.host, file])).values()];
  await eachLimited(unique, concurrency(ctx), async (file) => {
    try {
      uuids.set(file.host, (await contree.api.getFile(await sha256File(file.host))).uuid);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      missing.push(file);
    }
  });
  if (missing.length > 0) await uploadMissing(ctx, contree, missing, uuids);
  return Object.fromEntries(
    files.map((file) => [
      file.dest,
      { uuid: uuids.get(file.host)!, uid: file.uid, gid: file.gid, mode: file.mode },
    ]),
  );
}

/**
 * Uploads `missing`, adding each one's UUID to `uuids`. A small file goes as one buffer: sent
 * with its length it took 2 ms on loopback, where sent as a stream (chunked) it took about
 * 40 ms under Deno, the length of a delayed ACK.
 */
async function uploadMissing(
  ctx: Context,
  contree: Contree,
  missing: MappedFile[],
  uuids: Map<string, string>,
): Promise<void> {
  const total = missing.reduce((sum, file) => sum + file.size, 0);
  const bar = ctx.bar(
    missing.length === 1 ? `upload ${basename(missing[0].host)}` : `upload ${missing.length} files`,
  );
  let sent = 0;
  const count = (bytes: number) => bar.update({ bytes: sent += bytes, total });
  try {
    await eachLimited(missing, concurrency(ctx), async (file) => {
      let body: Uint8Array | ReadableStream<Uint8Array>;
      if (file.size <= WHOLE_FILE) body = await readFile(file.host);
      else {
        let reported = 0;
        const stream = Readable.toWeb(createReadStream(file.host)) as unknown as ReadableStream<
          Uint8Array
        >;
        body = withProgress(stream, file.size, ({ bytes }) => {
          count(bytes - reported);
          reported = bytes;
        });
      }
      uuids.set(file.host, (await contree.api.uploadFile(body)).uuid);
      if (body instanceof Uint8Array) count(body.byteLength);
    });
  } finally {
    bar.stop();
  }
}
