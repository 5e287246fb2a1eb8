// `contree build`: a Dockerfile subset (FROM, ARG, ENV, WORKDIR, COPY, ADD, USER, RUN) run as a
// chain of sandbox runs, each reused from the layer cache when nothing it depends on changed;
// COPY and ADD files go up once (deduplicated) and land with the next RUN.
import { readFile, stat } from "node:fs/promises";
import { basename, join, normalize, relative, resolve } from "pathe";
import { type Contree, type InstanceSpawnRequest, NotFoundError, withProgress } from "../mod.ts";
import { BuildCache } from "./_build_cache.ts";
import type { Context } from "./_context.ts";
import { type Dockerignore, dockerignore } from "./_dockerignore.ts";
import { ImageAccounts } from "./_image_accounts.ts";
import { execForm, parseDockerfile, parsePairs, substitute } from "./_dockerfile.ts";
import { expandMappings, type UploadedFile, uploadFiles } from "./_files.ts";
import { deriveTag, normalizeRegistryUrl } from "./_cmd_images.ts";
import { exitStatus, followOperation, resolveImage, shellJoin } from "./_run.ts";
import { UsageError } from "./_session.ts";
import { readTextIfExists } from "./_text_file.ts";
import { writeErr } from "./_term.ts";

/** Options of `build`. */
export interface BuildOptions {
  dockerfile?: string;
  tag?: string;
  buildArg: string[];
  /** Time limit of each step's run, in seconds. */
  timeout: number;
  /** `false` (`--no-cache`): run every step, even one the layer cache has. */
  cache?: boolean;
}

/** `contree build [CONTEXT]`. */
export async function build(
  ctx: Context,
  contextDir: string,
  options: BuildOptions,
): Promise<number> {
  const contree = await ctx.contree();
  const cache = await BuildCache.load(
    join(ctx.home, "cli", "build-cache", `${encodeURIComponent(await ctx.profileName())}.json`),
  );
  const root = resolve(contextDir);
  const dockerfile = options.dockerfile ? resolve(options.dockerfile) : join(root, "Dockerfile");
  let text: string;
  try {
    text = await readFile(dockerfile, "utf8");
  } catch {
    throw new UsageError(`cannot read ${dockerfile}`);
  }
  const instructions = parseDockerfile(text);
  const ignore = dockerignore(await readTextIfExists(join(root, ".dockerignore")));
  const buildArgs: Record<string, string> = {};
  for (const item of options.buildArg) {
    const at = item.indexOf("=");
    if (at <= 0) throw new UsageError(`--build-arg ${item}: expected NAME=VALUE`);
    buildArgs[item.slice(0, at)] = item.slice(at + 1);
  }
  const args: Record<string, string> = {};
  const env: Record<string, string> = {};
  let image: string | undefined;
  let workdir = "";
  let user: User | undefined;
  let files: NonNullable<InstanceSpawnRequest["files"]> = {};
  const vars = () => ({ ...args, ...env });
  const say = (text: string) => {
    if (!ctx.structured) writeErr(`${ctx.c.bold(text)}\n`);
  };

  const run = async (title: string, body: Omit<InstanceSpawnRequest, "image">) => {
    if (!image) throw new UsageError(`line ${title}: no FROM before it`);
    const request: InstanceSpawnRequest = {
      ...body,
      image,
      disposable: false,
      timeout: options.timeout,
    };
    if (workdir) request.cwd = workdir;
    if (user && body.uid === undefined) {
      request.uid = user.uid;
      request.gid = user.gid;
      // As the official CLI's `su` gives it: the user's home, unless ENV set HOME.
      if (user.home !== undefined) request.env = { HOME: user.home };
    }
    const environment = { ...request.env, ...vars() };
    if (Object.keys(environment).length > 0) request.env = environment;
    if (Object.keys(files).length > 0) request.files = files;
    const key = BuildCache.key({ ...request, timeout: undefined });
    const cached = options.cache === false ? undefined : cache.get(key);
    if (cached && await imageExists(contree, cached)) {
      say(` ---> Using cache ${cached}`);
      cache.set(key, cached);
      image = cached;
      files = {};
      return;
    }
    const { uuid } = await contree.api.spawnInstance(request);
    const { exit, completion } = await followOperation(contree, uuid, (_, bytes) => {
      if (!ctx.structured) writeErr(new TextDecoder().decode(bytes));
    }, title);
    if (exit?.timed_out) {
      throw new BuildError(`${title} timed out after ${options.timeout} s (see --timeout)`);
    }
    if (
      completion?.status !== "SUCCESS" || !completion.result_image_uuid ||
      (exit && exitStatus(exit) !== 0)
    ) {
      throw new BuildError(
        `${title} failed: ${
          exit ? `exit code ${exitStatus(exit)}` : completion?.error ?? completion?.status
        }`,
      );
    }
    image = completion.result_image_uuid;
    cache.set(key, image);
    files = {};
  };

  try {
    const total = instructions.length;
    for (const [index, { keyword, args: raw, line }] of instructions.entries()) {
      const step = `Step ${index + 1}/${total} : ${keyword} ${raw}`;
      const where = `${basename(dockerfile)}:${line}`;
      switch (keyword) {
        case "ARG": {
          for (
            const [name, value] of raw.includes("=")
              ? parsePairs(raw, keyword)
              : [[raw.trim(), ""] as [string, string]]
          ) {
            args[name] = buildArgs[name] ?? substitute(value, vars());
          }
          say(step);
          break;
        }
        case "FROM": {
          say(step);
          const ref = substitute(raw, vars()).split(/\s+/)[0];
          try {
            image = await resolveImage(contree, ref);
          } catch (error) {
            if (!(error instanceof NotFoundError) || ref.startsWith("tag:")) throw error;
            const bar = ctx.bar(`import ${ref}`);
            try {
              image = (await contree.images.importFrom(normalizeRegistryUrl(ref), {
                tag: deriveTag(ref),
                onProgress: bar.update,
              })).uuid;
            } finally {
              bar.stop();
            }
          }
          workdir = "";
          user = undefined;
          break;
        }
        case "USER":
          say(step);
          if (!image) throw new UsageError(`${where}: no FROM before it`);
          user = await idsOf(
            new ImageAccounts(contree, image),
            substitute(raw, vars()).trim(),
            where,
            "primary",
          );
          break;
        case "ENV":
          say(step);
          for (const [key, value] of parsePairs(raw, keyword)) env[key] = substitute(value, vars());
          break;
        case "WORKDIR": {
          say(step);
          const dir = substitute(raw, vars());
          const target = normalize(dir.startsWith("/") ? dir : join(workdir || "/", dir));
          workdir = "";
          // Made by root; a directory it makes for another USER is that user's, as in Docker.
          const mkdir = shellJoin(["mkdir", "-p", target]);
          const command = user && user.uid !== 0
            ? `[ -d ${shellJoin([target])} ] || { ${mkdir} && ${
              shellJoin(["chown", `${user.uid}:${user.gid}`, target])
            }; }`
            : mkdir;
          await run(where, { command, shell: true, uid: 0, gid: 0 });
          workdir = target;
          break;
        }
        case "COPY":
        case "ADD": {
          say(step);
          const words = (execForm(raw) ?? raw.split(/\s+/)).map((w) => substitute(w, vars()));
          if (!image) throw new UsageError(`${where}: no FROM before it`);
          const scope = { ctx, contree, image, root, ignore, workdir, where };
          Object.assign(files, await copyFiles(scope, keyword, words));
          break;
        }
        case "RUN": {
          say(step);
          const words = execForm(raw);
          // Left to the shell, as in Docker: ARG and ENV values are in its environment.
          const command = words ? shellJoin(words) : raw;
          await run(where, { command, shell: true });
          break;
        }
        default:
          ctx.warn(`${where}: ${keyword} is not supported by contree build; skipped`);
      }
    }
    if (!image) throw new UsageError("the Dockerfile has no FROM");
    // COPY at the end: land the files with a no-op run.
    if (Object.keys(files).length > 0) await run("final COPY", { command: "true", shell: true });
  } finally {
    await cache.save();
  }
  let tag = "";
  if (options.tag) tag = (await contree.api.updateImageTag(image, options.tag)).tag ?? options.tag;
  const session = await ctx.session();
  session.record({ image, kind: "build", title: options.tag ?? basename(dockerfile) });
  await session.save();
  await ctx.printer.row({ image, tag, dockerfile });
  await ctx.printer.flush();
  if (!ctx.structured) ctx.info(`Built ${image}${tag ? ` as ${tag}` : ""}`);
  return 0;
}

/** What COPY and ADD read from the build. */
interface CopyScope {
  ctx: Context;
  contree: Contree;
  /** The image the files land on (its users and groups name `--chown` ids). */
  image: string;
  /** The build context, absolute. */
  root: string;
  ignore: Dockerignore;
  workdir: string;
  /** `Dockerfile:LINE`, for messages. */
  where: string;
}

/**
 * COPY or ADD with its (substituted) words: uploads the sources (files and walked directories
 * of the context, and ADD's URLs) and returns them by their path in the image.
 */
async function copyFiles(
  { ctx, contree, image, root, ignore, workdir, where }: CopyScope,
  keyword: "COPY" | "ADD",
  words: string[],
): Promise<Record<string, UploadedFile>> {
  const flags = words.filter((w) => w.startsWith("--"));
  const paths = words.filter((w) => !w.startsWith("--"));
  if (paths.length < 2) {
    throw new UsageError(`${where}: ${keyword} needs a source and a destination`);
  }
  const dest = paths.at(-1)!;
  const sources = paths.slice(0, -1);
  let uid = 0;
  let gid = 0;
  let mode: number | undefined;
  for (const flag of flags) {
    const [name, value = ""] = flag.slice(2).split("=", 2);
    if (name === "chown") {
      ({ uid, gid } = await idsOf(new ImageAccounts(contree, image), value, where, "uid"));
    } else if (name === "chmod") {
      if (!/^[0-7]{3,4}$/.test(value)) {
        throw new UsageError(`${where}: --chmod takes an octal mode`);
      }
      mode = Number.parseInt(value, 8);
    } else if (name === "from") {
      throw new UsageError(`${where}: ${keyword} --from is not supported`);
    }
  }
  const base = normalize(dest.startsWith("/") ? dest : join(workdir || "/", dest));
  const into = (name: string) => dest.endsWith("/") || sources.length > 1 ? join(base, name) : base;
  const files: Record<string, UploadedFile> = {};
  const specs: string[] = [];
  for (const source of sources) {
    if (keyword === "ADD" && /^https?:\/\//i.test(source)) {
      const uuid = await uploadUrl(ctx, contree, source, where);
      files[into(urlFileName(source, where))] = { uuid, uid, gid, mode: mode ?? 0o644 };
      continue;
    }
    const local = resolve(root, source);
    if (local !== root && !local.startsWith(`${root}/`)) {
      throw new UsageError(`${where}: ${source} is outside the build context`);
    }
    const info = await stat(local).catch(() => undefined);
    if (!info || (local !== root && ignore.ignores(relative(root, local)))) {
      throw new UsageError(
        `${where}: ${source} not found in the build context${
          info ? " (.dockerignore leaves it out)" : ""
        }`,
      );
    }
    const target = info.isDirectory() ? base : into(basename(local));
    specs.push(
      `${local}:${target}:u${uid}:g${gid}${mode === undefined ? "" : `:m${mode.toString(8)}`}`,
    );
  }
  const mapped = await expandMappings(specs, [], "/", (path, directory) => {
    const ignored = ignore.ignores(relative(root, path));
    return directory ? ignored && !ignore.reincludes : ignored;
  });
  return Object.assign(files, await uploadFiles(ctx, contree, mapped));
}

/** ADD's URL source: fetched by this process and streamed into an upload. */
async function uploadUrl(ctx: Context, contree: Contree, url: string, where: string) {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new BuildError(`${where}: ${url}: ${error instanceof Error ? error.message : error}`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new BuildError(`${where}: ${url}: HTTP ${response.status}`);
  }
  const length = response.headers.get("content-length");
  const total = length === null ? undefined : Number(length);
  const bar = ctx.bar(`ADD ${url}`);
  try {
    return (await contree.api.uploadFile(withProgress(response.body, total, bar.update))).uuid;
  } finally {
    bar.stop();
  }
}

/** The file name an ADD URL lands as in a directory: its path's last name. */
function urlFileName(url: string, where: string): string {
  const name = new URL(url).pathname.split("/").filter((part) => part !== "").at(-1);
  if (!name) throw new UsageError(`${where}: ${url} names no file; give ADD a file destination`);
  return decodeURIComponent(name);
}

/** Who RUN steps run as after `USER`. */
interface User {
  uid: number;
  gid: number;
  home?: string;
}

/**
 * `user[:group]` (numbers, or names in the image's accounts) as ids. Without a group: the
 * user's primary group for USER, the uid itself for `--chown` (as Docker does).
 */
async function idsOf(
  accounts: ImageAccounts,
  spec: string,
  where: string,
  groupless: "primary" | "uid",
): Promise<User> {
  const [name, group] = spec.split(":", 2);
  const account = await accounts.user(name);
  const uid = /^\d+$/.test(name) ? Number(name) : account?.uid;
  if (uid === undefined) throw new BuildError(`${where}: no user '${name}' in /etc/passwd`);
  let gid = groupless === "uid" ? uid : account?.gid ?? 0;
  if (group !== undefined) {
    const found = /^\d+$/.test(group) ? Number(group) : await accounts.group(group);
    if (found === undefined) throw new BuildError(`${where}: no group '${group}' in /etc/group`);
    gid = found;
  }
  return { uid, gid, home: account?.home };
}

/** Whether the server still has `uuid`. */
async function imageExists(contree: Contree, uuid: string): Promise<boolean> {
  try {
    await contree.api.inspectImage(uuid);
    return true;
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}

/** A build step failed. */
export class BuildError extends Error {
  override name = "BuildError";
}
