// Images: list, import from a registry (with a progress bar), tag.
import { createInterface } from "node:readline/promises";
import process from "node:process";
import type { Context } from "./_context.ts";
import { resolveImage } from "./_run.ts";
import { UsageError } from "./_session.ts";
import { parseInterval } from "./_time.ts";

/** Options of `images`. */
export interface ImagesOptions {
  prefix?: string;
  uuid?: string;
  all?: boolean;
  since?: string;
  until?: string;
  limit: number;
}

/** `contree images`: tagged images (all with `-a`), newest first. */
export async function images(ctx: Context, options: ImagesOptions): Promise<number> {
  const contree = await ctx.contree();
  let count = 0;
  for await (
    const image of contree.api.iterImages({
      tag: options.prefix,
      uuid: options.uuid,
      tagged: !options.all,
      since: options.since ? parseInterval(options.since) : undefined,
      until: options.until ? parseInterval(options.until) : undefined,
      pageSize: 1000,
      limit: options.limit + 1,
    })
  ) {
    if (++count > options.limit) {
      ctx.warn(
        `Output truncated at --limit=${options.limit} images; raise --limit or narrow the filters.`,
      );
      break;
    }
    await ctx.printer.row({ ...image, tag: image.tag ?? "" });
  }
  await ctx.printer.flush();
  return 0;
}

/** `name:{a,b}` → `name:a`, `name:b`. */
export function expandBraces(ref: string): string[] {
  const match = /^(.*?)\{([^}]*)\}(.*)$/.exec(ref);
  return match ? match[2].split(",").map((alt) => `${match[1]}${alt}${match[3]}`) : [ref];
}

/** A reference as `docker://REGISTRY/PATH:TAG` (Docker Hub and `library/` by default). */
export function normalizeRegistryUrl(ref: string): string {
  if (ref.startsWith("docker://")) return ref;
  const parts = ref.split("/");
  let registry = "docker.io";
  let path: string;
  if (parts.length === 1) path = `library/${parts[0]}`;
  else if (parts[0].includes(".") || parts[0].includes(":") || parts[0] === "localhost") {
    registry = parts[0];
    path = parts.slice(1).join("/");
    if (registry === "docker.io" && !path.includes("/")) path = `library/${path}`;
  } else path = ref;
  const last = path.split("/").at(-1)!;
  if (!last.includes(":") && !last.includes("@")) path += ":latest";
  return `docker://${registry}/${path}`;
}

/** The tag an import gets: the reference without scheme, registry host and `library/`. */
export function deriveTag(ref: string): string {
  let clean = ref.replace(/^docker:\/\//, "");
  const slash = clean.indexOf("/");
  if (slash > 0 && /[.:]|^localhost$/.test(clean.slice(0, slash))) clean = clean.slice(slash + 1);
  return clean.replace(/^library\//, "");
}

/** Options of `images import`. */
export interface ImportCommandOptions {
  username?: string;
  password?: string;
  timeout?: number;
  tag?: string;
}

/** `contree images import REF...`: one import after another, each with a progress bar. */
export async function importImages(
  ctx: Context,
  refs: string[],
  options: ImportCommandOptions,
): Promise<number> {
  const contree = await ctx.contree();
  let password = options.password;
  if (options.username !== undefined && password === undefined) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    password = (await rl.question("Registry password: ")).trim();
    rl.close();
  }
  const targets = refs.flatMap(expandBraces).map((ref) => {
    const [base, explicit] = ref.split("?tag=", 2);
    return { url: normalizeRegistryUrl(base), tag: explicit ?? options.tag ?? deriveTag(base) };
  });
  if (options.tag && targets.length > 1) throw new UsageError("--tag needs a single reference");
  let failed = false;
  for (const { url, tag } of targets) {
    ctx.info(`Starting import ${url} with tag ${tag}`);
    const bar = ctx.bar(`import ${tag}`);
    try {
      const image = await contree.images.importFrom(url, {
        tag,
        timeout: options.timeout,
        username: options.username,
        password: options.username === undefined ? undefined : password,
        onProgress: bar.update,
      });
      bar.stop();
      await ctx.printer.row({
        registry_url: url,
        tag,
        image: image.uuid,
        status: "SUCCESS",
        error: "",
      });
    } catch (error) {
      bar.stop();
      failed = true;
      await ctx.printer.row({
        registry_url: url,
        tag,
        image: "",
        status: "FAILED",
        error: (error as Error).message,
      });
    }
    await ctx.printer.flush();
  }
  return failed ? 1 : 0;
}

/** `contree tag [IMAGE] TAG` (and `-U` to remove the tag). */
export async function tag(
  ctx: Context,
  first: string,
  second: string | undefined,
  remove: boolean,
): Promise<number> {
  const contree = await ctx.contree();
  const [ref, name] = second === undefined ? [undefined, first] : [first, second];
  const uuid = ref === undefined ? await ctx.sessionImage() : await resolveImage(contree, ref);
  if (remove) {
    await contree.api.deleteImageTag(uuid, name);
    await ctx.printer.row({ uuid, tag: "", removed: name });
  } else {
    const image = await contree.api.updateImageTag(uuid, name);
    await ctx.printer.row({ ...image, tag: image.tag ?? name });
  }
  await ctx.printer.flush();
  return 0;
}
